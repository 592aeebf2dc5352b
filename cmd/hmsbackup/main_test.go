package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/testutil"

	_ "github.com/go-sql-driver/mysql"
)

// server is the package's MariaDB, started by TestMain.
var server *testutil.MariaDB

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithMariaDB(m, func(db *testutil.MariaDB) { server = db }))
}

// cliRun runs the CLI in-process with env as its whole environment.
type cliResult struct {
	err            error
	stdout, stderr string
}

func cliRunIn(t *testing.T, env map[string]string, stdin string, terminal bool, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		isTerminal: func(any) bool { return terminal }}
	err := c.execute(context.Background(), args)
	if err != nil {
		fmt.Fprintln(&errb, "hmsbackup: "+oneLine(err.Error()))
	}
	return cliResult{err: err, stdout: out.String(), stderr: errb.String()}
}

func cliRun(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	return cliRunIn(t, env, "", false, args...)
}

func mustOK(t *testing.T, r cliResult) cliResult {
	t.Helper()
	if r.err != nil {
		t.Fatalf("command failed: %v\nstderr: %s", r.err, r.stderr)
	}
	return r
}

// stableFields are the JSON names of PRODUCT.md's interface.
var stableFields = []string{"id", "filename", "file_size", "file_path", "google_drive_file_id", "status", "source",
	"is_protected", "created_by", "completed_at", "error_message", "created_at", "sha256", "is_local", "is_on_google_drive"}

func decodeBackup(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	for _, f := range stableFields {
		if _, ok := m[f]; !ok {
			t.Errorf("JSON lacks stable field %q", f)
		}
	}
	return m
}

func TestFirstRunBacksUpSampleDatabaseAndManagesIt(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dir}

	r := mustOK(t, cliRun(t, env, "create", "--json"))
	if !strings.Contains(r.stderr, "SAMPLE") {
		t.Errorf("first run did not say it created sample data: %q", r.stderr)
	}
	b := decodeBackup(t, r.stdout)
	if b["status"] != "completed" || b["source"] != "manual_cli" || b["file_size"].(float64) <= 0 || b["is_local"] != true {
		t.Fatalf("created backup %v", b)
	}
	name := b["filename"].(string)
	if !strings.HasPrefix(name, "hms_backup_") || !strings.HasSuffix(name, ".sqlite.gz") {
		t.Errorf("file name %q, want hms_backup_YYYYMMDD_HHMMSS.sqlite.gz", name)
	}
	if got, want := b["file_path"], filepath.Join(dir, "backups", name); got != want {
		t.Errorf("file_path %v, want %v", got, want)
	}
	// Stdout is only the JSON: nothing else for a script to trip over.
	if r2 := mustOK(t, cliRun(t, env, "backup:create", "--source", "ui", "--json")); decodeBackup(t, r2.stdout)["source"] != "manual_ui" {
		t.Errorf("alias backup:create --source ui: %s", r2.stdout)
	}

	var list []map[string]any
	if err := json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "list", "--json")).stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("list --json: %v, %d entries", err, len(list))
	}
	if list[0]["id"].(float64) <= list[1]["id"].(float64) {
		t.Errorf("list is not newest first: %v then %v", list[0]["id"], list[1]["id"])
	}
	if r := mustOK(t, cliRun(t, env, "list")); !strings.Contains(r.stdout, name) || !strings.Contains(r.stdout, "completed") {
		t.Errorf("list table lacks the backup:\n%s", r.stdout)
	}
	if s := decodeBackup(t, mustOK(t, cliRun(t, env, "show", "1", "--json")).stdout); s["sha256"] != b["sha256"] {
		t.Errorf("show 1: sha %v, want %v", s["sha256"], b["sha256"])
	}
	mustOK(t, cliRun(t, env, "verify", "1"))

	// download: the exact stored bytes.
	out := filepath.Join(t.TempDir(), "copy.gz")
	mustOK(t, cliRun(t, env, "download", "1", "-o", out))
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != b["sha256"] {
		t.Errorf("downloaded file's sha256 differs from the catalog's")
	}

	// restore needs confirmation; --force restores and keeps a pre-restore backup.
	if r := cliRun(t, env, "restore", "1"); exitCode(r.err) != 2 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("restore without terminal or --force: exit %d, %q", exitCode(r.err), r.stderr)
	}
	mustOK(t, cliRun(t, env, "backup:restore", "1", "--force"))
	var pre []map[string]any
	json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "list", "--json")).stdout), &pre)
	if len(pre) != 3 || pre[0]["source"] != "pre_restore" {
		t.Errorf("after restore the newest backup is %v, want a pre_restore backup", pre[0])
	}

	// delete removes file and record.
	if r := cliRun(t, env, "delete", "1"); r.err == nil {
		t.Error("delete without terminal or --force succeeded")
	}
	mustOK(t, cliRun(t, env, "delete", "1", "--force"))
	if _, err := os.Stat(b["file_path"].(string)); !os.IsNotExist(err) {
		t.Errorf("file still there after delete: %v", err)
	}
	if r := cliRun(t, env, "show", "1"); exitCode(r.err) != 3 {
		t.Errorf("show deleted backup: exit %d, want 3 (not found)", exitCode(r.err))
	}
}

