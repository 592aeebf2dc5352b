// Package drivefake is an in-process fake of the Google Drive v3 REST API
// for tests. It speaks the wire protocol the official client
// (google.golang.org/api/drive/v3) uses: multipart and resumable uploads
// (incomplete chunks answer 200 with "X-Http-Status-Code-Override: 308"),
// metadata and media downloads with Range, listing with a subset of the
// query language and paging, deletion, and Drive's JSON error shape. Sizes
// are JSON strings, as in the real API.
//
// Point the client at it with option.WithEndpoint(s.URL()) and
// option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken:
// drivefake.Token})), or sign in through its OAuth2 token endpoint
// (TokenURL), e.g. with a key file from WriteServiceAccountKey.
package drivefake

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/testutil/faults"
)

// Token is the only access token the fake accepts (as "Bearer Token").
const Token = "drivefake-access-token"

// FolderMimeType is Drive's MIME type of folders.
const FolderMimeType = "application/vnd.google-apps.folder"

// Route names for FailNext: Drive's method names, plus "files.upload" for
// the chunk requests of a resumable upload session.
const (
	RouteCreate = "files.create" // POST /upload/drive/v3/files (multipart, resumable initiation), POST /drive/v3/files
	RouteUpload = "files.upload" // PUT/POST to a resumable session URI
	RouteGet    = "files.get"    // GET /drive/v3/files/{id} (metadata and alt=media)
	RouteList   = "files.list"   // GET /drive/v3/files
	RouteDelete = "files.delete" // DELETE /drive/v3/files/{id}
	RouteAbout  = "about.get"    // GET /drive/v3/about
)

// File is the fake's record of one Drive file.
type File struct {
	ID           string
	Name         string
	Parents      []string
	MimeType     string
	Content      []byte
	MD5Checksum  string
	CreatedTime  time.Time
	ModifiedTime time.Time
	Trashed      bool
	// AppProperties are the private key-value pairs of the creating app.
	AppProperties map[string]string
}

// Fault is a failure to inject with FailRequest or FailNthRequest: its
// Reason is a Drive error reason.
type Fault = faults.Fault

type session struct {
	meta     fileMeta
	data     []byte
	finished string // file ID once complete
}

// Server is a fake Drive. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu      sync.Mutex
	files   map[string]*File
	uploads map[string]*session
	faults  *faults.Injector
	nextID  int
	last    time.Time
	corrupt int
	revoked bool
	cuts    []int // byte counts after which the next downloads are cut
	delays  map[string][]time.Duration
}

// New starts a fake Drive; Close it when done.
func New() *Server {
	s := &Server{
		files:   make(map[string]*File),
		uploads: make(map[string]*session),
		faults:  faults.New(),
		delays:  make(map[string][]time.Duration),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload/drive/v3/files", s.handleUpload)
	mux.HandleFunc("PUT /upload/drive/v3/files", s.handleUpload)
	mux.HandleFunc("DELETE /upload/drive/v3/files", s.handleCancelUpload)
	mux.HandleFunc("POST /drive/v3/files", s.handleCreateMetadata)
	mux.HandleFunc("GET /drive/v3/files", s.handleList)
	mux.HandleFunc("GET /drive/v3/files/{id}", s.handleGet)
	mux.HandleFunc("DELETE /drive/v3/files/{id}", s.handleDelete)
	mux.HandleFunc("GET /drive/v3/about", s.handleAbout)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "notFound", "Not Found: "+r.Method+" "+r.URL.Path)
	})
	api := s.authenticate(s.inject(mux))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			s.handleToken(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	return s
}

// TokenURL is an OAuth2 token endpoint for the service-account JWT grant
// and the refresh-token grant; it issues Token (see RevokeCredentials).
func (s *Server) TokenURL() string { return s.srv.URL + "/token" }

// RevokeCredentials makes the token endpoint refuse every grant with 400
// invalid_grant (revoked true) or issue Token again (false).
func (s *Server) RevokeCredentials(revoked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = revoked
}

