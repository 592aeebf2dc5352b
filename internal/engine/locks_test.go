package engine_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
)

// holdingStorage holds every Put until release is closed, saying on
// entered when one begins.
type holdingStorage struct {
	backup.Storage
	entered chan string
	release chan struct{}
}

func (h *holdingStorage) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	h.entered <- name
	<-h.release
	return h.Storage.Put(ctx, name, r)
}

// Issue 8: a backup's uploads run after the database's lock is released,
// so a slow remote does not hold up a restore; a delete of the backup
// being uploaded is refused (it would orphan the copy) until the upload
// is done.
func TestUploadsRunAfterTheDatabaseLockIsReleased(t *testing.T) {
	ctx := context.Background()
	f := newDriveFixture(t)
	hold := &holdingStorage{Storage: f.eng.Remotes[0].Storage, entered: make(chan string, 1), release: make(chan struct{})}
	f.eng.Remotes[0].Storage = hold
	first := make(chan *backup.Backup, 1)
	go func() {
		b, err := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
		if err != nil {
			t.Errorf("CreateBackup: %v", err)
		}
		first <- b
	}()
	name := <-hold.entered // the upload has begun, and waits

	// The database is free: a restore runs while the upload waits.
	list, _, err := f.cat.FindBackups(ctx, backup.BackupFilter{})
	if err != nil || len(list) != 1 || list[0].Filename != name {
		t.Fatalf("catalog during the upload: %v %v", list, err)
	}
	if _, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: list[0].ID, Actor: alice}); err != nil {
		t.Fatalf("a restore during another backup's upload: %v", err)
	}
	// A delete of the backup being uploaded is refused.
	if _, err := f.eng.Delete(ctx, list[0].ID, alice); backup.ErrorCode(err) != backup.EBUSY || !strings.Contains(err.Error(), "upload of "+name) {
		t.Errorf("delete during the upload: %v, want EBUSY naming the upload", err)
	}
	close(hold.release)
	b := <-first
	if !b.IsOnGoogleDrive || b.Warning != "" {
		t.Errorf("after the upload: on Drive %v, warning %q", b.IsOnGoogleDrive, b.Warning)
	}
	if _, ok := f.driveFile(name); !ok {
		t.Errorf("%s is not on Drive", name)
	}
	if _, err := f.eng.Delete(ctx, b.ID, alice); err != nil {
		t.Errorf("delete after the upload: %v", err)
	}
	if _, ok := f.driveFile(name); ok {
		t.Errorf("%s is still on Drive after the delete", name)
	}
}

// Issue 8: a remote that cannot be opened does not stop deleting a backup
// that has no copy there.
func TestDeleteIgnoresAnUnusableRemoteWithoutACopy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	b := mustCreate(t, f)
	f.eng.Remotes = []engine.Remote{{Kind: engine.RemoteS3, OpenErr: errors.New("bucket does not exist")}}
	if _, err := f.eng.Delete(ctx, b.ID, alice); err != nil {
		t.Fatalf("delete of a local-only backup with S3 unusable: %v", err)
	}
	// With a copy recorded there, the record stays so the copy is not
	// orphaned.
	c := mustCreate(t, f)
	c.IsOnS3, c.S3Key = true, c.Filename
	if err := f.cat.UpdateBackup(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Delete(ctx, c.ID, alice); err == nil || !strings.Contains(err.Error(), "bucket does not exist") {
		t.Errorf("delete with its S3 copy unreachable: %v", err)
	}
	if _, err := f.cat.FindBackupByID(ctx, c.ID); err != nil {
		t.Errorf("the record of a backup whose copy could not be deleted is gone: %v", err)
	}
}

// undeletable is local storage whose files cannot be deleted.
type undeletable struct{ engine.LocalStorage }

func (undeletable) Delete(context.Context, string) error { return errors.New("permission denied") }

// A delete that removed the Drive copy but not the local file keeps the
// record, and the record no longer claims the Drive copy.
func TestDeleteRecordsRemovedCopiesWhenTheFileStays(t *testing.T) {
	ctx := context.Background()
	f := newDriveFixture(t)
	b := mustCreate(t, f.fixture)
	if !b.IsOnGoogleDrive {
		t.Fatalf("not uploaded: %+v", b)
	}
	f.eng.Storage = undeletable{f.eng.Storage}
	if _, err := f.eng.Delete(ctx, b.ID, alice); err == nil {
		t.Fatal("delete succeeded without removing the file")
	}
	got, err := f.cat.FindBackupByID(ctx, b.ID)
	if err != nil {
		t.Fatalf("record gone: %v", err)
	}
	if got.IsOnGoogleDrive || got.GoogleDriveFileID != "" {
		t.Errorf("record still claims the deleted Drive copy: %+v", got)
	}
	if _, ok := f.driveFile(b.Filename); ok {
		t.Errorf("the Drive copy is still there")
	}
}
