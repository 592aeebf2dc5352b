package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// buildBinary compiles hmsbackup for tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hmsbackup")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func envList(env map[string]string) []string {
	list := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

func listJSON(t *testing.T, bin string, env map[string]string) ([]map[string]any, string) {
	t.Helper()
	cmd := exec.Command(bin, "list", "--json")
	cmd.Env = envList(env)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("list: %v\n%s", err, stderr.String())
	}
	var list []map[string]any
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	return list, stderr.String()
}

// backupDirEntries lists the backup directory (nothing if it is missing).
func backupDirEntries(dataDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(dataDir, "backups"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A backup process killed with SIGKILL mid-dump leaves a pending record and
// a partial file; the next start marks the record failed and removes the
// file.
func TestKill9DuringBackupIsRecoveredAtNextStart(t *testing.T) {
	bin := buildBinary(t)
	dsn, err := server.NewDatabase(context.Background(), "kill_hms")
	if err != nil {
		t.Fatal(err)
	}
	// A dump tool that streams a few MB and then hangs, like a slow mysqldump.
	slow := filepath.Join(t.TempDir(), "slow-dump")
	script := "#!/bin/sh\nprintf -- '-- MariaDB dump\\n'\nhead -c 4000000 /dev/urandom | base64\nexec sleep 120\n"
	if err := os.WriteFile(slow, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn, "HMSBACKUP_MYSQLDUMP": slow}

	cmd := exec.Command(bin, "create")
	cmd.Env = envList(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the orphaned dump tool
	// Wait until part of the backup is on disk.
	deadline := time.Now().Add(30 * time.Second)
	for {
		partial := false
		for _, n := range backupDirEntries(dataDir) {
			if fi, err := os.Stat(filepath.Join(dataDir, "backups", n)); err == nil && strings.HasSuffix(n, ".partial") && fi.Size() > 0 {
				partial = true
			}
		}
		if partial {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backup never started writing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	list, stderr := listJSON(t, bin, env)
	if len(list) != 1 || list[0]["status"] != "failed" || !strings.Contains(list[0]["error_message"].(string), "interrupted") {
		t.Fatalf("after kill -9 and restart: %v, want one failed (interrupted) backup", list)
	}
	if !strings.Contains(stderr, "interrupted by a crash") {
		t.Errorf("restart did not say it recovered: %q", stderr)
	}
	if left := backupDirEntries(dataDir); len(left) != 0 {
		t.Errorf("files left after recovery: %v", left)
	}
}

// A backup that fills a real (tmpfs) disk fails with a message saying so,
// is recorded failed, and leaves no partial file.
func TestFullDiskOnTmpfs(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "full_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx,
		"CREATE TABLE full_hms.scans (id INT PRIMARY KEY, image LONGBLOB)",
		"INSERT INTO full_hms.scans SELECT seq, RANDOM_BYTES(1024) FROM full_hms.seq_1_to_4000",
	); err != nil {
		t.Fatal(err)
	}
	dataDir := testutil.SmallTmpfs(t, "1m")
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}

	cmd := exec.Command(bin, "create")
	cmd.Env = envList(env)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 6 {
		t.Fatalf("create on a full disk: exit %d (%v), want 6", code, err)
	}
	if msg := stderr.String(); !strings.Contains(msg, "disk is full") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("stderr %q, want one line saying the disk is full", msg)
	}
	list, _ := listJSON(t, bin, env)
	if len(list) != 1 || list[0]["status"] != "failed" || !strings.Contains(fmt.Sprint(list[0]["error_message"]), "disk is full") {
		t.Errorf("catalog after full disk: %v", list)
	}
	if left := backupDirEntries(dataDir); len(left) != 0 {
		t.Errorf("files left on the full disk: %v", left)
	}
}

// Issue 7: a command started while a restore runs says the restore is
// running (with its pid), not that it was interrupted; once the restoring
// process is killed, the next command warns and names the pre-restore
// backup.
func TestRunningRestoreIsNotAnAlarmButAKilledOneIs(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "busy_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE busy_hms.patients (id INT PRIMARY KEY)", "INSERT INTO busy_hms.patients VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}
	mustOK(t, cliRun(t, env, "create"))
	cmd := startHeldRestore(t, bin, env, "1")
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_, stderr := listJSON(t, bin, env)
	if !strings.Contains(stderr, "a restore of backup 1 (") || !strings.Contains(stderr, "is running (pid "+fmt.Sprint(cmd.Process.Pid)) || strings.Contains(stderr, "WARNING") {
		t.Errorf("during the restore, list said %q; want that restore 1 is running in pid %d, and no warning", stderr, cmd.Process.Pid)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	_, stderr = listJSON(t, bin, env)
	if !strings.Contains(stderr, "WARNING") || !strings.Contains(stderr, "did not finish") || !strings.Contains(stderr, "pre-restore backup 2") {
		t.Errorf("after kill -9 of the restore, list said %q; want the warning naming pre-restore backup 2", stderr)
	}
}

// Issue 7: a restore of a database on which other sessions keep a
// transaction open waits at most HMSBACKUP_RESTORE_LOCK_TIMEOUT, then gives
// up with the database untouched (no object dropped, no rollback, no
// interrupted-restore warning), naming the sessions it can see; once they
// let go, the restore goes through.
func TestRestoreOfABusyDatabaseGivesUpUntouched(t *testing.T) {
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "locked_hms")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for _, stmt := range []string{
		"CREATE TABLE patients (id INT PRIMARY KEY, name TEXT)",
		"CREATE TABLE attachments (id INT PRIMARY KEY, patient_id INT, FOREIGN KEY (patient_id) REFERENCES patients(id))",
		"INSERT INTO patients VALUES (1, 'Ada'), (2, 'Grace')",
		"INSERT INTO attachments VALUES (10, 1)",
		"CREATE VIEW names AS SELECT name FROM patients",
		"CREATE PROCEDURE count_patients() SELECT COUNT(*) FROM patients",
	} {
		if _, err := owner.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	owner.Close()
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn,
		"HMSBACKUP_RESTORE_LOCK_TIMEOUT": "2s"}
	mustOK(t, cliRun(t, env, "create"))
	root, err := sql.Open("mysql", server.RootDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	objects := func() string {
		var n int
		root.QueryRow(`SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'locked_hms')
			+ (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'locked_hms')
			+ (SELECT COUNT(*) FROM locked_hms.patients)`).Scan(&n)
		return fmt.Sprint(n)
	}
	before := objects()

	for _, who := range []struct {
		name, dsn, want string
	}{
		{"the backup user", dsn, "Sessions on it: id "},
		{"root, invisible to the backup user", server.RootDSN(), "No other session on it is visible to this user"},
	} {
		// Only the blocker's session is on the database (earlier ones have
		// ended), so the message shows exactly what the user can see.
		user := strings.SplitN(dsn, ":", 2)[0]
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var n int
			root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?", user).Scan(&n)
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d sessions of %s linger", n, user)
			}
		}
		blocker, err := sql.Open("mysql", who.dsn)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := blocker.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// An open transaction that has read a table, as an HMS worker's.
		if _, err := conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM locked_hms.attachments").Scan(&n); err != nil {
			t.Fatal(err)
		}
		r := cliRun(t, env, "restore", "1", "--force")
		if backup.ErrorCode(r.err) != backup.EBUSY || !strings.Contains(r.stderr, "nothing was changed") || !strings.Contains(r.stderr, who.want) || !strings.Contains(r.stderr, "HMSBACKUP_RESTORE_LOCK_TIMEOUT") {
			t.Errorf("blocked by %s: %v\n%s", who.name, r.err, r.stderr)
		}
		if strings.Contains(r.stderr, "rolled back") || strings.Contains(r.stderr, "put back") {
			t.Errorf("blocked by %s: the restore says it rolled back, though it never started:\n%s", who.name, r.stderr)
		}
		if got := objects(); got != before {
			t.Errorf("blocked by %s: the database changed (%s objects and rows, was %s)", who.name, got, before)
		}
		if r := mustOK(t, cliRun(t, env, "list")); strings.Contains(r.stderr, "WARNING") {
			t.Errorf("blocked by %s: the next command warns of an interrupted restore:\n%s", who.name, r.stderr)
		}
		conn.ExecContext(ctx, "COMMIT")
		conn.Close()
		blocker.Close()
	}
	// With the transactions gone the restore goes through.
	mustOK(t, cliRun(t, env, "restore", "1", "--force"))
	if got := objects(); got != before {
		t.Errorf("after the restore: %s objects and rows, want %s", got, before)
	}
}

