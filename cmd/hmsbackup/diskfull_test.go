package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// execSQLite runs stmts on the SQLite database at p.
func execSQLite(t *testing.T, p string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// querySQLite returns the one value q selects from the SQLite database at p.
func querySQLite(t *testing.T, p, q string) string {
	t.Helper()
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s string
	if err := db.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// wantFullDiskExit fails t unless r failed with exit status 6 and one line
// on stderr saying the disk is full, holding each of says, and no raw
// SQLite error.
func wantFullDiskExit(t *testing.T, what string, r cliResult, says ...string) {
	t.Helper()
	msg := strings.TrimSpace(r.stderr)
	if code := exitCode(r.err); r.err == nil || code != 6 {
		t.Errorf("%s: exit %d (%v), want 6", what, code, r.err)
	}
	if !strings.Contains(msg, "disk is full") || strings.Contains(msg, "\n") ||
		strings.Contains(msg, "(13)") || strings.Contains(msg, "(4874)") || strings.Contains(msg, "database or disk is full") {
		t.Errorf("%s: stderr %q, want one line saying the disk is full, without SQLite's raw error", what, msg)
	}
	for _, s := range says {
		if !strings.Contains(msg, s) {
			t.Errorf("%s: stderr %q does not say %q", what, msg, s)
		}
	}
}

// listAll returns every backup record (list --json) and list's stderr,
// which reports what the start-up clean-up did.
func listAll(t *testing.T, env map[string]string) ([]map[string]any, string) {
	t.Helper()
	r := mustOK(t, cliRun(t, env, "list", "--json"))
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	return list, r.stderr
}

// Issue 7, end to end, with the default layout: the catalog, the backups,
// the temp files and the SQLite database share one nearly full data disk.
// The restore's free-space check lets it start (the data compresses well,
// so the backups are small), but the pre-restore backup's snapshot, a
// whole copy of the database, does not fit. The restore exits 6 saying the
// disk is full and the database was not touched; the pre-restore backup is
// recorded failed with that reason, and no later command calls it
// interrupted. A backup on the disk once it is completely full exits 6
// too, saying so.
func TestRestoreOnANearlyFullDataDisk(t *testing.T) {
	dataDir := testutil.SmallTmpfs(t, "4m")
	dsn := filepath.Join(dataDir, "hms.db")
	execSQLite(t, dsn,
		"PRAGMA journal_mode = WAL",
		"CREATE TABLE notes (body TEXT)",
		"INSERT INTO notes VALUES (printf('%.1500000c', 'x'))", // 1.5 MB that gzip makes a few KB
		"CREATE TABLE ward (state TEXT)",
		"INSERT INTO ward VALUES ('at the backup')")
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_DB_DRIVER": "sqlite", "HMSBACKUP_DB_DSN": dsn}
	mustOK(t, cliRun(t, env, "create"))
	execSQLite(t, dsn, "UPDATE ward SET state = 'today'")
	list, _ := listAll(t, env)
	backupFile := fmt.Sprint(list[0]["filename"])

	// Leave 1.25 MiB free: more than the free-space check asks for (about
	// 1 MiB more than the small backup), less than the snapshot needs.
	filler := filepath.Join(dataDir, "filler")
	if err := os.Truncate(filler, testutil.FillDisk(t, filler)-1280<<10); err != nil {
		t.Fatal(err)
	}
	r := cliRun(t, env, "restore", "1", "--force")
	wantFullDiskExit(t, "restore", r, "the database was not touched")
	if got := querySQLite(t, dsn, "SELECT state FROM ward"); got != "today" {
		t.Errorf("the database was touched: ward is %q", got)
	}
	if got := backupDirEntries(dataDir); !slices.Equal(got, []string{backupFile}) {
		t.Errorf("backups directory holds %v, want only %s", got, backupFile)
	}
	if left, _ := os.ReadDir(filepath.Join(dataDir, "tmp")); len(left) != 0 {
		t.Errorf("temp directory holds %v", left)
	}

	// The disk fills up completely: a backup is refused, saying so.
	testutil.FillDisk(t, filepath.Join(dataDir, "filler2"))
	wantFullDiskExit(t, "create on the full disk", cliRun(t, env, "create"))

	for _, f := range []string{filler, filepath.Join(dataDir, "filler2")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	list, stderr := listAll(t, env)
	if strings.Contains(stderr, "interrupted") {
		t.Errorf("list's start-up clean-up said %q", stderr)
	}
	var pre []map[string]any
	for _, b := range list {
		if b["status"] == "pending" {
			t.Errorf("backup %v is still pending", b["id"])
		}
		if b["source"] == "pre_restore" {
			pre = append(pre, b)
		}
	}
	if len(pre) != 1 || pre[0]["status"] != "failed" || !strings.Contains(fmt.Sprint(pre[0]["error_message"]), "disk is full") {
		t.Errorf("pre-restore backups %v, want one failed because the disk is full", pre)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "catalog.db.reserve")); err != nil {
		t.Errorf("with room again, the catalog's reserve is not back: %v", err)
	}
}
