package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A dump tool that goes silent (stuck in a loop, waiting on a lock for
// ever) is stopped after HMSBACKUP_DUMP_STALL_TIMEOUT: the backup fails
// with a reason that says what to look for, and leaves no file, instead
// of hanging unseen.
func TestSilentDumpToolIsStopped(t *testing.T) {
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "stall_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE stall_hms.patients (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	started := filepath.Join(t.TempDir(), "dump-started")
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn,
		"HMSBACKUP_MYSQLDUMP": holdingTool(t, "mariadb-dump", started), "HMSBACKUP_DUMP_STALL_TIMEOUT": "1s"}
	r := cliRun(t, env, "create", "--json")
	if r.err == nil || !strings.Contains(r.stderr, "the dump tool wrote nothing for 1s") || !strings.Contains(r.stderr, "HMSBACKUP_DUMP_STALL_TIMEOUT") {
		t.Fatalf("a silent dump tool: err %v, stderr %q", r.err, r.stderr)
	}
	if !fileExists(started)() {
		t.Fatal("the wrapper never ran: the test proves nothing")
	}
	list := listBackups(t, env)
	if len(list) != 1 || list[0]["status"] != "failed" || !strings.Contains(list[0]["error_message"].(string), "wrote nothing") {
		t.Fatalf("the stalled backup's record: %v", list)
	}
	if files, _ := filepath.Glob(filepath.Join(env["HMSBACKUP_DATA_DIR"], "backups", "*")); len(files) != 0 {
		t.Fatalf("a stalled backup left files: %v", files)
	}
	// The next backup, with the real tool, works (the second run of the
	// wrapper passes through).
	mustOK(t, cliRun(t, env, "create"))
}
