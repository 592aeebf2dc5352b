package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
)

// Issue 8: status exits 1 when there is no good backup or the newest is
// older than max_backup_age (monitoring alerts on a silent scheduler), 0
// otherwise, and reports the next run and the queue.
func TestStatusAlarmsOnAStaleNewestBackup(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir}
	r := cliRun(t, env, "status")
	if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "there is no good backup at all") {
		t.Errorf("status without backups: exit %d\n%s%s", exitCode(r.err), r.stdout, r.stderr)
	}
	mustOK(t, cliRun(t, env, "create"))
	r = mustOK(t, cliRun(t, env, "status", "--json"))
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep["ok"] != true || rep["max_backup_age"] != "26h0m0s" || rep["next_scheduled_run"] != nil || rep["queued_jobs"] != float64(0) {
		t.Errorf("status after a backup: %s", r.stdout)
	}

	cat, err := catalogsqlite.Open(context.Background(), filepath.Join(dataDir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := backup.DefaultSettings()
	s.ScheduleEnabled = true
	s.MaxBackupAge = backup.Duration(time.Second)
	if err := cat.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	cat.Close()
	time.Sleep(1100 * time.Millisecond) // let the backup get older than the limit
	r = cliRun(t, env, "status")
	if exitCode(r.err) != 1 || !strings.Contains(r.stderr, "more than max_backup_age 1s") || !strings.Contains(r.stdout, "Next scheduled run: 20") {
		t.Errorf("status with a stale backup: exit %d\n%s%s", exitCode(r.err), r.stdout, r.stderr)
	}
}

// One zone: the timezone setting names backup files too, over
// HMSBACKUP_TIMEZONE.
func TestTheTimezoneSettingNamesFiles(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_TIMEZONE": "UTC"}
	mustOK(t, cliRun(t, env, "settings", "set", "timezone=Asia/Kathmandu")) // UTC+05:45
	b := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	created, err := time.Parse(time.RFC3339Nano, b["created_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	kathmandu, _ := time.LoadLocation("Asia/Kathmandu")
	want := created.In(kathmandu).Format("20060102_1504")
	if name := b["filename"].(string); !strings.Contains(name, want) {
		t.Errorf("file %s, want the Kathmandu time %s in its name", name, want)
	}
}