// handleToken answers POST /token as Google's OAuth2 token endpoint does.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	tokenError := func(code int, e, desc string) {
		writeJSON(w, code, map[string]string{"error": e, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		tokenError(http.StatusMethodNotAllowed, "invalid_request", "token requests must be POSTs")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(http.StatusBadRequest, "invalid_request", "cannot parse the form")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if r.PostForm.Get("assertion") == "" {
			tokenError(http.StatusBadRequest, "invalid_request", "Missing required parameter: assertion")
			return
		}
	case "refresh_token":
		if r.PostForm.Get("refresh_token") == "" {
			tokenError(http.StatusBadRequest, "invalid_request", "Missing required parameter: refresh_token")
			return
		}
	default:
		tokenError(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	s.mu.Lock()
	revoked := s.revoked
	s.mu.Unlock()
	if revoked {
		tokenError(http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": Token, "token_type": "Bearer", "expires_in": 3600})
}

// CutNextDownloads makes the next n media downloads (alt=media) send at
// most afterBytes bytes of their body and then break the connection, while
// their Content-Length promised the whole range.
func (s *Server) CutNextDownloads(afterBytes, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.cuts = append(s.cuts, afterBytes)
	}
}

// writeBody writes b as a download body, cut short if CutNextDownloads
// asked for it.
func (s *Server) writeBody(w http.ResponseWriter, b []byte) {
	s.mu.Lock()
	cut := -1
	if len(s.cuts) > 0 {
		cut, s.cuts = s.cuts[0], s.cuts[1:]
	}
	s.mu.Unlock()
	if cut < 0 || cut >= len(b) {
		w.Write(b)
		return
	}
	w.Write(b[:cut])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// Break the connection: the client sees an unexpected EOF.
	panic(http.ErrAbortHandler)
}

// URL is the endpoint to give the client; it ends in "/drive/v3/".
func (s *Server) URL() string { return s.srv.URL + "/drive/v3/" }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// FailNext makes the next n requests to route (see the Route constants)
// fail with status and Drive error reason, e.g. 429 "rateLimitExceeded",
// 403 "userRateLimitExceeded", 403 "storageQuotaExceeded", 500
// "backendError". Faults queue up in call order.
func (s *Server) FailNext(route string, status int, reason string, n int) {
	s.faults.FailNext(route, Fault{Status: status, Reason: reason}, n)
}

// LoseNextResponses is FailNext, except that each request is carried out
// before the fault is answered, as when a response is lost on the way: a
// create or the last chunk of an upload still makes the file.
func (s *Server) LoseNextResponses(route string, status int, reason string, n int) {
	s.faults.FailNext(route, Fault{Status: status, Reason: reason, Lose: true}, n)
}

// FailRequest makes the nth request to route fail with f, counting from
// now (1 is the next one) or, if faults are queued for the route already,
// from the request after the last of them fired: faults queue up in call
// order. The requests before it pass.
func (s *Server) FailRequest(route string, nth int, f Fault) { s.faults.FailRequest(route, nth, f) }

// FailNthRequest makes the nth authenticated request from now on, to any
// route (1 is the next one), fail with f.
func (s *Server) FailNthRequest(nth int, f Fault) { s.faults.FailNthRequest(nth, f) }

// PendingFaults is the number of injected faults that have not fired yet.
func (s *Server) PendingFaults() int { return s.faults.Pending() }

// TotalRequests is the number of authenticated requests to every route so
// far, failed ones included.
func (s *Server) TotalRequests() int { return s.faults.Total() }

// Requests is the number of authenticated requests made to route (see the
// Route constants) so far, failed ones included.
func (s *Server) Requests(route string) int { return s.faults.Requests(route) }

// CorruptNextUploads makes the next n uploads store their content with the
// first byte flipped (an empty upload gains a byte), as if damaged on the
// way; md5Checksum and size describe the damaged content.
func (s *Server) CorruptNextUploads(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt += n
}

// CreateFolder adds a folder named name under the root and returns its ID.
func (s *Server) CreateFolder(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addLocked(fileMeta{Name: name, MimeType: FolderMimeType, Parents: []string{"root"}}, nil)
	return f.ID
}

// Files returns a copy of every file, trashed ones included, sorted by ID.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, 0, len(s.files))
	for _, f := range s.files {
		c := *f
		c.Parents = append([]string(nil), f.Parents...)
		c.Content = append([]byte(nil), f.Content...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// OpenUploads is the number of resumable upload sessions not completed.
func (s *Server) OpenUploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, u := range s.uploads {
		if u.finished == "" {
			n++
		}
	}
	return n
}

// fileMeta is the JSON file resource clients send and receive.
type fileMeta struct {
	Kind         string   `json:"kind,omitempty"`
	ID           string   `json:"id,omitempty"`
	Name         string   `json:"name,omitempty"`
	MimeType     string   `json:"mimeType,omitempty"`
	Parents      []string `json:"parents,omitempty"`
	Size         string   `json:"size,omitempty"`
	MD5Checksum  string   `json:"md5Checksum,omitempty"`
	CreatedTime  string   `json:"createdTime,omitempty"`
	ModifiedTime string   `json:"modifiedTime,omitempty"`
	Trashed      bool     `json:"trashed"`

	AppProperties map[string]string `json:"appProperties,omitempty"`
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+Token {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// inject serves r, unless a fault is queued for its route: then it
// answers the fault after reading the request body (as Google's front ends
// do), having first carried the request out if the fault was queued by
// LoseNextResponses.
// SlowNext delays the next n requests to route by d each (or until the
// client gives up), as an overloaded Drive would.
func (s *Server) SlowNext(route string, d time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.delays[route] = append(s.delays[route], d)
	}
}

func (s *Server) inject(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := routeOf(r)
		s.mu.Lock()
		var delay time.Duration
		if q := s.delays[route]; len(q) > 0 {
			delay, s.delays[route] = q[0], q[1:]
		}
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		f, ok := s.faults.Take(route)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		faults.Apply(w, r, f, next, func(w http.ResponseWriter) {
			writeError(w, f.Status, f.Reason, messageFor(f.Reason))
		})
	})
}

// routeOf names the API method r calls (see the Route constants).
func routeOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/upload/"):
		if r.URL.Query().Get("upload_id") != "" {
			return RouteUpload
		}
		return RouteCreate
	case p == "/drive/v3/about":
		return RouteAbout
	case p == "/drive/v3/files":
		if r.Method == http.MethodPost {
			return RouteCreate
		}
		return RouteList
	case strings.HasPrefix(p, "/drive/v3/files/"):
		if r.Method == http.MethodDelete {
			return RouteDelete
		}
		return RouteGet
	}
	return ""
}

func messageFor(reason string) string {
	switch reason {
	case "storageQuotaExceeded":
		return "The user's Drive storage quota has been exceeded."
	case "rateLimitExceeded":
		return "Rate Limit Exceeded"
	case "userRateLimitExceeded":
		return "User Rate Limit Exceeded"
	case "backendError":
		return "Backend Error"
	case "authError":
		return "Invalid Credentials"
	case "notFound":
		return "File not found."
	}
	return reason
}

// writeError writes Drive's JSON error shape.
func writeError(w http.ResponseWriter, code int, reason, message string) {
	type item struct {
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	body := map[string]any{"error": map[string]any{
		"code":    code,
		"message": message,
		"errors":  []item{{Domain: "global", Reason: reason, Message: message}},
	}}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// addLocked stores a new file; s.mu must be held.
func (s *Server) addLocked(m fileMeta, content []byte) *File {
	s.nextID++
	now := time.Now().UTC().Truncate(time.Millisecond)
	if !now.After(s.last) {
		now = s.last.Add(time.Millisecond) // strictly increasing, like a real clock would be at this rate
	}
	s.last = now
	parents := m.Parents
	if len(parents) == 0 {
		parents = []string{"root"}
	}
	mt := m.MimeType
	if mt == "" {
		mt = "application/octet-stream"
	}
	if content != nil && s.corrupt > 0 {
		s.corrupt--
		if len(content) == 0 {
			content = []byte{0}
		} else {
			content = append([]byte(nil), content...)
			content[0] ^= 0xff
		}
	}
	sum := md5.Sum(content)
	f := &File{
		ID:           fmt.Sprintf("fake%08d", s.nextID),
		Name:         m.Name,
		Parents:      append([]string(nil), parents...),
		MimeType:     mt,
		Content:      content,
		MD5Checksum:  hex.EncodeToString(sum[:]),
		CreatedTime:  now,
		ModifiedTime: now,
	}
	if len(m.AppProperties) > 0 {
		f.AppProperties = make(map[string]string, len(m.AppProperties))
		for k, v := range m.AppProperties {
			f.AppProperties[k] = v
		}
	}
	if mt == FolderMimeType {
		f.MD5Checksum = ""
	}
	s.files[f.ID] = f
	return f
}

func (f *File) meta() fileMeta {
	m := fileMeta{
		Kind:         "drive#file",
		ID:           f.ID,
		Name:         f.Name,
		MimeType:     f.MimeType,
		Parents:      f.Parents,
		MD5Checksum:  f.MD5Checksum,
		CreatedTime:  f.CreatedTime.Format("2006-01-02T15:04:05.000Z"),
		ModifiedTime: f.ModifiedTime.Format("2006-01-02T15:04:05.000Z"),
		Trashed:      f.Trashed,

		AppProperties: f.AppProperties,
	}
	if f.MimeType != FolderMimeType {
		m.Size = strconv.Itoa(len(f.Content))
	}
	return m
}

// writeFile answers with the file resource, restricted to the fields
// parameter.
func writeFile(w http.ResponseWriter, r *http.Request, code int, m fileMeta) {
	writeJSON(w, code, selectFields(toMap(m), parseFields(r.URL.Query().Get("fields"))))
}

func (s *Server) handleCreateMetadata(w http.ResponseWriter, r *http.Request) {
	var m fileMeta
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil && err != io.EOF {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	s.mu.Lock()
	f := s.addLocked(m, nil)
	meta := f.meta()
	s.mu.Unlock()
	writeFile(w, r, http.StatusOK, meta)
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if id := q.Get("upload_id"); id != "" {
		s.handleChunk(w, r, id)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusBadRequest, "badRequest", "upload_id is required")
		return
	}
	switch q.Get("uploadType") {
	case "multipart":
		s.handleMultipart(w, r)
	case "resumable":
		s.handleInitiate(w, r)
	case "media":
		content, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "badRequest", "cannot read body")
			return
		}
		s.mu.Lock()
		f := s.addLocked(fileMeta{MimeType: r.Header.Get("Content-Type"), Name: "Untitled"}, content)
		m := f.meta()
		s.mu.Unlock()
		writeFile(w, r, http.StatusOK, m)
	default:
		writeError(w, http.StatusBadRequest, "invalid", "Invalid uploadType: "+q.Get("uploadType"))
	}
}

func (s *Server) handleMultipart(w http.ResponseWriter, r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" || params["boundary"] == "" {
		writeError(w, http.StatusBadRequest, "badContent", "multipart upload needs a multipart/related body")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		writeError(w, http.StatusBadRequest, "badContent", "missing metadata part")
		return
	}
	var m fileMeta
	if err := json.NewDecoder(part).Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "cannot parse metadata part")
		return
	}
	part, err = mr.NextPart()
	if err != nil {
		writeError(w, http.StatusBadRequest, "badContent", "missing media part")
		return
	}
	content, err := io.ReadAll(part)
	if err != nil {
		writeError(w, http.StatusBadRequest, "badContent", "cannot read media part")
		return
	}
	if m.MimeType == "" {
		m.MimeType = part.Header.Get("Content-Type")
	}
	s.mu.Lock()
	f := s.addLocked(m, content)
	meta := f.meta()
	s.mu.Unlock()
	writeFile(w, r, http.StatusOK, meta)
}

