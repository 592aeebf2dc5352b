package engine_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3/s3fake"
)

const s3Bucket = "hms-backups"

type s3Fixture struct {
	*fixture
	fake     *s3fake.Server
	notifier *recordingNotifier
}

// newS3Fixture is the engine fixture with S3 (gofakes3 over HTTP, with
// faults on demand) as its remote, in parts of S3's minimum 5 MiB.
func newS3Fixture(t fixtureT) *s3Fixture {
	t.Helper()
	f := newFixture(t)
	fake, err := s3fake.New(s3Bucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	s, err := s3.New(context.Background(), s3.Config{
		Endpoint: fake.URL(), Bucket: s3Bucket, Prefix: "hms/", AccessKey: "AK", SecretKey: "SK", PartSize: s3.MinPartSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &recordingNotifier{}
	f.eng.Remotes = []engine.Remote{{Kind: engine.RemoteS3, Storage: s}}
	f.eng.Notifier = n
	return &s3Fixture{fixture: f, fake: fake, notifier: n}
}

// threeParts is database content whose backup takes three 5 MiB parts.
func threeParts() []byte {
	b := make([]byte, 12<<20)
	rand.Read(b)
	return b
}

// checkOnS3 fails unless backup id is completed, local and on S3 byte for
// byte, with the record's flags right, no warning and no multipart upload
// left open.
func (s *s3Fixture) checkOnS3(t tb, id int64) {
	t.Helper()
	b, err := s.cat.FindBackupByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.fake.Backend.GetObject(s3Bucket, "hms/"+b.Filename, nil)
	if err != nil {
		t.Fatalf("backup %d is not on S3: %v", id, err)
	}
	defer obj.Contents.Close()
	got := make([]byte, 0, obj.Size)
	buf := make([]byte, 1<<20)
	for {
		n, err := obj.Contents.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	switch {
	case b.Status != backup.StatusCompleted || !b.IsLocal:
		t.Fatalf("backup %d: status %s, is_local %v", id, b.Status, b.IsLocal)
	case string(got) != string(mustRead(t, b.FilePath)):
		t.Fatalf("backup %d: the S3 copy (%d bytes) differs from the local file", id, len(got))
	case !b.IsOnS3 || b.S3Key != b.Filename:
		t.Fatalf("backup %d: is_on_s3 %v, s3_key %q (warning %q)", id, b.IsOnS3, b.S3Key, b.Warning)
	case b.Warning != "":
		t.Fatalf("backup %d: warning %q", id, b.Warning)
	}
	if k := s.notifier.kinds(); len(k) != 0 {
		t.Fatalf("notifications %v, want none", k)
	}
	if n, err := s.fake.OpenUploads(s3Bucket); err != nil || n != 0 {
		t.Fatalf("%d multipart uploads left open (%v)", n, err)
	}
}

var transientS3Faults = map[string]s3fake.Fault{
	"503 SlowDown":            {Status: http.StatusServiceUnavailable, Reason: "SlowDown"},
	"500 InternalError, lost": {Status: http.StatusInternalServerError, Reason: "InternalError", Lose: true},
	"502 BadGateway":          {Status: http.StatusBadGateway, Reason: "BadGateway"},
	"429 TooManyRequests":     {Status: http.StatusTooManyRequests, Reason: "TooManyRequests"},
	"connection reset":        {Reset: true},
	"connection reset, lost":  {Reset: true, Lose: true},
}

// Issue 6: a passing failure on any one request of an S3 upload made by
// Engine.CreateBackup is retried: the backup ends on S3, not local-only,
// even when the answer to the initiate or the complete was lost.
func TestCreateBackupRetriesEachS3UploadRequest(t *testing.T) {
	requests := []uploadRequest{
		{"initiate", s3fake.RouteInitiate, 1},
		{"first part", s3fake.RoutePart, 1},
		{"middle part", s3fake.RoutePart, 2},
		{"last part", s3fake.RoutePart, 3},
		{"complete", s3fake.RouteComplete, 1},
	}
	checkEachRequestRetried(t, requests, transientS3Faults, threeParts, func(t fixtureT) faultyRemote {
		return newS3Fixture(t).faulty()
	})
}

// Issue 6: a permanent S3 error (access denied on a part) leaves the
// backup local-only with a warning saying what to do, and the aborted
// upload is cleaned up even when the abort itself first fails for a
// passing reason; Engine.Sync uploads the backup once S3 lets it.
func TestS3PermanentErrorIsLocalOnlyThenSynced(t *testing.T) {
	s := newS3Fixture(t)
	ctx := context.Background()
	s.db.content = threeParts()
	s.fake.FailRequest(s3fake.RoutePart, 2, s3fake.Fault{Status: http.StatusForbidden, Reason: "AccessDenied"})
	s.fake.FailRequest(s3fake.RouteAbort, 1, s3fake.Fault{Status: http.StatusServiceUnavailable, Reason: "SlowDown"})
	b := s.create(t)
	if n := s.fake.Pending(); n != 0 {
		t.Fatalf("%d faults did not fire", n)
	}
	rec, _ := s.cat.FindBackupByID(ctx, b.ID)
	if rec.IsOnS3 || !strings.Contains(rec.Warning, "refused access") || !strings.Contains(rec.Warning, "local disk only") {
		t.Fatalf("after access denied: is_on_s3 %v, warning %q", rec.IsOnS3, rec.Warning)
	}
	if n, err := s.fake.OpenUploads(s3Bucket); err != nil || n != 0 {
		t.Fatalf("%d multipart uploads left open (%v)", n, err)
	}
	if _, err := s.fake.Backend.HeadObject(s3Bucket, "hms/"+b.Filename); err == nil {
		t.Fatalf("a failed upload left an object")
	}
	s.notifier.sent = nil
	s.fake.FailRequest(s3fake.RouteComplete, 1, transientS3Faults["500 InternalError, lost"])
	if res, err := s.eng.Sync(ctx, alice); err != nil || res.Uploaded != 1 {
		t.Fatalf("Sync: %+v, %v", res, err)
	}
	s.checkOnS3(t, b.ID)
}

// Issue 6: any two passing failures on any requests of the S3 upload that
// Engine.CreateBackup or Engine.Sync makes (rapid picks which and how) end
// with the backup on S3, byte-identical, with the flags right and no
// upload left open. Sizes: one part, and two (the second short).
func TestS3UploadSurvivesAnyTwoTransientFaults(t *testing.T) {
	checkAnyTwoTransientFaults(t, []int{100, s3.MinPartSize + 4096}, transientS3Faults, func(t fixtureT) faultyRemote {
		return newS3Fixture(t).faulty()
	})
}

// faulty is the fixture as a faultyRemote.
func (s *s3Fixture) faulty() faultyRemote {
	return faultyRemote{
		fixture:     s.fixture,
		notifier:    s.notifier,
		requests:    s.fake.Total,
		pending:     s.fake.Pending,
		failNth:     s.fake.FailNthRequest,
		failRequest: s.fake.FailRequest,
		refuseNext: func() {
			s.fake.FailNext(s3fake.RouteInitiate, s3fake.Fault{Status: http.StatusForbidden, Reason: "AccessDenied"}, 1)
		},
		check: func(t tb, _ uploadRequest, _ s3fake.Fault, id int64) { s.checkOnS3(t, id) },
	}
}