// Issue 7: with the DSN pointed at another database, restoring a backup of
// the first is refused (naming both) unless --into names the target.
func TestRestoreIntoAnotherDatabaseThroughTheCLI(t *testing.T) {
	ctx := context.Background()
	first, err := server.NewDatabase(ctx, "into_first")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE into_first.patients (id INT PRIMARY KEY)", "INSERT INTO into_first.patients VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	second, err := server.NewDatabase(ctx, "into_second")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE into_second.visits (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": first}
	mustOK(t, cliRun(t, env, "create"))
	env["HMSBACKUP_DB_DSN"] = second
	r := cliRun(t, env, "restore", "1", "--force")
	if exitCode(r.err) != 2 || !strings.Contains(r.stderr, "into_first") || !strings.Contains(r.stderr, "--into into_second") {
		t.Fatalf("restore into another database: exit %d\n%s", exitCode(r.err), r.stderr)
	}
	root, err := sql.Open("mysql", server.RootDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'into_second' AND TABLE_NAME = 'visits'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the refused restore touched into_second (%d, %v)", n, err)
	}
	mustOK(t, cliRun(t, env, "restore", "1", "--force", "--into", "into_second"))
	if err := root.QueryRow("SELECT COUNT(*) FROM into_second.patients").Scan(&n); err != nil || n != 3 {
		t.Errorf("after restore --into: %d patients (%v), want 3", n, err)
	}
}

// Issue 7: one operation per database across data directories (or hosts):
// while a restore from one data directory runs, a backup from another is
// refused, naming the cause; once the restoring process is killed, the
// server drops its lock and the backup runs.
func TestOneOperationPerDatabaseAcrossDataDirectories(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "shared_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE shared_hms.patients (id INT PRIMARY KEY)", "INSERT INTO shared_hms.patients VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	first := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}
	second := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}
	mustOK(t, cliRun(t, first, "create"))
	cmd := startHeldRestore(t, bin, first, "1")
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	r := cliRun(t, second, "create")
	if exitCode(r.err) != 4 || !strings.Contains(r.stderr, "another hmsbackup") || !strings.Contains(r.stderr, "shared_hms") {
		t.Errorf("backup from a second data directory during a restore: exit %d\n%s", exitCode(r.err), r.stderr)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	// The server drops the dead process's lock when it notices its
	// connection is gone, a moment later: the backup may wait for it.
	second["HMSBACKUP_LOCK_WAIT"] = "30s"
	mustOK(t, cliRun(t, second, "create"))
}

// startHeldRestore starts `hmsbackup restore id --force` with env in its own
// process group, its client held at the start of the load (the login check
// passes), and returns once the restore has written its marker: the
// database is being overwritten. env's HMSBACKUP_MYSQL is left unset.
func startHeldRestore(t *testing.T, bin string, env map[string]string, id string) *exec.Cmd {
	t.Helper()
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "held-client")
	script := fmt.Sprintf("#!/bin/sh\ncase \"$*\" in *--execute*) exec %q \"$@\";; esac\nexec sleep 120\n", client)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env["HMSBACKUP_MYSQL"] = wrapper
	// The client method, so that the wrapper holds the load phase; the
	// replayer's is held in interrupt_test.go.
	env["HMSBACKUP_RESTORE_METHOD"] = "client"
	defer delete(env, "HMSBACKUP_MYSQL")
	defer delete(env, "HMSBACKUP_RESTORE_METHOD")
	cmd := exec.Command(bin, "restore", id, "--force")
	cmd.Env = envList(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(env["HMSBACKUP_DATA_DIR"], "restore-in-progress.json")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(marker); err == nil {
			return cmd
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatal("the restore never reached its load phase")
		}
	}
}
