package sqlite_test

import (
	"errors"
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

// Issue 7: every write to a catalog whose disk is full fails with
// EUNAVAILABLE (exit 6), saying so, not with SQLite's raw "database or disk
// is full (13)"; reads go on working, and once there is room again, so do
// writes.
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
	filler := filepath.Join(dir, "filler")
	testutil.FillDisk(t, filler)

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
	removeFile(t, filler)
	if err := c.UpdateBackup(ctx, b); err != nil {
		t.Errorf("UpdateBackup with room again: %v", err)
	}
}

// Issue 7: opening a catalog on a full disk, when SQLite has to create its
// -shm file and fails with SQLITE_IOERR_SHMSIZE ("disk I/O error (4874)"),
// is EUNAVAILABLE and says the disk is full.
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
	testutil.FillDisk(t, filepath.Join(dir, "filler"))
	c, err = sqlite.Open(ctx, path)
	if err == nil {
		c.Close()
		t.Fatal("Open on a full disk succeeded, want an error saying the disk is full")
	}
	wantDiskFull(t, "Open", err, path)
}

func removeFile(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
