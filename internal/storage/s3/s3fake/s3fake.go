// Package s3fake serves an in-memory S3 (gofakes3) over real HTTP for
// tests, with faults injected on chosen requests: an S3 error answer, a
// lost response or a reset connection.
package s3fake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/hmsbackup/hmsbackup/internal/testutil/faults"
)

// Routes name the kinds of S3 requests, for FailRequest.
const (
	RouteInitiate    = "multipart.initiate" // POST /bucket/key?uploads
	RoutePart        = "multipart.part"     // PUT /bucket/key?partNumber=N&uploadId=U
	RouteComplete    = "multipart.complete" // POST /bucket/key?uploadId=U
	RouteAbort       = "multipart.abort"    // DELETE /bucket/key?uploadId=U
	RouteListUploads = "multipart.list"     // GET /bucket?uploads, GET /bucket/key?uploadId=U
	RoutePut         = "object.put"         // PUT /bucket/key
	RouteHead        = "object.head"        // HEAD /bucket/key
	RouteGet         = "object.get"         // GET /bucket/key
	RouteDelete      = "object.delete"      // DELETE /bucket/key
	RouteList        = "bucket.list"        // GET /bucket
	RouteBucket      = "bucket.other"       // HEAD /bucket, GET /bucket?location, ...
)

// Fault is a failure to inject: its Reason is an S3 error code such as
// "SlowDown", "InternalError" or "AccessDenied".
type Fault = faults.Fault

// Server is a fake S3 with path-style addressing. Safe for concurrent use.
type Server struct {
	*faults.Injector
	Backend *s3mem.Backend
	srv     *httptest.Server
}

// New starts a fake S3 holding the given (empty) buckets; Close it when
// done.
func New(buckets ...string) (*Server, error) {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	s := &Server{Injector: faults.New(), Backend: backend}
	next := gofakes3.New(backend).Server()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.Take(Route(r))
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		faults.Apply(w, r, f, next, func(w http.ResponseWriter) { writeError(w, r, f) })
	}))
	return s, nil
}

// URL is the endpoint, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Route names the kind of S3 request r is (see the Route constants).
func Route(r *http.Request) string {
	q := r.URL.Query()
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	_, uploads := q["uploads"]
	upload := q.Get("uploadId") != ""
	switch {
	case r.Method == http.MethodPost && uploads:
		return RouteInitiate
	case r.Method == http.MethodPut && upload:
		return RoutePart
	case r.Method == http.MethodPost && upload:
		return RouteComplete
	case r.Method == http.MethodDelete && upload:
		return RouteAbort
	case r.Method == http.MethodGet && (uploads || upload):
		return RouteListUploads
	case key == "" && r.Method == http.MethodGet && !q.Has("location"):
		return RouteList
	case key == "":
		return RouteBucket
	case r.Method == http.MethodPut:
		return RoutePut
	case r.Method == http.MethodHead:
		return RouteHead
	case r.Method == http.MethodGet:
		return RouteGet
	case r.Method == http.MethodDelete:
		return RouteDelete
	}
	return RouteBucket
}

// writeError answers f as S3 does: an XML error document (none for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, f Fault) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(f.Status)
	if r.Method == http.MethodHead {
		return
	}
	body := struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		Resource  string
		RequestID string `xml:"RequestId"`
	}{Code: f.Reason, Message: "injected fault: " + f.Reason, Resource: r.URL.Path, RequestID: "s3fake"}
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(body)
}

// OpenUploads is the number of multipart uploads begun in bucket and
// neither completed nor aborted. (It asks over HTTP, as a request of
// RouteListUploads.)
func (s *Server) OpenUploads(bucket string) (int, error) {
	resp, err := http.Get(s.srv.URL + "/" + bucket + "?uploads")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var result struct {
		Uploads []struct {
			Key string `xml:"Key"`
		} `xml:"Upload"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("list multipart uploads: %s", resp.Status)
	}
	if err := xml.NewDecoder(resp.Body).Decode(&result); err != nil {
		return 0, fmt.Errorf("list multipart uploads: %w", err)
	}
	return len(result.Uploads), nil
}
