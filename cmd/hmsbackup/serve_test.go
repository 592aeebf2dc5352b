package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/hmsbackup/hmsbackup/internal/queue"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `hmsbackup serve` on a free port and waits for /healthz.
func startServe(t *testing.T, bin string, env map[string]string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd, logs, _ := startServeAt(t, bin, env)
	return cmd, logs
}

// startServeAt is startServe, also returning the address it listens on.
func startServeAt(t *testing.T, bin string, env map[string]string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(envList(env), "HMSBACKUP_LISTEN="+addr)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	waitFor(t, "serve to answer /healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return cmd, logs, addr
}

// enqueue queues a manual backup job in the data dir's catalog, as the
// CLI-to-server path does.
func enqueue(t *testing.T, dataDir string) int64 {
	t.Helper()
	q, err := queue.Open(context.Background(), queue.Config{CatalogPath: filepath.Join(dataDir, "catalog.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, _, err := q.EnqueueBackup(context.Background(), queue.BackupArgs{Source: backup.SourceManualCLI, Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func listBackups(t *testing.T, env map[string]string) []map[string]any {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "list", "--json")).stdout), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// Issue 8: a `* * * * *` schedule makes a completed scheduled backup, with
// serve running in the foreground; SIGTERM then stops it cleanly.
func TestServeRunsTheSchedule(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dataDir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir}
	mustOK(t, cliRun(t, env, "settings", "set", "schedule_enabled=true", "schedule_frequency=custom", "cron_expression=* * * * *"))
	cmd, logs := startServe(t, bin, env)
	waitForBackups(t, env, 90*time.Second, func(list []map[string]any) bool {
		return len(list) == 1 && list[0]["source"] == "scheduled" && list[0]["status"] == "completed"
	})
	waitFor(t, "the retention cleanup after the scheduled backup", func() bool { return strings.Contains(logs.String(), "retention cleanup") })
	if !strings.Contains(logs.String(), "scheduled backup queued") {
		t.Errorf("serve logged no scheduled run:\n%s", logs.String())
	}
	// The CLI-to-server path: create --queue waits for the server's backup.
	r := mustOK(t, cliRun(t, env, "create", "--queue", "--json"))
	if b := decodeBackup(t, r.stdout); b["status"] != "completed" || b["source"] != "manual_cli" || !strings.Contains(r.stderr, "Queued backup job") {
		t.Errorf("create --queue: %s\n%s", r.stdout, r.stderr)
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "hmsbackup serve stopped") {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

// waitForBackups polls the catalog until cond holds or the time is up.
func waitForBackups(t *testing.T, env map[string]string, limit time.Duration, cond func([]map[string]any) bool) []map[string]any {
	t.Helper()
	var list []map[string]any
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		list = listBackups(t, env)
		if cond(list) {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("backups never reached the wanted state: %v", list)
		}
	}
}

// Issue 8: SIGTERM during a queued backup leaves no pending record (the
// backup is cancelled after HMSBACKUP_SHUTDOWN_TIMEOUT and recorded
// failed); kill -9 during a job, then a restart: the job runs again and
// completes, and the killed run's record is failed.
func TestServeStopsAndRecoversJobs(t *testing.T) {
	bin := buildBinary(t)
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "serve_hms")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "CREATE TABLE serve_hms.patients (id INT PRIMARY KEY)", "INSERT INTO serve_hms.patients VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"SIGTERM", "kill -9"} {
		t.Run(how, func(t *testing.T) {
			dataDir := t.TempDir()
			started := filepath.Join(t.TempDir(), "dump-started")
			env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn,
				"HMSBACKUP_SHUTDOWN_TIMEOUT": "1s", "HMSBACKUP_MYSQLDUMP": holdingTool(t, "mariadb-dump", started)}
			mustOK(t, cliRun(t, env, "list"))
			cmd, logs := startServe(t, bin, env)
			job := enqueue(t, dataDir)
			waitFor(t, "the backup to start", fileExists(started))
			if how == "SIGTERM" {
				syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
				if err := cmd.Wait(); err != nil {
					t.Errorf("serve after SIGTERM: %v\n%s", err, logs.String())
				}
				list := listBackups(t, env)
				if len(list) != 1 || list[0]["status"] != "failed" {
					t.Errorf("after SIGTERM mid-backup: %v, want one failed record\n%s", list, logs.String())
				}
			} else {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				cmd.Wait()
			}
			// Restart: the job runs again (the holding tool now lets the
			// dump through) and completes.
			startServe(t, bin, env)
			list := waitForBackups(t, env, 60*time.Second, func(list []map[string]any) bool {
				for _, b := range list {
					if b["status"] == "completed" {
						return true
					}
				}
				return false
			})
			if len(list) != 2 || list[1]["status"] != "failed" || list[1]["source"] != "manual_cli" {
				t.Errorf("after %s and a restart: %v, want the old record failed and a completed one", how, list)
			}
			q, err := queue.Open(ctx, queue.Config{CatalogPath: filepath.Join(dataDir, "catalog.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			// The job is marked completed a moment after its backup (River
			// completes jobs in batches).
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			st, err := q.WaitFor(wctx, job, 20*time.Millisecond)
			if err != nil || st.State != "completed" || st.BackupID != int64(list[0]["id"].(float64)) {
				t.Errorf("job %d: %+v %v", job, st, err)
			}
		})
	}
}

// Issue 8: a notification the server cannot send (the webhook answers
// 500) is tried again by the queue, on the failed channel, until it goes
// through.
func TestServeRetriesANotificationThatFailed(t *testing.T) {
	bin := buildBinary(t)
	var mu sync.Mutex
	var events []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Event string `json:"event"`
		}
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		defer mu.Unlock()
		events = append(events, p.Event)
		if len(events) == 1 {
			http.Error(w, "try later", http.StatusInternalServerError)
		}
	}))
	defer hook.Close()
	dataDir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_DB_DSN": filepath.Join(t.TempDir(), "missing", "hms.db"),
		"HMSBACKUP_JOB_ATTEMPTS": "1", "HMSBACKUP_JOB_RETRY_DELAY": "100ms", "HMSBACKUP_WEBHOOK_URL": hook.URL}
	_, logs := startServe(t, bin, env)
	enqueue(t, dataDir)
	waitFor(t, "the notification to be sent again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if events[0] != "backup_failed" || events[1] != "backup_failed" {
		t.Errorf("webhook received %v, want backup_failed twice (the second a retry)", events)
	}
	if !strings.Contains(logs.String(), "notification queued for a retry") {
		t.Errorf("no retry in the log:\n%s", logs.String())
	}
}

