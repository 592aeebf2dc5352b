package gdrive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

func put(t *testing.T, s *gdrive.Storage, name, data string) {
	t.Helper()
	if _, err := s.Put(context.Background(), name, strings.NewReader(data)); err != nil {
		t.Fatalf("Put %s: %v", name, err)
	}
}

func TestRetryListAfterRateLimit(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
	gdrive.SetJitter(s, func() float64 { return 0.5 }) // no jitter
	put(t, s, "f", "data")
	before := fake.Requests(drivefake.RouteList)
	fake.FailNext(drivefake.RouteList, http.StatusTooManyRequests, "rateLimitExceeded", 2)
	list, err := s.List(context.Background(), "")
	if err != nil || len(list) != 1 || list[0].Name != "f" {
		t.Fatalf("List = %+v, %v; want f", list, err)
	}
	if n := fake.Requests(drivefake.RouteList) - before; n != 3 {
		t.Errorf("List made %d requests, want 3", n)
	}
	if got, want := sl.get(), []time.Duration{time.Second, 2 * time.Second}; !slicesEqual(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func slicesEqual(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{MaxAttempts: 7, Initial: time.Second, Max: 4 * time.Second})
	fake.FailNext(drivefake.RouteList, http.StatusServiceUnavailable, "backendError", 10)
	if _, err := s.List(context.Background(), ""); !errors.Is(err, backup.ErrUnavailable) {
		t.Fatalf("List: %v, want ErrUnavailable", err)
	}
	got := sl.get()
	bases := []time.Duration{1, 2, 4, 4, 4, 4}
	if len(got) != len(bases) {
		t.Fatalf("waits %v, want %d", got, len(bases))
	}
	for i, b := range bases {
		b *= time.Second
		if got[i] < b/2 || got[i] > min(b*3/2, 4*time.Second) {
			t.Errorf("wait %d = %v, want %v ±50%% and at most 4s", i, got[i], b)
		}
	}
}

func TestRetryDeleteAfterUserRateLimit(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
	put(t, s, "f", "data")
	fake.FailNext(drivefake.RouteDelete, http.StatusForbidden, "userRateLimitExceeded", 1)
	if err := s.Delete(context.Background(), "f"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if files := fake.Files(); len(files) != 1 {
		t.Errorf("after Delete the fake holds %d files, want only the folder", len(files))
	}
	if n := len(sl.get()); n != 1 {
		t.Errorf("%d retries, want 1", n)
	}
}

func TestRetryListAfterUserRateLimit(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
	fake.FailNext(drivefake.RouteList, http.StatusForbidden, "userRateLimitExceeded", 1)
	if _, err := s.List(context.Background(), ""); err != nil {
		t.Fatalf("List: %v", err)
	}
	if n := len(sl.get()); n != 1 {
		t.Errorf("%d retries, want 1", n)
	}
}

func TestRetryDownloadAfterServerError(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
	put(t, s, "f", "hello")
	before := fake.Requests(drivefake.RouteGet)
	fake.FailNext(drivefake.RouteGet, http.StatusServiceUnavailable, "backendError", 1)
	r, err := s.Open(context.Background(), "f")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != "hello" {
		t.Errorf("read %q, %v; want hello", got, err)
	}
	if n := fake.Requests(drivefake.RouteGet) - before; n != 2 {
		t.Errorf("Open made %d get requests, want 2", n)
	}
	if n := len(sl.get()); n != 1 {
		t.Errorf("%d retries, want 1", n)
	}
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	for _, tc := range []struct {
		route  string
		status int
		reason string
		want   string
	}{
		{drivefake.RouteCreate, http.StatusForbidden, "storageQuotaExceeded", "Google Drive storage quota exceeded (service accounts have no quota: use a shared drive)"},
		{drivefake.RouteCreate, http.StatusForbidden, "forbidden", "Google Drive denied access (forbidden)"},
		{drivefake.RouteCreate, http.StatusBadRequest, "badRequest", "badRequest"},
		{drivefake.RouteCreate, http.StatusUnauthorized, "authError", "re-authorise Google Drive"},
		{drivefake.RouteList, http.StatusForbidden, "storageQuotaExceeded", "quota exceeded"},
		{drivefake.RouteList, http.StatusNotFound, "notFound", "not found in Google Drive"},
	} {
		t.Run(tc.route+" "+tc.reason, func(t *testing.T) {
			fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
			fake.FailNext(tc.route, tc.status, tc.reason, 5)
			var err error
			if tc.route == drivefake.RouteCreate {
				_, err = s.Put(context.Background(), "f", bytes.NewReader([]byte("data")))
			} else {
				_, err = s.List(context.Background(), "")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "retried") {
				t.Errorf("error %v, want it to say %q and no retries", err, tc.want)
			}
			if n := fake.Requests(tc.route); n != 1 {
				t.Errorf("%d requests to %s, want exactly 1", n, tc.route)
			}
			if w := sl.get(); len(w) != 0 {
				t.Errorf("waited %v, want no retries", w)
			}
		})
	}
}

func TestRetriesGiveUp(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{MaxAttempts: 3})
	fake.FailNext(drivefake.RouteList, http.StatusServiceUnavailable, "backendError", 10)
	_, err := s.List(context.Background(), "")
	if !errors.Is(err, backup.ErrUnavailable) {
		t.Fatalf("List: %v, want ErrUnavailable", err)
	}
	want := "list Google Drive folder " // the message as before, plus the retries
	if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "Google Drive is unavailable: try again later (retried 2 times)") {
		t.Errorf("List: %q, want it to say it was retried 2 times", msg)
	}
	if n := fake.Requests(drivefake.RouteList); n != 3 {
		t.Errorf("%d list requests, want 3", n)
	}
	if n := len(sl.get()); n != 2 {
		t.Errorf("%d waits, want 2", n)
	}
}

