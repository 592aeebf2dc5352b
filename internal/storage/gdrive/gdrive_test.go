package gdrive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
	"github.com/hmsbackup/hmsbackup/internal/storage/storagetest"
)

const chunkSize = 256 * 1024 // Drive's minimum chunk

func newFakeStorage(t *testing.T) (*drivefake.Server, *gdrive.Storage) {
	t.Helper()
	fake, s, _ := newRetryStorage(t, gdrive.RetryPolicy{})
	return fake, s
}

// newRetryStorage is newFakeStorage with a retry policy; its waits return
// at once and are recorded.
func newRetryStorage(t *testing.T, p gdrive.RetryPolicy) (*drivefake.Server, *gdrive.Storage, *sleeps) {
	t.Helper()
	fake := drivefake.New()
	t.Cleanup(fake.Close)
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:    fake.CreateFolder("hms backups"),
		Endpoint:    fake.URL(),
		ChunkSize:   chunkSize,
		PageSize:    10, // so that listing spans pages
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: drivefake.Token}),
		Retry:       p,
	})
	if err != nil {
		t.Fatal(err)
	}
	sl := &sleeps{}
	gdrive.SetSleep(s, sl.sleep)
	return fake, s, sl
}

// sleeps records the waits between tries without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *sleeps) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.d = append(r.d, d)
	return ctx.Err()
}

func (r *sleeps) get() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.d...)
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) backup.Storage {
		_, s := newFakeStorage(t)
		return s
	}, storagetest.Options{ChunkSize: chunkSize})
}

func TestQuotaExceeded(t *testing.T) {
	fake, s := newFakeStorage(t)
	fake.FailNext(drivefake.RouteCreate, http.StatusForbidden, "storageQuotaExceeded", 1)
	_, err := s.Put(context.Background(), "hms_backup_1.sql.gz", bytes.NewReader([]byte("data")))
	if !errors.Is(err, backup.ErrUnavailable) {
		t.Fatalf("Put over quota: %v, want ErrUnavailable", err)
	}
	if want := "Google Drive storage quota exceeded (service accounts have no quota: use a shared drive)"; !strings.Contains(err.Error(), want) {
		t.Errorf("Put over quota: %q, want it to say %q", err, want)
	}
}

func TestQuotaExceededMidUpload(t *testing.T) {
	fake, s := newFakeStorage(t)
	fake.FailNext(drivefake.RouteUpload, http.StatusForbidden, "storageQuotaExceeded", 1)
	_, err := s.Put(context.Background(), "big", bytes.NewReader(make([]byte, 2*chunkSize+1)))
	if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), "quota exceeded") {
		t.Fatalf("Put over quota mid-upload: %v", err)
	}
	if _, err := s.Stat(context.Background(), "big"); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("a failed Put left a file: Stat = %v", err)
	}
}

func TestCorruptUploadIsDiscarded(t *testing.T) {
	for _, size := range []int{10, 2*chunkSize + 3} {
		fake, s := newFakeStorage(t)
		ctx := context.Background()
		if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("good"))); err != nil {
			t.Fatal(err)
		}
		fake.CorruptNextUploads(1)
		// A reader that cannot be rewound: the upload cannot be made again.
		_, err := s.Put(ctx, "f", struct{ io.Reader }{bytes.NewReader(make([]byte, size))})
		if !errors.Is(err, backup.ErrCorrupt) {
			t.Fatalf("Put of %d bytes damaged on the way: %v, want ErrCorrupt", size, err)
		}
		if files := fake.Files(); len(files) != 2 { // the folder and the good "f"
			t.Errorf("after a corrupt upload the fake holds %d files, want 2", len(files))
		}
		r, err := s.Open(ctx, "f")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != "good" {
			t.Errorf("after a corrupt upload f = %q, want the previous version", got)
		}
	}
}

// A file damaged on the way is discarded and, when the reader can be
// rewound, uploaded again.
func TestCorruptUploadIsMadeAgain(t *testing.T) {
	fake, s := newFakeStorage(t)
	data := bytes.Repeat([]byte("0123456789"), chunkSize/5)
	fake.CorruptNextUploads(1)
	if _, err := s.Put(context.Background(), "f", bytes.NewReader(data)); err != nil {
		t.Fatalf("Put after a corrupt upload: %v", err)
	}
	files := fake.Files()
	if len(files) != 2 || !bytes.Equal(files[1].Content, data) {
		t.Fatalf("the fake holds %d files, want the folder and f with the bytes sent", len(files))
	}
}

func TestLostResponseLeavesNothing(t *testing.T) {
	fake, s := newFakeStorage(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("old"))); err != nil {
		t.Fatal(err)
	}
	// Drive makes the file, but the client sees an error.
	fake.LoseNextResponses(drivefake.RouteCreate, http.StatusForbidden, "forbidden", 1)
	if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("new"))); err == nil {
		t.Fatal("Put with a lost response succeeded")
	}
	r, err := s.Open(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != "old" {
		t.Errorf("after a failed Put f = %q, want %q", got, "old")
	}
	if files := fake.Files(); len(files) != 2 { // the folder and the old "f"
		t.Errorf("after a failed Put the fake holds %d files, want 2", len(files))
	}
}

