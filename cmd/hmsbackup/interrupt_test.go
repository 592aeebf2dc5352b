package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdingTool writes a wrapper for tool that, on the first run doing real
// work (not --help, not the client's login check), creates started and
// sleeps, as a slow dump or load would; every later run is the real tool.
func holdingTool(t *testing.T, tool, started string) string {
	t.Helper()
	real, err := exec.LookPath(tool)
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "holding-"+tool)
	script := fmt.Sprintf(`#!/bin/sh
case "$*" in *--help*|*--execute*) exec %[1]q "$@";; esac
if [ ! -e %[2]q ]; then : > %[2]q; exec sleep 120; fi
exec %[1]q "$@"
`, real, started)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper
}

// waitFor polls cond (an event outside the test's process) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Issue 7: Ctrl-C works at every step of a restore. The terminal sends
// SIGINT to the whole process group (hmsbackup and its dump or client
// tool). Before the load the database stays untouched and nothing is left
// to warn about; during the load the pre-restore backup is put back.
// Every time the exit status is 130 and the next command sees no
// interrupted restore.
func TestCtrlCAtEveryStepOfARestore(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "sigint_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE sigint_hms.patients (id INT PRIMARY KEY, name TEXT)", "INSERT INTO sigint_hms.patients VALUES (1, 'Ada')",
		// Enough rows (about 30 MB) that the replayer is seen loading them.
		"CREATE TABLE sigint_hms.bulk (id INT PRIMARY KEY, pad VARCHAR(300))",
		"INSERT INTO sigint_hms.bulk SELECT seq, REPEAT('x', 200) FROM sigint_hms.seq_1_to_150000"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}
	mustOK(t, cliRun(t, env, "create"))
	// The live database moves on after the backup: a restore that went
	// through would lose Grace.
	if err := server.Exec(ctx, "INSERT INTO sigint_hms.patients VALUES (2, 'Grace')"); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(rootStrings(t, "SELECT CONCAT(id, name) FROM sigint_hms.patients ORDER BY id"), ",")
	root, err := sql.Open("mysql", server.RootDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	steps := []struct {
		name string
		// setUp returns the env changes and what shows the restore is at
		// the step; after the interrupt, tearDown lets go of what it held.
		setUp    func(t *testing.T) (map[string]string, func() bool, func())
		wantText string
	}{
		{
			name: "waiting for another session's table lock",
			setUp: func(t *testing.T) (map[string]string, func() bool, func()) {
				conn, err := root.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
					t.Fatal(err)
				}
				var n int
				if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM sigint_hms.patients").Scan(&n); err != nil {
					t.Fatal(err)
				}
				waiting := func() bool {
					var n int
					root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for table metadata lock' AND INFO LIKE 'LOCK TABLES%'").Scan(&n)
					return n > 0
				}
				return nil, waiting, func() { conn.ExecContext(ctx, "ROLLBACK"); conn.Close() }
			},
			wantText: "the database was not touched",
		},
		{
			name: "taking the pre-restore backup",
			setUp: func(t *testing.T) (map[string]string, func() bool, func()) {
				started := filepath.Join(t.TempDir(), "dump-started")
				return map[string]string{"HMSBACKUP_MYSQLDUMP": holdingTool(t, "mariadb-dump", started)}, fileExists(started), func() {}
			},
			wantText: "restore interrupted while taking the pre-restore backup; the database was not touched",
		},
		{
			name: "loading the backup with the client",
			setUp: func(t *testing.T) (map[string]string, func() bool, func()) {
				started := filepath.Join(t.TempDir(), "load-started")
				return map[string]string{"HMSBACKUP_MYSQL": holdingTool(t, "mariadb", started), "HMSBACKUP_RESTORE_METHOD": "client"}, fileExists(started), func() {}
			},
			wantText: "restore of backup 1 was interrupted; the database was put back as it was before",
		},
		{
			name: "loading the backup with the replayer",
			setUp: func(t *testing.T) (map[string]string, func() bool, func()) {
				loading := func() bool {
					var n int
					root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = 'sigint_hms' AND INFO LIKE 'INSERT INTO `bulk`%'").Scan(&n)
					return n > 0
				}
				return map[string]string{"HMSBACKUP_RESTORE_PARALLEL": "2"}, loading, func() {}
			},
			wantText: "restore of backup 1 was interrupted; the database was put back as it was before",
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			extra, atStep, tearDown := step.setUp(t)
			cmd := exec.Command(bin, "restore", "1", "--force")
			cmd.Env = envList(env)
			for k, v := range extra {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			waitFor(t, step.name, atStep)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			err := cmd.Wait()
			tearDown()
			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit %d (%v), want 130\n%s", code, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "Interrupted: stopping safely") {
				t.Errorf("no word that the interrupt was heard:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), step.wantText) {
				t.Errorf("stderr does not say %q:\n%s", step.wantText, stderr.String())
			}
			if got := strings.Join(rootStrings(t, "SELECT CONCAT(id, name) FROM sigint_hms.patients ORDER BY id"), ","); got != want {
				t.Errorf("patients after the interrupt: %s, want %s", got, want)
			}
			r := mustOK(t, cliRun(t, env, "list", "--json"))
			if strings.Contains(r.stderr, "WARNING") {
				t.Errorf("the next command warns:\n%s", r.stderr)
			}
			if strings.Contains(r.stdout, `"status": "pending"`) {
				t.Errorf("a record was left pending:\n%s", r.stdout)
			}
		})
	}
}

func fileExists(path string) func() bool {
	return func() bool {
		_, err := os.Stat(path)
		return err == nil
	}
}