func TestNoRetriesWithOneAttempt(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{MaxAttempts: 1})
	fake.FailNext(drivefake.RouteList, http.StatusTooManyRequests, "rateLimitExceeded", 1)
	_, err := s.List(context.Background(), "")
	if !errors.Is(err, backup.ErrUnavailable) || strings.Contains(err.Error(), "retried") {
		t.Errorf("List: %v, want ErrUnavailable without retries", err)
	}
	if len(sl.get()) != 0 || fake.Requests(drivefake.RouteList) != 1 {
		t.Errorf("retried with MaxAttempts 1")
	}
}

func TestPutRetriesSeekableReader(t *testing.T) {
	for _, size := range []int{10, 2*chunkSize + 5} { // multipart; resumable
		fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		fake.FailNext(drivefake.RouteCreate, http.StatusInternalServerError, "backendError", 1)
		n, err := s.Put(context.Background(), "f", bytes.NewReader(data))
		if err != nil || n != int64(size) {
			t.Fatalf("Put of %d bytes: %d, %v", size, n, err)
		}
		if c := fake.Requests(drivefake.RouteCreate); c != 2 {
			t.Errorf("Put made %d create requests, want 2", c)
		}
		if len(sl.get()) != 1 {
			t.Errorf("waits %v, want 1", sl.get())
		}
		files := fake.Files()
		if len(files) != 2 || !bytes.Equal(files[1].Content, data) {
			t.Fatalf("fake holds %d files, want the folder and f with the data sent", len(files))
		}
	}
}

func TestPutRetryRereadsFromStartingOffset(t *testing.T) {
	fake, s, _ := newRetryStorage(t, gdrive.RetryPolicy{})
	r := bytes.NewReader([]byte("skip:payload"))
	r.Seek(5, io.SeekStart)
	fake.FailNext(drivefake.RouteCreate, http.StatusTooManyRequests, "rateLimitExceeded", 2)
	if n, err := s.Put(context.Background(), "f", r); err != nil || n != 7 {
		t.Fatalf("Put: %d, %v", n, err)
	}
	if files := fake.Files(); len(files) != 2 || string(files[1].Content) != "payload" {
		t.Errorf("after Put the fake holds %+v", files)
	}
}