func TestLeftoverOlderCopyIsHidden(t *testing.T) {
	fake, s := newFakeStorage(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("old"))); err != nil {
		t.Fatal(err)
	}
	// Deleting the older copy fails, retries included; the Put still stands.
	fake.FailNext(drivefake.RouteDelete, http.StatusInternalServerError, "backendError", gdrive.DefaultMaxAttempts)
	if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("newer"))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if files := fake.Files(); len(files) != 3 {
		t.Fatalf("fake holds %d files, want the folder and two copies of f", len(files))
	}
	list, err := s.List(ctx, "")
	if err != nil || len(list) != 1 || list[0].Size != 5 {
		t.Fatalf("List = %+v, %v; want f once, as the newer copy", list, err)
	}
	if fi, err := s.Stat(ctx, "f"); err != nil || fi.Size != 5 {
		t.Fatalf("Stat = %+v, %v; want the newer copy", fi, err)
	}
	if err := s.Delete(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if files := fake.Files(); len(files) != 1 {
		t.Errorf("after Delete the fake holds %d files, want only the folder", len(files))
	}
}

func TestConcurrentPutsOfOneNameLeaveOne(t *testing.T) {
	fake, s := newFakeStorage(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := s.Put(ctx, "same", bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 100+i))); err != nil {
				t.Errorf("Put #%d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if files := fake.Files(); len(files) != 2 {
		t.Errorf("after concurrent Puts the fake holds %d files, want the folder and one copy", len(files))
	}
	if _, err := s.Stat(ctx, "same"); err != nil {
		t.Errorf("Stat: %v", err)
	}
}

func TestNotFoundFromDrive(t *testing.T) {
	fake, s := newFakeStorage(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	// The file vanishes between lookup and download: Drive answers 404.
	fake.FailNext(drivefake.RouteGet, http.StatusNotFound, "notFound", 1)
	if _, err := s.Open(ctx, "f"); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("Open after a 404: %v, want ErrNotFound", err)
	}
	// A deleted folder makes listing 404 too.
	fake.FailNext(drivefake.RouteList, http.StatusNotFound, "notFound", 1)
	if _, err := s.List(ctx, ""); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("List after a 404: %v, want ErrNotFound", err)
	}
	if _, err := s.FileID(ctx, "missing"); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("FileID(missing): %v, want ErrNotFound", err)
	}
}

func TestFileID(t *testing.T) {
	fake, s := newFakeStorage(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	id, err := s.FileID(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range fake.Files() {
		if f.ID == id && f.Name == "f" && string(f.Content) == "x" {
			found = true
		}
	}
	if !found {
		t.Errorf("FileID = %q, not the Drive file holding f", id)
	}
}

func TestRateLimitAndServerErrorsAreUnavailable(t *testing.T) {
	for _, tc := range []struct {
		status int
		reason string
		want   string
	}{
		{http.StatusTooManyRequests, "rateLimitExceeded", "rate limit exceeded: try again later (retried 4 times)"},
		{http.StatusForbidden, "userRateLimitExceeded", "rate limit exceeded: try again later (retried 4 times)"},
		{http.StatusInternalServerError, "backendError", "unavailable: try again later (retried 4 times)"},
		{http.StatusUnauthorized, "authError", "re-authorise Google Drive"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			fake, s := newFakeStorage(t)
			fake.FailNext(drivefake.RouteList, tc.status, tc.reason, gdrive.DefaultMaxAttempts)
			_, err := s.List(context.Background(), "")
			if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("List after %d %s: %v, want ErrUnavailable saying %q", tc.status, tc.reason, err, tc.want)
			}
		})
	}
}

type failingTokenSource struct{ err error }

func (f failingTokenSource) Token() (*oauth2.Token, error) { return nil, f.err }

func TestRevokedRefreshTokenSaysReauthorise(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:    "folder",
		Endpoint:    fake.URL(),
		TokenSource: failingTokenSource{&oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "Token has been expired or revoked."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(context.Background(), "f")
	if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), "re-authorise Google Drive") {
		t.Errorf("Stat with a revoked token: %v, want ErrUnavailable saying re-authorise", err)
	}
}

func TestNewValidates(t *testing.T) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	for name, cfg := range map[string]gdrive.Config{
		"no folder":       {TokenSource: ts},
		"no credentials":  {FolderID: "f"},
		"two credentials": {FolderID: "f", TokenSource: ts, HTTPClient: http.DefaultClient},
		"page size":       {FolderID: "f", TokenSource: ts, PageSize: 5000},
	} {
		if _, err := gdrive.New(context.Background(), cfg); !errors.Is(err, backup.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
