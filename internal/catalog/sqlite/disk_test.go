package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// wantDiskFull fails t unless err is EUNAVAILABLE, says that the catalog at
// path cannot be written because the disk is full and what to do, shows no
// raw SQLite error ("database or disk is full (13)"), and still wraps
// SQLite's error with a disk-full or I/O result code.
func wantDiskFull(t *testing.T, what string, err error, path string) {
	t.Helper()
	if backup.ErrorCode(err) != backup.EUNAVAILABLE {
		t.Errorf("%s on a full disk: %v (code %q), want EUNAVAILABLE", what, err, backup.ErrorCode(err))
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, "the catalog "+path+" cannot be written: the disk is full; free space on the disk holding "+filepath.Dir(path)) ||
		!strings.Contains(msg, "then try again") {
		t.Errorf("%s on a full disk says %q; want that the catalog %s cannot be written because the disk is full, and what to do", what, msg, path)
	}
	if strings.Contains(msg, "(13)") || strings.Contains(msg, "(4874)") || strings.Contains(msg, "database or disk is full") {
		t.Errorf("%s on a full disk says %q, with SQLite's raw message", what, msg)
	}
	var se *sqlitedriver.Error
	if !errors.As(err, &se) || (se.Code()&0xff != sqlite3.SQLITE_FULL && se.Code()&0xff != sqlite3.SQLITE_IOERR) {
		t.Errorf("%s on a full disk: %v does not wrap SQLite's disk-full error", what, err)
	}
}

// Issue 7: a backup that fills the disk can still be recorded as failed:
// the catalog keeps a reserve of room for that, which a write failing for
// a full disk spends. A new pending backup is refused, saying the disk is
// full, while there is no room for the reserve again: its end could not
// be recorded.
func TestTheReserveRecordsHowABackupEndsOnAFullDisk(t *testing.T) {
	ctx := t.Context()
	dir := testutil.SmallTmpfs(t, "1m")
	path := filepath.Join(dir, "catalog.db")
	c, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := &backup.Backup{Filename: "hms_backup_1.sql.gz", Status: backup.StatusPending, Source: backup.SourceManualCLI}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	testutil.FillDisk(t, filler)

	b.Status, b.ErrorMessage = backup.StatusFailed, "the backup disk is full"
	if err := c.UpdateBackup(ctx, b); err != nil {
		t.Fatalf("UpdateBackup of the pending backup on a full disk: %v", err)
	}
	if err := c.AddAuditEntry(ctx, &backup.AuditEntry{Actor: "cli:alice", Action: backup.ActionCreate, Outcome: "failure"}); err != nil {
		t.Errorf("AddAuditEntry after it: %v", err)
	}
	if got, err := c.FindBackupByID(ctx, b.ID); err != nil || got.Status != backup.StatusFailed || got.ErrorMessage != b.ErrorMessage {
		t.Errorf("record on the full disk: %+v, %v; want it failed with its reason", got, err)
	}

	next := &backup.Backup{Filename: "hms_backup_2.sql.gz", Status: backup.StatusPending, Source: backup.SourceManualCLI}
	err = c.CreateBackup(ctx, next)
	if backup.ErrorCode(err) != backup.EUNAVAILABLE || !strings.Contains(fmt.Sprint(err), "the disk is full") ||
		!strings.Contains(fmt.Sprint(err), "free space on the disk holding "+dir) {
		t.Errorf("a new pending backup on the full disk: %v, want EUNAVAILABLE saying the disk is full and what to do", err)
	}
	if _, n, err := c.FindBackups(ctx, backup.BackupFilter{}); n != 1 || err != nil {
		t.Errorf("%d records (%v) after the refused backup, want 1", n, err)
	}

	removeFile(t, filler)
	if err := c.CreateBackup(ctx, next); err != nil {
		t.Errorf("a new pending backup with room again: %v", err)
	}
	if fi, err := os.Stat(path + ".reserve"); err != nil || fi.Size() != 256<<10 {
		t.Errorf("the reserve is not back: %v", err)
	}
}

// Issue 7: once the reserve is spent, every write to a catalog whose disk
// is full fails with EUNAVAILABLE (exit 6), saying so, not with SQLite's
// raw "database or disk is full (13)"; reads go on working, and once there
// is room again, so do writes.
func TestWritesOnAFullDiskSaySoAndAreUnavailable(t *testing.T) {
	ctx := t.Context()
	dir := testutil.SmallTmpfs(t, "1m")
	path := filepath.Join(dir, "catalog.db")
	c, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := &backup.Backup{Filename: "hms_backup_1.sql.gz", Status: backup.StatusCompleted, Source: backup.SourceManualCLI}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	fillers := []string{filepath.Join(dir, "filler1"), filepath.Join(dir, "filler2")}
	testutil.FillDisk(t, fillers[0])
	if err := c.SetProtected(ctx, b.ID, false); err != nil { // spends the reserve
		t.Fatal(err)
	}
	testutil.FillDisk(t, fillers[1])

	wantDiskFull(t, "CreateBackup", c.CreateBackup(ctx, &backup.Backup{Filename: "hms_backup_2.sql.gz", Status: backup.StatusFailed, Source: backup.SourceManualCLI}), path)
	b.Warning = "changed"
	wantDiskFull(t, "UpdateBackup", c.UpdateBackup(ctx, b), path)
	wantDiskFull(t, "SetProtected", c.SetProtected(ctx, b.ID, true), path)
	wantDiskFull(t, "AddAuditEntry", c.AddAuditEntry(ctx, &backup.AuditEntry{Actor: "cli:alice", Action: backup.ActionCreate}), path)
	wantDiskFull(t, "SaveSettings", c.SaveSettings(ctx, backup.DefaultSettings()), path)
	wantDiskFull(t, "DeleteBackup", c.DeleteBackup(ctx, b.ID), path)

	if got, err := c.FindBackupByID(ctx, b.ID); err != nil || got.Warning != "" {
		t.Errorf("FindBackupByID on a full disk: %+v, %v; want the record as it was", got, err)
	}
	for _, f := range fillers {
		removeFile(t, f)
	}
	if err := c.UpdateBackup(ctx, b); err != nil {
		t.Errorf("UpdateBackup with room again: %v", err)
	}
}

// Issue 7: opening a catalog on a full disk, when SQLite has to create its
// -shm file and fails with SQLITE_IOERR_SHMSIZE ("disk I/O error (4874)"),
// spends the reserve; without one, it is EUNAVAILABLE and says the disk is
// full.
func TestOpenOnAFullDiskSaysSo(t *testing.T) {
	ctx := t.Context()
	dir := testutil.SmallTmpfs(t, "1m")
	path := filepath.Join(dir, "catalog.db")
	c, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil { // the last connection removes -wal and -shm
		t.Fatal(err)
	}
	testutil.FillDisk(t, filepath.Join(dir, "filler1"))
	if c, err = sqlite.Open(ctx, path); err != nil {
		t.Fatalf("Open on a full disk, with the reserve: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.FillDisk(t, filepath.Join(dir, "filler2"))
	c, err = sqlite.Open(ctx, path)
	if err == nil {
		c.Close()
		t.Fatal("Open on a full disk without the reserve succeeded, want an error saying the disk is full")
	}
	wantDiskFull(t, "Open", err, path)
}

func removeFile(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
