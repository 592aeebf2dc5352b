package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
	"golang.org/x/oauth2"
	"pgregory.net/rapid"
)

// recordingNotifier keeps every notification.
type recordingNotifier struct {
	mu   sync.Mutex
	sent []backup.Notification
}

func (r *recordingNotifier) Notify(_ context.Context, n backup.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, n)
	return nil
}

func (r *recordingNotifier) kinds() []backup.NotificationKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k []backup.NotificationKind
	for _, n := range r.sent {
		k = append(k, n.Kind)
	}
	return k
}

type driveFixture struct {
	*fixture
	fake     *drivefake.Server
	notifier *recordingNotifier
}

// newDriveFixture is the engine fixture with Google Drive (the in-repo fake
// speaking Drive v3 to the real client library) as its remote.
func newDriveFixture(t fixtureT) *driveFixture {
	t.Helper()
	f := newFixture(t)
	fake := drivefake.New()
	t.Cleanup(fake.Close)
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:    fake.CreateFolder("hms backups"),
		Endpoint:    fake.URL(),
		ChunkSize:   256 * 1024,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: drivefake.Token}),
		// The default tries (5), with waits short enough for tests.
		Retry: gdrive.RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &recordingNotifier{}
	f.eng.Remotes = []engine.Remote{{Kind: engine.RemoteGoogleDrive, Storage: s}}
	f.eng.Notifier = n
	return &driveFixture{fixture: f, fake: fake, notifier: n}
}

// driveFile returns the fake's file of that name, if any.
func (d *driveFixture) driveFile(name string) (drivefake.File, bool) {
	for _, f := range d.fake.Files() {
		if f.Name == name && !f.Trashed {
			return f, true
		}
	}
	return drivefake.File{}, false
}

// genContent draws a database content from a few bytes to several upload
// chunks of incompressible data.
func genContent(t *rapid.T) []byte {
	n := rapid.SampledFrom([]int{1, 100, 300 * 1024, 700 * 1024}).Draw(t, "size")
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Property 3: after any successful backup with Google Drive configured, the
// record holds the Drive file id, and that file holds the backup's bytes.
func TestProperty3DriveIDSetAfterSuccess(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		d := newDriveFixture(t)
		d.db.content = genContent(rt)
		b := d.create(t)
		got, _ := d.cat.FindBackupByID(context.Background(), b.ID)
		file, ok := d.driveFile(b.Filename)
		switch {
		case !ok:
			rt.Fatalf("no file %s on Drive", b.Filename)
		case got.GoogleDriveFileID == "" || got.GoogleDriveFileID != file.ID:
			rt.Fatalf("google_drive_file_id %q, Drive file id %q", got.GoogleDriveFileID, file.ID)
		case !got.IsOnGoogleDrive || !got.IsLocal || got.Warning != "":
			rt.Fatalf("flags drive %v local %v warning %q", got.IsOnGoogleDrive, got.IsLocal, got.Warning)
		case !bytes.Equal(file.Content, mustRead(t, got.FilePath)):
			rt.Fatalf("Drive holds %d bytes, local file %d", len(file.Content), len(mustRead(t, got.FilePath)))
		}
	})
}

// Property 15: whatever Google Drive failure happens during the upload, the
// local backup stays intact and completed, the record says local only, and
// a warning is recorded and notified.
func TestProperty15DriveFailureKeepsLocalBackup(t *testing.T) {
	type fault struct {
		status int
		reason string
	}
	faults := []fault{{403, "storageQuotaExceeded"}, {403, "forbidden"}, {401, "authError"}, {404, "notFound"}, {400, "badRequest"}}
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		d := newDriveFixture(t)
		d.db.content = genContent(rt)
		// Every upload starts a resumable session, then sends chunks.
		route := rapid.SampledFrom([]string{drivefake.RouteCreate, drivefake.RouteUpload}).Draw(rt, "route")
		fl := rapid.SampledFrom(faults).Draw(rt, "fault")
		d.fake.FailNext(route, fl.status, fl.reason, 100)
		b, err := d.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceScheduled, Actor: alice})
		if err != nil {
			rt.Fatalf("a Drive failure failed the backup itself: %v", err)
		}
		got, _ := d.cat.FindBackupByID(context.Background(), b.ID)
		switch {
		case got.Status != backup.StatusCompleted || !got.IsLocal:
			rt.Fatalf("status %s, is_local %v", got.Status, got.IsLocal)
		case got.IsOnGoogleDrive || got.GoogleDriveFileID != "":
			rt.Fatalf("record claims a Drive copy: %v %q", got.IsOnGoogleDrive, got.GoogleDriveFileID)
		case !strings.Contains(got.Warning, "local disk only"):
			rt.Fatalf("warning %q", got.Warning)
		case sha256Hex(mustRead(t, got.FilePath)) != got.SHA256:
			rt.Fatalf("local file damaged")
		}
		if _, ok := d.driveFile(b.Filename); ok {
			rt.Fatalf("a failed upload left a file on Drive")
		}
		if k := d.notifier.kinds(); len(k) != 1 || k[0] != backup.NotifyUploadFailed {
			rt.Fatalf("notifications %v, want one upload_failed", k)
		}
		if fl.reason == "storageQuotaExceeded" && !strings.Contains(got.Warning, "shared drive") {
			rt.Fatalf("quota warning %q does not say what to do", got.Warning)
		}
	})
}

