package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/storage/local"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// wantDiskFullError fails t unless err is EUNAVAILABLE (exit 6) and says
// the disk is full, without SQLite's raw "database or disk is full (13)".
func wantDiskFullError(t *testing.T, what string, err error) {
	t.Helper()
	if backup.ErrorCode(err) != backup.EUNAVAILABLE || !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("%s: %v (code %q), want EUNAVAILABLE saying the disk is full", what, err, backup.ErrorCode(err))
	}
	if err != nil && strings.Contains(err.Error(), "(13)") {
		t.Errorf("%s: %q shows SQLite's raw error", what, err)
	}
}

// records returns every backup record, newest first.
func (f *fixture) records(t *testing.T) []*backup.Backup {
	t.Helper()
	bs, _, err := f.cat.FindBackups(context.Background(), backup.BackupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// Issue 7: the data disk (catalog and backups) fills up while the
// pre-restore backup runs, after the free-space check let the restore
// start. The restore fails with EUNAVAILABLE (exit 6) saying the database
// was not touched and the disk is full; the pre-restore backup ends failed
// with that reason, not pending, so no later start calls it "interrupted
// (killed or crashed)"; no partial file is left.
func TestPreRestoreBackupOnAFullDiskEndsFailedAndTheRestoreSaysSo(t *testing.T) {
	ctx := context.Background()
	dir := testutil.SmallTmpfs(t, "4m")
	f := newFixtureIn(t, dir)
	b := f.create(t)
	today := make([]byte, 256<<10) // random: gzip cannot make it fit
	rand.Read(today)
	f.db.content = today

	// Fill the disk once the pre-restore backup's dump has begun: its
	// record is pending, and not a byte of its file is stored yet.
	f.db.dumping, f.db.hold = make(chan struct{}), make(chan struct{})
	type result struct {
		res *engine.RestoreResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: b.ID, Actor: alice})
		done <- result{res, err}
	}()
	<-f.db.dumping
	filler := filepath.Join(dir, "filler")
	testutil.FillDisk(t, filler)
	close(f.db.hold)
	r := <-done

	wantDiskFullError(t, "Restore", r.err)
	if r.err == nil || !strings.Contains(r.err.Error(), "the database was not touched") {
		t.Errorf("Restore: %v, want it to say the database was not touched", r.err)
	}
	if r.res.PreRestore != nil || !bytes.Equal(f.db.get(), today) {
		t.Errorf("the database was touched or a pre-restore backup counted (%v)", r.res.PreRestore)
	}
	if got := f.backupDirFiles(t); !slices.Equal(got, []string{b.Filename}) {
		t.Errorf("backup directory holds %v, want only %s (no partial file)", got, b.Filename)
	}
	wantPreRestoreFailedForFullDisk := func(when string) {
		t.Helper()
		bs := f.records(t)
		if len(bs) != 2 || bs[0].Source != backup.SourcePreRestore {
			t.Fatalf("%s: records %+v, want the backup and a pre-restore one", when, bs)
		}
		pre := bs[0]
		if pre.Status != backup.StatusFailed || !strings.Contains(pre.ErrorMessage, "disk is full") || pre.IsLocal {
			t.Errorf("%s: the pre-restore backup is %s, local %v, error %q; want failed because the disk is full", when, pre.Status, pre.IsLocal, pre.ErrorMessage)
		}
	}
	wantPreRestoreFailedForFullDisk("after the restore")

	// A later command's start-up clean-up, on the full disk and once
	// space is freed, finds nothing interrupted and keeps the reason.
	if n, err := f.eng.Recover(ctx); n != 0 || err != nil {
		t.Errorf("Recover on the full disk: %d, %v; want nothing to recover", n, err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if n, err := f.eng.Recover(ctx); n != 0 || err != nil {
		t.Errorf("Recover with room again: %d, %v; want nothing to recover", n, err)
	}
	wantPreRestoreFailedForFullDisk("after recovery")

	f.db.dumping, f.db.hold = nil, nil
	if _, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: b.ID, Actor: alice}); err != nil {
		t.Errorf("Restore with room again: %v", err)
	}
}

// createWhileFilling runs a backup and fills the disk at fill, first
// removing the files in spent, once the backup's dump has begun (its
// record is pending).
func (f *fixture) createWhileFilling(t *testing.T, fill string, spent ...string) (*backup.Backup, error) {
	t.Helper()
	f.db.dumping, f.db.hold = make(chan struct{}), make(chan struct{})
	defer func() { f.db.dumping, f.db.hold = nil, nil }()
	type result struct {
		b   *backup.Backup
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
		done <- result{b, err}
	}()
	<-f.db.dumping
	for _, p := range spent {
		if err := os.Remove(p); err != nil {
			t.Error(err)
		}
	}
	testutil.FillDisk(t, fill)
	close(f.db.hold)
	r := <-done
	return r.b, r.err
}

// Issue 7: the catalog's disk (here not the backups') fills up while a
// backup runs. The backup is still recorded completed: the catalog's
// reserve makes room for that. The next backup is refused before it
// starts, saying the disk is full, since nothing could record how it
// ends. And if the reserve is gone too (another process spent it), the
// backup's file is deleted (no record says it is complete) and the error
// says the disk is full and that the backup could not be recorded.
func TestBackupsWhileTheCatalogsDiskIsFull(t *testing.T) {
	ctx := context.Background()
	dir := testutil.SmallTmpfs(t, "1m")
	f := newFixtureIn(t, dir)
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f.eng.Storage, f.store = store, store
	filler := filepath.Join(dir, "filler")

	b, err := f.createWhileFilling(t, filler)
	if err != nil || b.Status != backup.StatusCompleted {
		t.Fatalf("a backup that ends on the full disk: %v; want it recorded completed", err)
	}
	if got, err := f.cat.FindBackupByID(ctx, b.ID); err != nil || got.Status != backup.StatusCompleted || !got.IsLocal {
		t.Errorf("its record: %+v, %v; want completed", got, err)
	}

	_, err = f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	wantDiskFullError(t, "a backup started on the full disk", err)
	if bs := f.records(t); len(bs) != 1 {
		t.Errorf("%d records after the refused backup, want 1", len(bs))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	b, err = f.createWhileFilling(t, filler, filepath.Join(dir, "catalog.db.reserve"))
	wantDiskFullError(t, "a backup whose end cannot be recorded", err)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("backup %d could not even be recorded as failed", b.ID)) {
		t.Errorf("a backup whose end cannot be recorded: %v, want it to say so", err)
	}
	if got := f.backupDirFiles(t); !slices.Equal(got, []string{f.records(t)[1].Filename}) {
		t.Errorf("backup directory holds %v, want only the first backup", got)
	}
}
