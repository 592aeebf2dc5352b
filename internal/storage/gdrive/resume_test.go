package gdrive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDownloadResumesAfterCuts(t *testing.T) {
	fake, s, sl := newRetryStorage(t, gdrive.RetryPolicy{})
	data := randomData(t, 1<<20)
	ctx := context.Background()
	if _, err := s.Put(ctx, "big", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	fake.CutNextDownloads(300_000, 2) // the first request and the first resume
	before := fake.Requests(drivefake.RouteGet)
	rc, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read after 2 cuts: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d stored", len(got), len(data))
	}
	if n := fake.Requests(drivefake.RouteGet) - before; n != 3 {
		t.Errorf("download made %d requests, want 3 (one, then two resumes)", n)
	}
	if n := len(sl.get()); n != 2 {
		t.Errorf("waited %d times, want 2", n)
	}
}

func TestDownloadResumesAfterServerErrorOnResume(t *testing.T) {
	fake, s, _ := newRetryStorage(t, gdrive.RetryPolicy{})
	data := randomData(t, 600_000)
	ctx := context.Background()
	if _, err := s.Put(ctx, "f", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// The first body is cut, the first resume fails with 503, the second
	// is cut too and the third completes.
	fake.CutNextDownloads(1000, 2)
	rc, err := s.Open(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	fake.FailNext(drivefake.RouteGet, http.StatusServiceUnavailable, "backendError", 1)
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with a cut, a 503 and a cut: %d bytes, %v", len(got), err)
	}
}

func TestDownloadGivesUpAfterMaxAttemptsCuts(t *testing.T) {
	fake, s, _ := newRetryStorage(t, gdrive.RetryPolicy{MaxAttempts: 3})
	data := randomData(t, 1<<20)
	ctx := context.Background()
	if _, err := s.Put(ctx, "big", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	fake.CutNextDownloads(100_000, 4)
	before := fake.Requests(drivefake.RouteGet)
	rc, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), "retried 2 times") {
		t.Fatalf("read with more cuts than attempts: %v, want ErrUnavailable after 2 retries", err)
	}
	if len(got) != 300_000 || !bytes.Equal(got, data[:len(got)]) {
		t.Errorf("read %d bytes before failing, want the first 300000", len(got))
	}
	if n := fake.Requests(drivefake.RouteGet) - before; n != 3 {
		t.Errorf("download made %d requests, want 3", n)
	}
	if _, err := rc.Read(make([]byte, 1)); err == nil {
		t.Error("Read after the failure succeeded")
	}
}

func TestMultiChunkUploadSurvivesChunkFaults(t *testing.T) {
	fake, s, _ := newRetryStorage(t, gdrive.RetryPolicy{})
	data := randomData(t, 5*chunkSize+1234) // 6 chunk requests
	// The third chunk fails; then, after a status query and the third
	// chunk again, the fourth is stored but its answer is lost.
	fake.FailRequest(drivefake.RouteUpload, 3, drivefake.Fault{Status: http.StatusServiceUnavailable, Reason: "backendError"})
	fake.FailRequest(drivefake.RouteUpload, 3, drivefake.Fault{Status: http.StatusServiceUnavailable, Reason: "backendError", Lose: true})
	n, err := s.Put(context.Background(), "multi", struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n != int64(len(data)) {
		t.Errorf("Put = %d bytes, want %d", n, len(data))
	}
	// 6 chunks, the third sent twice, and a status query after each fault;
	// the fourth is not sent again: the query says Drive has it.
	if got := fake.Requests(drivefake.RouteUpload); got != 9 {
		t.Errorf("%d requests to the upload session, want 9", got)
	}
	var stored []drivefake.File
	for _, f := range fake.Files() {
		if f.Name == "multi" {
			stored = append(stored, f)
		}
	}
	if len(stored) != 1 || !bytes.Equal(stored[0].Content, data) {
		t.Fatalf("stored %d files named multi; want one with the exact bytes", len(stored))
	}
	if fake.OpenUploads() != 0 {
		t.Errorf("%d upload sessions left open", fake.OpenUploads())
	}
}

// A Drive that answers too slowly is given up on when the caller's
// deadline passes, promptly and with the deadline in the error.
func TestSlowDriveRespectsTheCallersDeadline(t *testing.T) {
	fake, s := newFakeStorage(t)
	fake.SlowNext(drivefake.RouteList, 10*time.Second, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.List(ctx, "hms_backup_")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("List against a slow Drive: %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited >= 10*time.Second {
		t.Errorf("List waited out the slow answer (%v) instead of giving up at its deadline", waited)
	}
}

// Sizes at and around chunk boundaries go up whole from a reader that
// cannot seek, in as many chunk requests as there are chunks.
func TestUploadChunkBoundaries(t *testing.T) {
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize, 3*chunkSize - 1} {
		fake, s := newFakeStorage(t)
		data := randomData(t, size)
		n, err := s.Put(context.Background(), "f", struct{ io.Reader }{bytes.NewReader(data)})
		if err != nil || n != int64(size) {
			t.Fatalf("Put of %d bytes: %d, %v", size, n, err)
		}
		files := fake.Files()
		if len(files) != 2 || !bytes.Equal(files[1].Content, data) {
			t.Fatalf("Put of %d bytes: the fake holds %d files, want the folder and f with the bytes sent", size, len(files))
		}
		if want := max(1, (size+chunkSize-1)/chunkSize); fake.Requests(drivefake.RouteUpload) != want {
			t.Errorf("Put of %d bytes made %d chunk requests, want %d", size, fake.Requests(drivefake.RouteUpload), want)
		}
	}
}