// Issue 9: /readyz answers 503 until there is a good backup younger than
// max_backup_age, then 200; /healthz and /readyz say nothing else.
func TestServeReadiness(t *testing.T) {
	bin := buildBinary(t)
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	mustOK(t, cliRun(t, env, "list"))
	cmd, logs, addr := startServeAt(t, bin, env)
	// The first serve made the user admin and printed its password, once.
	m := regexp.MustCompile(`Created the first user: admin, password: (\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no first admin in serve's output:\n%s", logs.String())
	}
	cat, err := catalogsqlite.Open(context.Background(), filepath.Join(env["HMSBACKUP_DATA_DIR"], "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	svc := identity.New(cat, cat, identity.DefaultParams(), nil)
	if _, err := svc.SignIn(context.Background(), identity.Actor{Name: "test"}, "admin", m[1]); err != nil {
		t.Errorf("sign-in with the printed password: %v", err)
	}
	cat.Close()
	if audit := mustOK(t, cliRun(t, env, "audit", "--json")).stdout; strings.Contains(audit, m[1]) {
		t.Errorf("the first admin's password is in the audit trail")
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	cmd.Wait()
	_, logs, addr = startServeAt(t, bin, env)
	if strings.Contains(logs.String(), "Created the first user") {
		t.Errorf("a second serve made another first user:\n%s", logs.String())
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/readyz"); code != 503 || strings.TrimSpace(body) != "not ready" {
		t.Errorf("/readyz without a backup: %d %q", code, body)
	}
	mustOK(t, cliRun(t, env, "create"))
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz after a backup: %d %q", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
}
