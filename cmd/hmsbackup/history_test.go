package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 7: a system-versioned table keeps its history through backup and
// restore; with a dump tool that cannot dump history, the backup says so
// (content_warning, a WARNING line, `show`) instead of losing it quietly.
func TestSystemVersionedHistoryIsKeptOrTheBackupSaysSo(t *testing.T) {
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "history_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx,
		"CREATE TABLE history_hms.admission_status (id INT PRIMARY KEY, status VARCHAR(20)) WITH SYSTEM VERSIONING",
		"INSERT INTO history_hms.admission_status VALUES (1, 'admitted')",
		"UPDATE history_hms.admission_status SET status = 'ward 3' WHERE id = 1",
		"UPDATE history_hms.admission_status SET status = 'discharged' WHERE id = 1",
	); err != nil {
		t.Fatal(err)
	}
	versions := func() string {
		return rootStrings(t, "SELECT COUNT(*) FROM history_hms.admission_status FOR SYSTEM_TIME ALL")[0]
	}
	if v := versions(); v != "3" {
		t.Fatalf("fixture has %s versions, want 3", v)
	}
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}
	r := mustOK(t, cliRun(t, env, "create", "--json"))
	if b := decodeBackup(t, r.stdout); b["content_warning"] != "" || strings.Contains(r.stderr, "WARNING") {
		t.Errorf("a backup with history says it lacks something: %v %s", b["content_warning"], r.stderr)
	}
	mustOK(t, cliRun(t, env, "restore", "1", "--force"))
	if v := versions(); v != "3" {
		t.Errorf("after the restore: %s versions, want 3", v)
	}

	// An older dump tool: the same, but its --help lacks --dump-history.
	real, err := exec.LookPath("mariadb-dump")
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old-mariadb-dump")
	script := fmt.Sprintf("#!/bin/sh\ncase \"$*\" in *--help*) %q --help | grep -v -- --dump-history; exit 0;; esac\nexec %q \"$@\"\n", real, real)
	if err := os.WriteFile(old, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env["HMSBACKUP_MYSQLDUMP"] = old
	r = mustOK(t, cliRun(t, env, "create", "--json"))
	b := decodeBackup(t, r.stdout)
	lacks, _ := b["content_warning"].(string)
	for _, want := range []string{"history of 1 system-versioned table (admission_status) is not in this backup", "--dump-history"} {
		if !strings.Contains(lacks, want) {
			t.Errorf("content_warning %q lacks %q", lacks, want)
		}
	}
	if !strings.Contains(r.stderr, "WARNING: the history of 1 system-versioned table") {
		t.Errorf("create printed no warning: %s", r.stderr)
	}
	if show := mustOK(t, cliRun(t, env, "show", fmt.Sprint(b["id"]))).stdout; !strings.Contains(show, "Lacks") || !strings.Contains(show, "admission_status") {
		t.Errorf("show does not say what the backup lacks:\n%s", show)
	}
}