// handleCancelUpload ends a resumable session, dropping what it received;
// Drive answers 499.
func (s *Server) handleCancelUpload(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("upload_id")
	s.mu.Lock()
	u := s.uploads[id]
	if u != nil && u.finished == "" {
		delete(s.uploads, id)
	}
	s.mu.Unlock()
	if u == nil {
		writeError(w, http.StatusNotFound, "notFound", "No such upload session: "+id)
		return
	}
	writeError(w, 499, "clientClosedRequest", "Client Closed Request")
}

func (s *Server) handleInitiate(w http.ResponseWriter, r *http.Request) {
	var m fileMeta
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil && err != io.EOF {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	if m.MimeType == "" {
		m.MimeType = r.Header.Get("X-Upload-Content-Type")
	}
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("upload%08d", s.nextID)
	s.uploads[id] = &session{meta: m}
	s.mu.Unlock()
	loc := *r.URL
	q := loc.Query()
	q.Set("upload_id", id)
	loc.RawQuery = q.Encode()
	w.Header().Set("Location", s.srv.URL+loc.Path+"?"+loc.RawQuery)
	w.Header().Set("X-GUploader-UploadID", id)
	w.WriteHeader(http.StatusOK)
}

// handleChunk takes one request of a resumable session: a chunk
// ("bytes a-b/*" or, for the last one, "bytes a-b/N") or a status query /
// empty final chunk ("bytes */N").
func (s *Server) handleChunk(w http.ResponseWriter, r *http.Request, id string) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "cannot read chunk")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploads[id]
	if u == nil {
		writeError(w, http.StatusNotFound, "notFound", "No such upload session: "+id)
		return
	}
	if u.finished != "" {
		if f := s.files[u.finished]; f != nil {
			writeFile(w, r, http.StatusOK, f.meta())
			return
		}
		writeError(w, http.StatusNotFound, "notFound", "File not found: "+u.finished+".")
		return
	}
	first, last, total, err := parseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", err.Error())
		return
	}
	if first >= 0 {
		if first > int64(len(u.data)) {
			writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("chunk starts at %d but only %d bytes were received", first, len(u.data)))
			return
		}
		if int64(len(data)) != last-first+1 {
			writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("Content-Range covers %d bytes, body has %d", last-first+1, len(data)))
			return
		}
		u.data = append(u.data[:first], data...)
	}
	if total >= 0 && int64(len(u.data)) == total {
		if u.data == nil {
			u.data = []byte{} // content, not a folder
		}
		f := s.addLocked(u.meta, u.data)
		u.finished = f.ID
		u.data = nil
		writeFile(w, r, http.StatusOK, f.meta())
		return
	}
	if total >= 0 && int64(len(u.data)) > total {
		writeError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("received %d bytes, more than the declared %d", len(u.data), total))
		return
	}
	if len(u.data) > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", len(u.data)-1))
	}
	w.Header().Set("X-Http-Status-Code-Override", "308")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// parseContentRange parses "bytes a-b/N", "bytes a-b/*" and "bytes */N";