func TestPutRetryAfterLostResponseLeavesOne(t *testing.T) {
	fake, s, _ := newRetryStorage(t, gdrive.RetryPolicy{})
	// Drive makes the file but answers 503; Put removes it and tries again.
	fake.LoseNextResponses(drivefake.RouteCreate, http.StatusServiceUnavailable, "backendError", 1)
	if _, err := s.Put(context.Background(), "f", bytes.NewReader([]byte("data"))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if files := fake.Files(); len(files) != 2 || string(files[1].Content) != "data" {
		t.Errorf("after Put the fake holds %d files, want the folder and one f", len(files))
	}
}

// Every request of an upload is retried on its own, so a reader that
// cannot be rewound (the engine's, before it could) is no obstacle.
func TestPutRetriesUnseekableReader(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
	fake.FailNext(drivefake.RouteCreate, http.StatusServiceUnavailable, "backendError", 1)
	fake.FailNext(drivefake.RouteUpload, http.StatusTooManyRequests, "rateLimitExceeded", 1)
	if _, err := s.Put(context.Background(), "f", io.MultiReader(strings.NewReader("data"))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if c := fake.Requests(drivefake.RouteCreate); c != 2 || len(sl.get()) != 2 {
		t.Errorf("Put made %d session starts and waited %v; want 2 and twice", c, sl.get())
	}
	if files := fake.Files(); len(files) != 2 || string(files[1].Content) != "data" {
		t.Errorf("after Put the fake holds %d files, want the folder and f", len(files))
	}
}

func TestPutGivesUp(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{MaxAttempts: 2})
	fake.FailNext(drivefake.RouteCreate, http.StatusTooManyRequests, "rateLimitExceeded", 5)
	_, err := s.Put(context.Background(), "f", bytes.NewReader([]byte("data")))
	if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), "start the upload of f to Google Drive: Google Drive rate limit exceeded: try again later (retried 1 time)") {
		t.Fatalf("Put: %v", err)
	}
	if c := fake.Requests(drivefake.RouteCreate); c != 2 || len(sl.get()) != 1 {
		t.Errorf("Put made %d create requests and waited %v; want 2 and once", c, sl.get())
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	for _, op := range []string{"List", "Put"} {
		fake, s, _ := newRetryStorage(t, gdrive.RetryPolicy{Initial: time.Hour, Max: time.Hour})
		gdrive.RealSleep(s)
		if op == "List" {
			fake.FailNext(drivefake.RouteList, http.StatusTooManyRequests, "rateLimitExceeded", 5)
		} else {
			fake.FailNext(drivefake.RouteCreate, http.StatusTooManyRequests, "rateLimitExceeded", 5)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		var err error
		if op == "List" {
			_, err = s.List(ctx, "")
		} else {
			_, err = s.Put(ctx, "f", bytes.NewReader([]byte("data")))
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled while waiting: %v, want context.Canceled", op, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s returned %v after the cancel", op, d)
		}
		cancel()
	}
}

// resetOnce fails the first list request as if the connection were reset,
// and authorises the others for the fake.
type resetOnce struct{ done atomic.Bool }

func (r *resetOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && !r.done.Swap(true) {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+drivefake.Token)
	return http.DefaultTransport.RoundTrip(req)
}

func TestRetryAfterConnectionReset(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:   fake.CreateFolder("hms backups"),
		Endpoint:   fake.URL(),
		HTTPClient: &http.Client{Transport: &resetOnce{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var waits int
	gdrive.SetSleep(s, func(context.Context, time.Duration) error { waits++; return nil })
	if _, err := s.List(context.Background(), ""); err != nil || waits != 1 {
		t.Errorf("List after a reset connection: %v after %d retries, want success after 1", err, waits)
	}
}

func TestRetryable(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want bool
	}{
		{ctx, &googleapi.Error{Code: 429}, true},
		{ctx, &googleapi.Error{Code: 502}, true},
		{ctx, &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "rateLimitExceeded"}}}, true},
		{ctx, &googleapi.Error{Code: 403, Errors: []googleapi.ErrorItem{{Reason: "storageQuotaExceeded"}}}, false},
		{ctx, &googleapi.Error{Code: 403}, false},
		{ctx, &googleapi.Error{Code: 404}, false},
		{ctx, &googleapi.Error{Code: 400}, false},
		{ctx, &googleapi.Error{Code: 401}, false},
		{ctx, &oauth2.RetrieveError{ErrorCode: "invalid_grant"}, false},
		{ctx, &url.Error{Op: "Get", URL: "x", Err: io.ErrUnexpectedEOF}, true},
		{ctx, &url.Error{Op: "Get", URL: "x", Err: io.EOF}, true},
		{ctx, &url.Error{Op: "Get", URL: "x", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, true},
		{ctx, &url.Error{Op: "Get", URL: "x", Err: context.Canceled}, false},
		{ctx, errors.New("something else"), false},
		{cancelled, &googleapi.Error{Code: 503}, false},
	} {
		if got := gdrive.Retryable(tc.ctx, tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNewValidatesRetryPolicy(t *testing.T) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	for _, p := range []gdrive.RetryPolicy{{MaxAttempts: -1}, {Initial: -time.Second}, {Max: -1}} {
		if _, err := gdrive.New(context.Background(), gdrive.Config{FolderID: "f", TokenSource: ts, Retry: p}); !errors.Is(err, backup.ErrInvalid) {
			t.Errorf("policy %+v: %v, want ErrInvalid", p, err)
		}
	}
}