// Property 9: deleting a backup removes it locally and on Drive, then the
// record; if Drive refuses, the record stays (no orphaned copy) with the
// reason.
func TestProperty9DeletionRemovesEveryCopy(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		d := newDriveFixture(t)
		ctx := context.Background()
		n := rapid.IntRange(1, 4).Draw(rt, "backups")
		var all []*backup.Backup
		for i := 0; i < n; i++ {
			all = append(all, d.create(t))
		}
		victim := all[rapid.IntRange(0, n-1).Draw(rt, "victim")]
		refuse := rapid.Bool().Draw(rt, "driveRefuses")
		if refuse {
			d.fake.FailNext(drivefake.RouteDelete, http.StatusForbidden, "forbidden", 100)
			d.fake.FailNext(drivefake.RouteList, http.StatusForbidden, "forbidden", 100)
		}
		_, err := d.eng.Delete(ctx, victim.ID, alice)
		_, stillLocal := os.Stat(victim.FilePath)
		_, onDrive := d.driveFile(victim.Filename)
		rec, findErr := d.cat.FindBackupByID(ctx, victim.ID)
		if refuse {
			if err == nil || findErr != nil || !strings.Contains(rec.Warning, "could not be deleted") || !onDrive || stillLocal != nil {
				rt.Fatalf("refused delete: err %v, record %v (%v), on drive %v, local %v", err, rec, findErr, onDrive, stillLocal)
			}
			return
		}
		if err != nil || onDrive || !errors.Is(stillLocal, os.ErrNotExist) || !errors.Is(findErr, backup.ErrNotFound) {
			rt.Fatalf("delete: err %v, on drive %v, local %v, record %v", err, onDrive, stillLocal, findErr)
		}
		for _, b := range all {
			if _, ok := d.driveFile(b.Filename); b.ID != victim.ID && !ok {
				rt.Fatalf("deleting %d removed %d from Drive", victim.ID, b.ID)
			}
		}
	})
}

func TestRestoreFetchesFromDriveWhenLocalFileIsGone(t *testing.T) {
	d := newDriveFixture(t)
	ctx := context.Background()
	d.db.content = []byte("the state to bring back\n")
	b := d.create(t)
	os.Remove(b.FilePath)
	d.db.content = []byte("later state\n")
	if _, err := d.eng.Restore(ctx, engine.RestoreRequest{BackupID: b.ID, Actor: alice}); err != nil {
		t.Fatalf("restore from Drive: %v", err)
	}
	if got := string(d.db.get()); got != "the state to bring back\n" {
		t.Errorf("database holds %q", got)
	}
	rec, _ := d.cat.FindBackupByID(ctx, b.ID)
	if !rec.IsLocal || sha256Hex(mustRead(t, rec.FilePath)) != rec.SHA256 {
		t.Errorf("the fetched local copy is not recorded or not intact")
	}
}

func TestSyncUploadsWhatDriveMissed(t *testing.T) {
	d := newDriveFixture(t)
	ctx := context.Background()
	d.fake.FailNext(drivefake.RouteCreate, http.StatusForbidden, "storageQuotaExceeded", 1) // the one upload fails
	b := d.create(t)
	res, err := d.eng.Sync(ctx, alice)
	if err != nil || res.Uploaded != 1 || res.Failed != 0 {
		t.Fatalf("Sync: %+v, %v", res, err)
	}
	rec, _ := d.cat.FindBackupByID(ctx, b.ID)
	if !rec.IsOnGoogleDrive || rec.Warning != "" {
		t.Errorf("after sync: on drive %v, warning %q", rec.IsOnGoogleDrive, rec.Warning)
	}
}

