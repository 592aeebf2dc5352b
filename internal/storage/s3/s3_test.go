package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3"
	"github.com/hmsbackup/hmsbackup/internal/storage/storagetest"
)

const (
	testBucket = "hms-backups"
	testSecret = "tOpSeCrEt-wJalrXUtnFEMI-K7MDENG"
	partSize   = s3.MinPartSize
)

// fakeS3 is gofakes3 with its in-memory backend behind a real HTTP server.
type fakeS3 struct {
	backend     *s3mem.Backend
	url         string
	uploadParts atomic.Int64 // UploadPart requests seen
	listPages   atomic.Int64 // ListObjectsV2 requests seen
}

func newFakeS3(t *testing.T, buckets ...string) *fakeS3 {
	t.Helper()
	f := &fakeS3{backend: s3mem.New()}
	for _, b := range buckets {
		if err := f.backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	h := gofakes3.New(f.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodPut && q.Get("partNumber") != "" {
			f.uploadParts.Add(1)
		}
		if r.Method == http.MethodGet && q.Get("list-type") == "2" {
			// Small pages, so List must follow continuation tokens.
			f.listPages.Add(1)
			q.Set("max-keys", "7")
			r.URL.RawQuery = q.Encode()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fakeS3) config() s3.Config {
	return s3.Config{
		Endpoint:  f.url,
		Bucket:    testBucket,
		Region:    "us-east-1",
		AccessKey: "hmsbackup",
		SecretKey: testSecret,
		PartSize:  partSize,
	}
}

func mustNew(t *testing.T, cfg s3.Config) *s3.Storage {
	t.Helper()
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) backup.Storage {
		return mustNew(t, newFakeS3(t, testBucket).config())
	}, storagetest.Options{ChunkSize: partSize})
}

// TestConformanceSharedBucket runs the suite with a fresh prefix per storage
// in one bucket that also holds other keys, with SSE-S3 and host:port.
func TestConformanceSharedBucket(t *testing.T) {
	f := newFakeS3(t, testBucket)
	other := mustNew(t, f.config())
	if _, err := other.Put(context.Background(), "hms_backup_outside_prefix", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) backup.Storage {
		cfg := f.config()
		cfg.Endpoint = strings.TrimPrefix(f.url, "http://")
		cfg.Prefix = fmt.Sprintf("hms/%d/", n.Add(1))
		cfg.ServerSideEncryption = true
		return mustNew(t, cfg)
	}, storagetest.Options{ChunkSize: partSize})
}

func TestPrefixIsPrependedAndHidden(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, testBucket)
	cfg := f.config()
	cfg.Prefix = "hms/"
	s := mustNew(t, cfg)
	if _, err := s.Put(ctx, "a.sql.gz", strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.backend.HeadObject(testBucket, "hms/a.sql.gz"); err != nil {
		t.Errorf("object key hms/a.sql.gz: %v", err)
	}
	list, err := s.List(ctx, "")
	if err != nil || len(list) != 1 || list[0].Name != "a.sql.gz" {
		t.Errorf("List = %+v, %v; want [a.sql.gz]", list, err)
	}
}

func TestMultipartRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, testBucket)
	s := mustNew(t, f.config())
	data := make([]byte, 3*partSize+12345)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	n, err := s.Put(ctx, "big.sql.gz", bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put = %d, %v; want %d", n, err, len(data))
	}
	if got, want := f.uploadParts.Load(), int64(4); got != want {
		t.Errorf("UploadPart requests = %d, want %d", got, want)
	}
	r, err := s.Open(ctx, "big.sql.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes differing from the %d written", len(got), len(data))
	}
}

func checkUnavailable(t *testing.T, what string, err error, wantMsg string) {
	t.Helper()
	if !errors.Is(err, backup.ErrUnavailable) {
		t.Errorf("%s: %v, want EUNAVAILABLE", what, err)
		return
	}
	if !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("%s: %q, want it to say %q", what, err, wantMsg)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("%s: error shows the secret key: %q", what, err)
	}
}

