package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/dump/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// createBigDB creates a database at p holding size random bytes.
func createBigDB(t *testing.T, p string, size int) {
	t.Helper()
	blob := make([]byte, size)
	rand.Read(blob)
	db := openTestDB(t, p)
	defer db.Close()
	for _, q := range []string{"PRAGMA journal_mode = WAL", "CREATE TABLE scans (image BLOB)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO scans VALUES (?)", blob); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// wantFull fails t unless err is EUNAVAILABLE (exit 6) and its message
// says the disk is full and holds each of says, without SQLite's raw
// "database or disk is full (13)".
func wantFull(t *testing.T, what string, err error, says ...string) {
	t.Helper()
	if backup.ErrorCode(err) != backup.EUNAVAILABLE || !strings.Contains(err.Error(), "the disk is full") || strings.Contains(err.Error(), "(13)") {
		t.Fatalf("%s: %v (code %q), want EUNAVAILABLE saying the disk is full", what, err, backup.ErrorCode(err))
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: %q does not say %q", what, err, s)
		}
	}
}

// Issue 7: a snapshot that does not fit on the disk of the temp directory
// (VACUUM INTO fails with SQLITE_FULL) fails the dump with EUNAVAILABLE
// saying so and where, writes nothing and leaves no snapshot behind.
func TestDumpOnAFullDiskSaysSo(t *testing.T) {
	src := filepath.Join(t.TempDir(), "hms.db")
	createBigDB(t, src, 512<<10)
	tmp := testutil.SmallTmpfs(t, "256k")
	var out bytes.Buffer
	err := sqlite.New(src, tmp).Dump(context.Background(), &out)
	wantFull(t, "Dump", err, "staged in "+tmp)
	if out.Len() != 0 {
		t.Errorf("Dump wrote %d bytes", out.Len())
	}
	if left := listDir(t, tmp); len(left) != 0 {
		t.Errorf("the temp directory holds %v after the failed dump", left)
	}
}

// Issue 7: a restore whose copy does not fit next to the database fails
// with EUNAVAILABLE saying the disk is full and the database was left
// unchanged, which it is, and leaves no staged file behind.
func TestRestoreOnAFullDiskLeavesTheDatabaseUnchanged(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.db")
	createBigDB(t, big, 1<<20)
	dump := dump(t, sqlite.New(big, t.TempDir()))

	dir := testutil.SmallTmpfs(t, "512k")
	dst := filepath.Join(dir, "hms.db")
	createDB(t, dst, richSchema...)
	before := content(t, dst)
	err := sqlite.New(dst, t.TempDir()).Restore(context.Background(), bytes.NewReader(dump))
	wantFull(t, "Restore", err, dst+" was left unchanged")
	if got := content(t, dst); got != before {
		t.Errorf("the database changed:\n%s\nwant:\n%s", got, before)
	}
	if left := listDir(t, dir); !slices.Equal(left, []string{"hms.db"}) {
		t.Errorf("the database's directory holds %v, want only hms.db", left)
	}
}