// Property 7: after any sequence of backups, failed uploads, syncs,
// deletions and copies vanishing behind our back (followed by verify),
// is_local and is_on_google_drive say exactly where each file really is.
func TestProperty7LocationFlagsMatchRealPresence(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		d := newDriveFixture(t)
		ctx := context.Background()
		drive := d.eng.Remotes[0].Storage
		var ids []int64
		pick := func() (int64, bool) {
			if len(ids) == 0 {
				return 0, false
			}
			return ids[rapid.IntRange(0, len(ids)-1).Draw(rt, "pick")], true
		}
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			switch rapid.SampledFrom([]string{"create", "create-drive-down", "sync", "delete", "lose-local", "lose-drive"}).Draw(rt, "op") {
			case "create":
				ids = append(ids, d.create(t).ID)
			case "create-drive-down":
				// Every upload starts with a session request.
				d.fake.FailNext(drivefake.RouteCreate, http.StatusForbidden, "forbidden", 1)
				ids = append(ids, d.create(t).ID)
			case "sync":
				d.eng.Sync(ctx, alice)
			case "delete":
				if id, ok := pick(); ok {
					if _, err := d.eng.Delete(ctx, id, alice); err == nil {
						ids = removeID(ids, id)
					}
				}
			case "lose-local":
				if id, ok := pick(); ok {
					b, _ := d.cat.FindBackupByID(ctx, id)
					os.Remove(b.FilePath)
					d.eng.Verify(ctx, id, alice)
				}
			case "lose-drive":
				if id, ok := pick(); ok {
					b, _ := d.cat.FindBackupByID(ctx, id)
					drive.Delete(ctx, b.Filename)
					d.eng.Verify(ctx, id, alice)
				}
			}
			for _, id := range ids {
				b, err := d.cat.FindBackupByID(ctx, id)
				if err != nil {
					rt.Fatalf("backup %d: %v", id, err)
				}
				_, statErr := os.Stat(b.FilePath)
				file, onDrive := d.driveFile(b.Filename)
				if local := statErr == nil; b.IsLocal != local {
					rt.Fatalf("backup %d: is_local %v, file present %v", id, b.IsLocal, local)
				}
				if b.IsOnGoogleDrive != onDrive || (onDrive && b.GoogleDriveFileID != file.ID) {
					rt.Fatalf("backup %d: is_on_google_drive %v (%q), on Drive %v (%q)", id, b.IsOnGoogleDrive, b.GoogleDriveFileID, onDrive, file.ID)
				}
			}
		}
	})
}

func removeID(ids []int64, id int64) []int64 {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func TestDownloadStreamsFromDriveWhenLocalFileIsGone(t *testing.T) {
	d := newDriveFixture(t)
	b := d.create(t)
	want := mustRead(t, b.FilePath)
	os.Remove(b.FilePath)
	r, _, err := d.eng.Download(context.Background(), b.ID, alice)
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	defer r.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(r); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("downloaded %d bytes (%v), want the %d stored", got.Len(), err, len(want))
	}
}

func TestVerifyFindsADamagedDriveCopy(t *testing.T) {
	d := newDriveFixture(t)
	ctx := context.Background()
	d.db.content = []byte("some data\n")
	b := d.create(t)
	// Replace the Drive copy with other bytes of the same size.
	drive := d.eng.Remotes[0].Storage
	damaged := bytes.Clone(mustRead(t, b.FilePath))
	damaged[len(damaged)/2] ^= 0xff
	if _, err := drive.Put(ctx, b.Filename, bytes.NewReader(damaged)); err != nil {
		t.Fatal(err)
	}
	_, err := d.eng.Verify(ctx, b.ID, alice)
	if !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), "Google Drive is damaged") {
		t.Fatalf("verify: %v, want the damaged Drive copy reported", err)
	}
	rec, _ := d.cat.FindBackupByID(ctx, b.ID)
	if rec.IsOnGoogleDrive || !rec.IsLocal {
		t.Errorf("flags after verify: drive %v local %v; want local only", rec.IsOnGoogleDrive, rec.IsLocal)
	}
	// sync replaces the damaged copy.
	if _, err := d.eng.Sync(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := d.eng.Verify(ctx, b.ID, alice); err != nil {
		t.Errorf("verify after sync: %v", err)
	}
}