// s3ErrorServer answers HEAD on the bucket with 200 (unless headToo) and
// everything else with status and an S3 XML error body (none for HEAD).
func s3ErrorServer(t *testing.T, status int, code string, headToo bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodHead && strings.Trim(r.URL.Path, "/") == testBucket && !headToo {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>denied</Message><Resource>%s</Resource><RequestId>1</RequestId></Error>`, code, r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRejectedCredentials(t *testing.T) {
	ctx := context.Background()
	const want = "check the S3 access key and secret"
	cfg := s3.Config{Bucket: testBucket, Region: "us-east-1", AccessKey: "hmsbackup", SecretKey: testSecret, PartSize: partSize, MaxRetries: 1}

	// New's bucket check is a HEAD: a 403 without a body.
	cfg.Endpoint = s3ErrorServer(t, http.StatusForbidden, "AccessDenied", true)
	_, err := s3.New(ctx, cfg)
	checkUnavailable(t, "New", err, want)

	for _, code := range []string{"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"} {
		t.Run(code, func(t *testing.T) {
			cfg.Endpoint = s3ErrorServer(t, http.StatusForbidden, code, false)
			s := mustNew(t, cfg)
			_, err := s.Put(ctx, "f", strings.NewReader("data"))
			checkUnavailable(t, "Put", err, want)
			_, err = s.Open(ctx, "f")
			checkUnavailable(t, "Open", err, want)
			_, err = s.List(ctx, "")
			checkUnavailable(t, "List", err, want)
			err = s.Delete(ctx, "f")
			checkUnavailable(t, "Delete", err, want)
		})
	}
}

func TestMissingBucket(t *testing.T) {
	ctx := context.Background()
	const want = "create bucket " + testBucket + " or fix the bucket name"
	f := newFakeS3(t, "another-bucket")
	_, err := s3.New(ctx, f.config())
	checkUnavailable(t, "New", err, want)

	// The bucket disappears after New.
	if err := f.backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, f.config())
	if err := f.backend.DeleteBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(ctx, "f", strings.NewReader("data"))
	checkUnavailable(t, "Put", err, want)
	_, err = s.List(ctx, "")
	checkUnavailable(t, "List", err, want)
	_, err = s.Open(ctx, "f")
	checkUnavailable(t, "Open", err, want)
}

func TestDeadEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := s3.Config{Endpoint: addr, Bucket: testBucket, Region: "us-east-1", AccessKey: "hmsbackup", SecretKey: testSecret, MaxRetries: 1}
	_, err = s3.New(context.Background(), cfg)
	checkUnavailable(t, "New", err, "cannot reach S3 endpoint "+addr)
}

func TestConfigStringHidesSecret(t *testing.T) {
	cfg := s3.Config{Endpoint: "s3.example.org", Bucket: testBucket, AccessKey: "hmsbackup", SecretKey: testSecret}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg)} {
		if strings.Contains(s, testSecret) {
			t.Errorf("formatted config shows the secret: %s", s)
		}
		if !strings.Contains(s, "hmsbackup") {
			t.Errorf("formatted config lacks the access key: %s", s)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := s3.Config{Endpoint: "127.0.0.1:9", Bucket: testBucket, Region: "us-east-1"}
	tests := []struct {
		name   string
		modify func(*s3.Config)
	}{
		{"no endpoint", func(c *s3.Config) { c.Endpoint = "" }},
		{"no bucket", func(c *s3.Config) { c.Bucket = "" }},
		{"bad scheme", func(c *s3.Config) { c.Endpoint = "ftp://example.org" }},
		{"endpoint with path", func(c *s3.Config) { c.Endpoint = "https://example.org/bucket" }},
		{"part size below 5 MiB", func(c *s3.Config) { c.PartSize = 1 << 20 }},
		{"prefix with leading slash", func(c *s3.Config) { c.Prefix = "/hms/" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.modify(&cfg)
			if _, err := s3.New(context.Background(), cfg); !errors.Is(err, backup.ErrInvalid) {
				t.Errorf("New: %v, want EINVALID", err)
			}
		})
	}
}

func TestInvalidNames(t *testing.T) {
	ctx := context.Background()
	s := mustNew(t, newFakeS3(t, testBucket).config())
	for _, name := range []string{"", "a/b", ".hidden", ".."} {
		if _, err := s.Put(ctx, name, strings.NewReader("x")); !errors.Is(err, backup.ErrInvalid) {
			t.Errorf("Put(%q): %v, want EINVALID", name, err)
		}
	}
}

// cancellingReader cancels its context once it has returned after bytes.
type cancellingReader struct {
	r      io.Reader
	after  int
	read   int
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

func TestFailedUploadsAreAborted(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, testBucket)
	s := mustNew(t, f.config())
	data := make([]byte, 2*partSize+10)

	boom := errors.New("the dump tool died")
	r := io.MultiReader(bytes.NewReader(data), iotestErrReader{boom})
	if _, err := s.Put(ctx, "broken", r); !errors.Is(err, boom) {
		t.Fatalf("Put with failing reader: %v, want the reader's error", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cr := &cancellingReader{r: bytes.NewReader(data), after: partSize + 1, cancel: cancel}
	if _, err := s.Put(cctx, "cancelled", cr); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled during the upload: %v, want context.Canceled", err)
	}

	if got := f.uploadParts.Load(); got < 2 {
		t.Errorf("UploadPart requests = %d, want parts sent before the failures", got)
	}
	for _, name := range []string{"broken", "cancelled"} {
		if _, err := s.Stat(ctx, name); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("Stat(%s) after a failed Put: %v, want ErrNotFound", name, err)
		}
	}
	client, err := minio.New(strings.TrimPrefix(f.url, "http://"), &minio.Options{
		Creds:  credentials.NewStaticV4("hmsbackup", testSecret, ""),
		Region: "us-east-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	for u := range client.ListIncompleteUploads(ctx, testBucket, "", true) {
		if u.Err != nil {
			t.Fatalf("ListIncompleteUploads: %v", u.Err)
		}
		t.Errorf("multipart upload of %s (id %s) left behind", u.Key, u.UploadID)
	}
}

type iotestErrReader struct{ err error }

func (e iotestErrReader) Read([]byte) (int, error) { return 0, e.err }

func TestListFollowsPages(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t, testBucket)
	s := mustNew(t, f.config())
	for i := 0; i < 20; i++ {
		if _, err := s.Put(ctx, fmt.Sprintf("f%02d", 19-i), strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 20 || list[0].Name != "f00" || list[19].Name != "f19" {
		t.Errorf("List = %+v, want f00..f19", list)
	}
	if got := f.listPages.Load(); got < 3 {
		t.Errorf("list requests = %d, want >= 3 pages of 7", got)
	}
}