// first is -1 for "*", total is -1 for "*".
func parseContentRange(h string) (first, last, total int64, err error) {
	bad := fmt.Errorf("invalid Content-Range %q", h)
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
			return 0, 0, 0, bad
		}
	}
	if rng == "*" {
		return -1, -1, total, nil // a status query ("*/*") or the end ("*/N")
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	if first, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, 0, bad
	}
	if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first || first < 0 {
		return 0, 0, 0, bad
	}
	return first, last, total, nil
}

func (s *Server) lookup(w http.ResponseWriter, id string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	if f == nil {
		writeError(w, http.StatusNotFound, "notFound", "File not found: "+id+".")
		return File{}, false
	}
	return *f, true
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	f, ok := s.lookup(w, r.PathValue("id"))
	if !ok {
		return
	}
	if r.URL.Query().Get("alt") != "media" {
		writeFile(w, r, http.StatusOK, f.meta())
		return
	}
	if f.MimeType == FolderMimeType {
		writeError(w, http.StatusForbidden, "fileNotDownloadable", "Only files with binary content can be downloaded.")
		return
	}
	size := int64(len(f.Content))
	w.Header().Set("Content-Type", f.MimeType)
	w.Header().Set("Accept-Ranges", "bytes")
	h := r.Header.Get("Range")
	if h == "" {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		s.writeBody(w, f.Content)
		return
	}
	first, last, ok := parseRange(h, size)
	if !ok {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "requestedRangeNotSatisfiable", "Request range not satisfiable")
		return
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, size))
	w.Header().Set("Content-Length", strconv.FormatInt(last-first+1, 10))
	w.WriteHeader(http.StatusPartialContent)
	s.writeBody(w, f.Content[first:last+1])
}