func TestRestorePromptAsksForTheDatabaseName(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	mustOK(t, cliRun(t, env, "create"))
	r := cliRunIn(t, env, "wrong\n", true, "restore", "1")
	if r.err == nil || !strings.Contains(r.stderr, `Type the database name (hms)`) || !strings.Contains(r.stderr, "cancelled") {
		t.Fatalf("wrong answer: err %v, stderr %q", r.err, r.stderr)
	}
	mustOK(t, cliRunIn(t, env, "hms\n", true, "restore", "1"))
}

func TestErrorsAreOneLineWithDistinctExitCodes(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	mustOK(t, cliRun(t, env, "list")) // first run: creates the sample database
	cases := []struct {
		args []string
		env  map[string]string
		code int
		want string
	}{
		{[]string{"show", "999"}, nil, 3, "not found"},
		{[]string{"show", "abc"}, nil, 2, "not a backup ID"},
		{[]string{"create", "--source", "moon"}, nil, 2, "unknown backup source"},
		{[]string{"create"}, map[string]string{"HMSBACKUP_DB_DRIVER": "oracle"}, 2, "HMSBACKUP_DB_DRIVER"},
		{[]string{"create"}, map[string]string{"HMSBACKUP_DB_DRIVER": "mysql"}, 2, "HMSBACKUP_DB_DSN is not set"},
		{[]string{"create"}, map[string]string{"HMSBACKUP_DB_DSN": "/nonexistent/hms.db"}, 6, "/nonexistent/hms.db"},
		{[]string{"create"}, map[string]string{"HMSBACKUP_TIMEZONE": "Mars/Olympus"}, 2, "time zone"},
	}
	for _, c := range cases {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range c.env {
			e[k] = v
		}
		r := cliRun(t, e, c.args...)
		if got := exitCode(r.err); got != c.code {
			t.Errorf("%v: exit %d, want %d (%v)", c.args, got, c.code, r.err)
		}
		if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(c.want)) {
			t.Errorf("%v: stderr %q, want one line mentioning %q", c.args, r.stderr, c.want)
		}
	}
}

func TestMySQLThroughTheCLI(t *testing.T) {
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "cli_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE cli_hms.patients (id INT PRIMARY KEY, name VARCHAR(50))", "INSERT INTO cli_hms.patients VALUES (1, 'Zoë 🏥')"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}
	r := mustOK(t, cliRun(t, env, "create", "--json"))
	b := decodeBackup(t, r.stdout)
	if !strings.HasSuffix(b["filename"].(string), ".sql.gz") || b["db_engine"] != "mysql" {
		t.Errorf("mysql backup %v", b)
	}
	if err := server.Exec(ctx, "DROP TABLE cli_hms.patients", "CREATE TABLE cli_hms.intruder (x INT)"); err != nil {
		t.Fatal(err)
	}
	mustOK(t, cliRun(t, env, "restore", fmt.Sprint(b["id"]), "--force"))
	tables := rootStrings(t, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'cli_hms' ORDER BY 1")
	if strings.Join(tables, ",") != "patients" {
		t.Errorf("tables after restore: %v, want [patients]", tables)
	}
	// zstd works the same way.
	env["HMSBACKUP_COMPRESSION"] = "zstd"
	z := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if !strings.HasSuffix(z["filename"].(string), ".sql.zst") {
		t.Errorf("zstd file name %v", z["filename"])
	}
	mustOK(t, cliRun(t, env, "restore", fmt.Sprint(z["id"]), "--force"))
	// The password never reaches the catalog or any output.
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, "p'a") {
			t.Errorf("password leaked into output: %s", s)
		}
	}
	filepath.WalkDir(env["HMSBACKUP_DATA_DIR"], func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, _ := os.ReadFile(path)
			if bytes.Contains(data, []byte(`p'a"s`)) {
				t.Errorf("password stored in %s", path)
			}
		}
		return nil
	})
}

