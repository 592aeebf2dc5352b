package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
)

// childOf waits until a process whose parent is pid runs with an argument
// starting with --defaults-file= and tool in its command line, and returns
// its pid.
func childOf(t *testing.T, pid int, tool string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			child, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
			fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
			if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
				continue
			}
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if bytes.Contains(cmdline, []byte("--defaults-file=")) && bytes.Contains(cmdline, []byte(tool)) {
				return child
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d started no %s", pid, tool)
	return 0
}

// checkChild fails if the running tool's environment or argv hold a secret
// or an HMSBACKUP_ variable, or its credentials come from a file on disk.
func checkChild(t *testing.T, pid int, secrets ...string) {
	t.Helper()
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	environ, err := os.ReadFile(filepath.Join(proc, "environ"))
	if err != nil {
		t.Fatal(err)
	}
	cmdline, _ := os.ReadFile(filepath.Join(proc, "cmdline"))
	vars := strings.Split(string(environ), "\x00")
	if !strings.HasPrefix(string(environ), "PATH=") && !strings.Contains(string(environ), "\x00PATH=") {
		t.Errorf("tool %d has no PATH: %q", pid, vars)
	}
	for _, v := range vars {
		if strings.HasPrefix(v, "HMSBACKUP_") {
			t.Errorf("tool %d was given %s", pid, strings.SplitN(v, "=", 2)[0])
		}
	}
	for _, s := range secrets {
		if bytes.Contains(environ, []byte(s)) || bytes.Contains(cmdline, []byte(s)) {
			t.Errorf("tool %d's environment or argv holds a secret", pid)
		}
	}
	if !bytes.Contains(cmdline, []byte("--defaults-file=/proc/self/fd/3\x00")) {
		t.Errorf("tool %d reads its credentials from elsewhere than the inherited fd 3: %q", pid, cmdline)
	}
	if target, err := os.Readlink(filepath.Join(proc, "fd", "3")); err != nil || !strings.HasPrefix(target, "/memfd:") {
		t.Errorf("tool %d's fd 3 is %q (%v), want an in-memory file", pid, target, err)
	}
}

// noSecretOnDisk fails if any file under dir holds one of the secrets.
func noSecretOnDisk(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret", path)
			}
		}
		return nil
	})
}

// Issue 6: the dump and client tools get neither the DSN's password nor
// any HMSBACKUP_ variable (read from /proc of the real running tools), and
// a kill -9 of hmsbackup during create or restore leaves no file holding
// the password; a credentials file an older version left, and a snapshot a
// killed run left, are removed at the next start.
func TestToolsGetNoSecretsAndKill9LeavesNoneOnDisk(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "secret_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx,
		"CREATE TABLE secret_hms.patients (id INT PRIMARY KEY, name TEXT)",
		"INSERT INTO secret_hms.patients VALUES (1, 'Ada')",
	); err != nil {
		t.Fatal(err)
	}
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	const otherSecret = "another-secret-4f1d"
	secrets := []string{cfg.Passwd, otherSecret}
	dataDir := t.TempDir()
	env := map[string]string{
		"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn,
		// A whole SMTP configuration (a password alone is refused), whose
		// password the tools must not get either.
		"HMSBACKUP_SMTP_HOST": "127.0.0.1", "HMSBACKUP_SMTP_USERNAME": "hmsbackup",
		"HMSBACKUP_SMTP_FROM": "backup@hospital.example", "HMSBACKUP_SMTP_PASSWORD": otherSecret,
	}
	// What an older version killed mid-run left: a defaults file.
	tmp := filepath.Join(dataDir, "tmp")
	os.MkdirAll(tmp, 0o700)
	stale := filepath.Join(tmp, "hmsbackup-mysql-2718281828.cnf")
	if err := os.WriteFile(stale, []byte("[client]\npassword="+cfg.Passwd+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	// ... and a SQLite snapshot (a whole copy of a database) of a dead run.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	staleSnapshot := filepath.Join(tmp, fmt.Sprintf("hmsbackup-sqlite-%d-42.snapshot", gone.Process.Pid))
	if err := os.WriteFile(staleSnapshot, []byte("patients"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Another session write-locks the table, so the real mariadb-dump
	// waits while its /proc is read.
	root, err := sql.Open("mysql", server.RootDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	lockConn, err := root.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lockConn.Close()
	lock := func() {
		if _, err := lockConn.ExecContext(ctx, "LOCK TABLES secret_hms.patients WRITE"); err != nil {
			t.Fatal(err)
		}
	}
	unlock := func() { lockConn.ExecContext(ctx, "UNLOCK TABLES") }

	// killDuring starts hmsbackup args, checks the tool it starts, kills
	// hmsbackup with SIGKILL and checks the disk.
	killDuring := func(tool string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = envList(env)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the orphaned tool
		checkChild(t, childOf(t, cmd.Process.Pid, tool), secrets...)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		noSecretOnDisk(t, dataDir, secrets...)
	}

	lock()
	killDuring("mariadb-dump", "create")
	unlock()
	for _, f := range []string{stale, staleSnapshot} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s, left by a killed run, was not removed at start: %v", filepath.Base(f), err)
		}
	}

	r := mustOK(t, cliRun(t, env, "create", "--json"))
	id := fmt.Sprint(decodeBackup(t, r.stdout)["id"])
	// The restore's own client, held at its start by a wrapper until
	// released (exec keeps the environment and descriptors it was given).
	release := filepath.Join(t.TempDir(), "release")
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "held-client")
	script := fmt.Sprintf("#!/bin/sh\nwhile [ ! -e %q ]; do sleep 0.05; done\nexec %q \"$@\"\n", release, client)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env["HMSBACKUP_MYSQL"] = wrapper
	// The client method: the replayer starts no tool (it connects itself,
	// the password never leaving the process).
	env["HMSBACKUP_RESTORE_METHOD"] = "client"
	killDuring("held-client", "restore", id, "--force")
	os.WriteFile(release, nil, 0o600)

	// The pre-restore backup's dump, held by the lock.
	delete(env, "HMSBACKUP_MYSQL")
	delete(env, "HMSBACKUP_RESTORE_METHOD")
	lock()
	killDuring("mariadb-dump", "restore", id, "--force")
	unlock()
}