// parseRange parses a single "bytes=a-b" or "bytes=a-" range against size.
func parseRange(h string, size int64) (first, last int64, ok bool) {
	rng, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(rng, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found || a == "" {
		return 0, 0, false
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 || first >= size {
		return 0, 0, false
	}
	last = size - 1
	if b != "" {
		l, err := strconv.ParseInt(b, 10, 64)
		if err != nil || l < first {
			return 0, 0, false
		}
		last = min(l, size-1)
	}
	return first, last, true
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.files[id]
	delete(s.files, id)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "notFound", "File not found: "+id+".")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAbout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var used int64
	for _, f := range s.files {
		used += int64(len(f.Content))
	}
	s.mu.Unlock()
	about := map[string]any{
		"kind": "drive#about",
		"user": map[string]any{
			"kind":         "drive#user",
			"displayName":  "Drive Fake",
			"emailAddress": "fake@example.com",
			"me":           true,
		},
		"storageQuota": map[string]any{
			"limit":        strconv.FormatInt(15<<30, 10),
			"usage":        strconv.FormatInt(used, 10),
			"usageInDrive": strconv.FormatInt(used, 10),
		},
	}
	writeJSON(w, http.StatusOK, selectFields(about, parseFields(r.URL.Query().Get("fields"))))
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	match, err := parseQuery(q.Get("q"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Value: "+err.Error())
		return
	}
	pageSize := 100
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid pageSize: "+v)
			return
		}
		pageSize = min(n, 1000)
	}
	offset := 0
	if v := q.Get("pageToken"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "page-"))
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid pageToken: "+v)
			return
		}
		offset = n
	}
	s.mu.Lock()
	var all []*File
	for _, f := range s.files {
		if match(f) {
			all = append(all, f)
		}
	}
	orderBy := q.Get("orderBy")
	sort.Slice(all, func(i, j int) bool {
		if strings.HasPrefix(orderBy, "name") {
			if all[i].Name != all[j].Name {
				return (all[i].Name < all[j].Name) != strings.HasSuffix(orderBy, " desc")
			}
		}
		return all[i].ID < all[j].ID
	})
	list := []map[string]any{}
	for i := offset; i < len(all) && i < offset+pageSize; i++ {
		list = append(list, toMap(all[i].meta()))
	}
	s.mu.Unlock()
	resp := map[string]any{"kind": "drive#fileList", "incompleteSearch": false, "files": list}
	if offset+pageSize < len(all) {
		resp["nextPageToken"] = "page-" + strconv.Itoa(offset+pageSize)
	}
	writeJSON(w, http.StatusOK, selectFields(resp, parseFields(q.Get("fields"))))
}

func toMap(m fileMeta) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}