// rootStrings runs a query as the server's root and returns the first column.
func rootStrings(t *testing.T, query string) []string {
	t.Helper()
	db, err := sql.Open("mysql", server.RootDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestAuditTrailNamesTheOSUserForEveryOperation(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	mustOK(t, cliRun(t, env, "create"))
	mustOK(t, cliRun(t, env, "verify", "1"))
	mustOK(t, cliRun(t, env, "download", "1", "-o", filepath.Join(t.TempDir(), "x")))
	mustOK(t, cliRun(t, env, "restore", "1", "--force"))
	mustOK(t, cliRun(t, env, "delete", "1", "--force"))
	cliRun(t, env, "verify", "1") // fails: deleted; still audited

	var entries []struct {
		Actor, Action, Outcome string
		BackupID               *int64 `json:"backup_id"`
	}
	if err := json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "audit", "--json", "--backup", "1")).stdout), &entries); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if !strings.HasPrefix(e.Actor, "cli:") || e.BackupID == nil || *e.BackupID != 1 {
			t.Errorf("entry %+v: want actor cli:<user> and backup 1", e)
		}
		got = append(got, e.Action+":"+e.Outcome)
	}
	want := "create:success verify:success download:success restore:success delete:success verify:failure"
	if strings.Join(got, " ") != want {
		t.Errorf("audit of backup 1:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestCheckReportsReachabilityAndLastGoodBackup(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	r := mustOK(t, cliRun(t, env, "check"))
	if !strings.Contains(r.stdout, "reachable:  yes") || !strings.Contains(r.stdout, "none yet") {
		t.Errorf("check on a fresh install:\n%s", r.stdout)
	}
	b := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if r := mustOK(t, cliRun(t, env, "check")); !strings.Contains(r.stdout, "last good:  backup 1") || !strings.Contains(r.stdout, "integrity unverified") {
		t.Errorf("check after a backup:\n%s", r.stdout)
	}
	// Issue 7: a backup verify finds corrupt is not "good" any more, and
	// list and show say so.
	path := b["file_path"].(string)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cliRun(t, env, "verify", "1"); r.err == nil {
		t.Fatal("verify of a damaged file passed")
	}
	if r := mustOK(t, cliRun(t, env, "check")); !strings.Contains(r.stdout, "last good:  NONE") {
		t.Errorf("check after verify found backup 1 corrupt:\n%s", r.stdout)
	}
	if r := mustOK(t, cliRun(t, env, "list")); !strings.Contains(r.stdout, "(CORRUPT)") {
		t.Errorf("list does not flag the corrupt backup:\n%s", r.stdout)
	}
	if s := decodeBackup(t, mustOK(t, cliRun(t, env, "show", "1", "--json")).stdout); s["integrity"] != "corrupt" || s["verified_at"] == nil {
		t.Errorf("show --json of the corrupt backup: integrity %v, verified_at %v", s["integrity"], s["verified_at"])
	}
	mustOK(t, cliRun(t, env, "create"))
	mustOK(t, cliRun(t, env, "verify", "2"))
	if r := mustOK(t, cliRun(t, env, "check")); !strings.Contains(r.stdout, "last good:  backup 2") || !strings.Contains(r.stdout, "integrity ok") {
		t.Errorf("check after a new, verified backup:\n%s", r.stdout)
	}
	env["HMSBACKUP_DB_DRIVER"] = "mysql"
	env["HMSBACKUP_DB_DSN"] = "hms:pw@tcp(127.0.0.1:1)/hms"
	if r := cliRun(t, env, "check"); exitCode(r.err) != 6 || !strings.Contains(r.stdout, "reachable:  NO") {
		t.Errorf("check of an unreachable server: exit %d\n%s%s", exitCode(r.err), r.stdout, r.stderr)
	}
}

// afterWriter records writes made after its owner's command returned.
type afterWriter struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	returned bool
	late     int
}

func (w *afterWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.returned {
		w.late++
	}
	return w.buf.Write(p)
}

// On a terminal, create and restore draw one bar per phase, and every bar
// is finished when the command returns: no spinner goes on drawing over
// what the shell prints next (it did, and raced with the command's output).
func TestProgressBarsEndWithTheirCommand(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	run := func(args ...string) string {
		w := &afterWriter{}
		c := &cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: w,
			isTerminal: func(any) bool { return true }}
		if err := c.execute(context.Background(), args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		w.mu.Lock()
		w.returned = true
		w.mu.Unlock()
		time.Sleep(350 * time.Millisecond) // three spinner ticks
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.late > 0 {
			t.Errorf("%v: %d writes to stderr after the command returned", args, w.late)
		}
		return w.buf.String()
	}
	if out := run("create"); !strings.Contains(out, "backup") {
		t.Errorf("create drew no bar: %q", out)
	}
	out := run("restore", "1", "--force")
	for _, want := range []string{"pre-restore backup", "restore", "100%"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore's bars lack %q: %q", want, out)
		}
	}
}
