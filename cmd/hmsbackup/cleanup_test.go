package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
)

// cleanupJSON is the part of `cleanup --json` the tests read.
type cleanupJSON struct {
	DryRun   bool   `json:"dry_run"`
	Timezone string `json:"timezone"`
	Policy   struct {
		Daily, Weekly, Monthly int
	} `json:"policy"`
	Kept []struct {
		Backup struct {
			ID int64 `json:"id"`
		} `json:"backup"`
		Keep   bool `json:"keep"`
		KeptBy []struct {
			Rule   string `json:"rule"`
			Period string `json:"period"`
		} `json:"kept_by"`
	} `json:"kept"`
	Deleted []struct {
		Backup struct {
			ID int64 `json:"id"`
		} `json:"backup"`
		Why string `json:"why"`
	} `json:"deleted"`
	Pruned []struct {
		Backup struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"backup"`
		Why string `json:"why"`
	} `json:"pruned"`
	Failed []struct {
		Backup struct {
			ID int64 `json:"id"`
		} `json:"backup"`
		Why   string `json:"why"`
		Error string `json:"error"`
	} `json:"failed"`
}

func (c cleanupJSON) ids() (kept, deleted, pruned, failed []int64) {
	for _, k := range c.Kept {
		kept = append(kept, k.Backup.ID)
	}
	for _, d := range c.Deleted {
		deleted = append(deleted, d.Backup.ID)
	}
	for _, p := range c.Pruned {
		pruned = append(pruned, p.Backup.ID)
	}
	for _, f := range c.Failed {
		failed = append(failed, f.Backup.ID)
	}
	return kept, deleted, pruned, failed
}

func decodeCleanup(t *testing.T, s string) cleanupJSON {
	t.Helper()
	var c cleanupJSON
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		t.Fatalf("cleanup --json is not JSON: %v\n%s", err, s)
	}
	return c
}

// backdate sets the created_at of backup id in the catalog of dataDir.
func backdate(t *testing.T, dataDir string, id int64, ts time.Time) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE backups SET created_at = ? WHERE id = ?`, ts.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), id); err != nil {
		t.Fatalf("backdate backup %d: %v", id, err)
	}
}

// The cleanup command end to end: a history over several days, a protected
// backup, an old failed record; --dry-run --json and text change nothing;
// the real run deletes and says why; a backup that cannot be deleted is
// reported, the others are deleted, and the exit status says so.
func TestCleanupThroughTheCLI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dir}
	for range 6 {
		mustOK(t, cliRun(t, env, "create"))
	}
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC)
	// 1: five days ago; 5: four days ago; 2: three days ago (protected);
	// 3 and 4: yesterday morning and evening; 6: today.
	for id, ts := range map[int64]time.Time{
		1: today.AddDate(0, 0, -5), 2: today.AddDate(0, 0, -3), 3: today.AddDate(0, 0, -1).Add(-4 * time.Hour),
		4: today.AddDate(0, 0, -1).Add(8 * time.Hour), 5: today.AddDate(0, 0, -4), 6: today.Add(-time.Minute),
	} {
		backdate(t, dir, id, ts)
	}
	mustOK(t, cliRun(t, env, "protect", "2"))

	cat, err := catalogsqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := backup.DefaultSettings()
	s.RetentionDaily, s.RetentionWeekly, s.RetentionMonthly, s.Timezone = 2, 0, 0, "UTC"
	if err := cat.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	cat.Now = func() time.Time { return now.AddDate(0, 0, -45) }
	oldFailed := &backup.Backup{Filename: "hms_backup_old_failed.sqlite.gz", Status: backup.StatusFailed, Source: backup.SourceScheduled, ErrorMessage: "disk full"}
	if err := cat.CreateBackup(ctx, oldFailed); err != nil {
		t.Fatal(err)
	}
	cat.Close()

	var files []string
	for id := int64(1); id <= 6; id++ {
		b := decodeBackup(t, mustOK(t, cliRun(t, env, "show", fmt.Sprint(id), "--json")).stdout)
		files = append(files, b["file_path"].(string))
	}

	// Dry run, JSON: what would go, and nothing goes.
	dry := decodeCleanup(t, mustOK(t, cliRun(t, env, "cleanup", "--dry-run", "--json")).stdout)
	kept, deleted, pruned, failed := dry.ids()
	slices.Sort(kept)
	slices.Sort(deleted)
	if !dry.DryRun || dry.Timezone != "UTC" || dry.Policy.Daily != 2 ||
		!slices.Equal(kept, []int64{2, 4, 6}) || !slices.Equal(deleted, []int64{1, 3, 5}) || !slices.Equal(pruned, []int64{oldFailed.ID}) || len(failed) != 0 {
		t.Fatalf("dry run: %+v\nkept %v deleted %v pruned %v failed %v; want kept [2 4 6], deleted [1 3 5], pruned [%d]", dry, kept, deleted, pruned, failed, oldFailed.ID)
	}
	for _, d := range dry.Deleted {
		if !strings.HasPrefix(d.Why, "no rule keeps it: daily") {
			t.Errorf("backup %d: why %q", d.Backup.ID, d.Why)
		}
	}
	for _, k := range dry.Kept {
		if k.Backup.ID == 2 && (len(k.KeptBy) != 1 || k.KeptBy[0].Rule != "protected") {
			t.Errorf("protected backup 2 kept by %+v, want protected", k.KeptBy)
		}
		if k.Backup.ID == 4 && (len(k.KeptBy) != 1 || k.KeptBy[0].Rule != "daily" || k.KeptBy[0].Period != today.AddDate(0, 0, -1).Format("2006-01-02")) {
			t.Errorf("backup 4 kept by %+v, want daily of yesterday", k.KeptBy)
		}
	}

	// Dry run, text: one line per backup with the reason; still nothing goes.
	r := mustOK(t, cliRun(t, env, "cleanup", "--dry-run"))
	for _, want := range []string{`dry run: nothing is changed`, `(?m)^would delete\s+1\s.*older than the 2 most recent days`,
		`(?m)^would delete\s+3\s.*is kept by newer backup 4`, `(?m)^would delete\s+5\s`, `(?m)^keep\s+2\s.*protected$`,
		`(?m)^keep\s+6\s.*newest completed backup$`, `(?m)^would prune\s+\d+\s.*hms_backup_old_failed.sqlite.gz`,
		`Kept 3, would delete 3, would prune 1 failed record older than 30 days\.`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("dry run text lacks %s:\n%s", want, r.stdout)
		}
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after dry runs: %v", err)
		}
	}
	var list []map[string]any
	json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "list", "--json")).stdout), &list)
	if len(list) != 7 {
		t.Fatalf("after dry runs the catalog lists %d backups, want 7", len(list))
	}

	// Backup 3's file cannot be removed (a directory with content took its
	// place): the cleanup deletes the others, reports it and exits non-zero.
	if err := os.Remove(files[2]); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(files[2], "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	r = cliRun(t, env, "cleanup")
	if r.err == nil || exitCode(r.err) == 0 {
		t.Fatalf("cleanup with an undeletable backup succeeded:\n%s", r.stdout)
	}
	for _, want := range []string{`(?m)^delete\s+1\s`, `(?m)^delete\s+5\s`, `(?m)^NOT DELETED\s+3\s.*kept by newer backup 4; error: .*directory not empty`,
		`(?m)^prune\s+\d+\s`, `Kept 3, deleted 2, pruned 1 failed record older than 30 days; 1 could not be deleted`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("cleanup text lacks %s:\n%s", want, r.stdout)
		}
	}
	if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 || !strings.Contains(r.stderr, "could not delete 1 backup") || !strings.Contains(r.stderr, "backup 3") {
		t.Errorf("stderr %q, want one line naming backup 3", r.stderr)
	}
	for i, f := range files {
		id := i + 1
		_, err := os.Stat(f)
		gone := os.IsNotExist(err)
		if want := id == 1 || id == 5; gone != want {
			t.Errorf("backup %d: file gone %v, want %v", id, gone, want)
		}
	}
	if r := cliRun(t, env, "show", "1"); exitCode(r.err) != 3 {
		t.Errorf("show deleted backup 1: exit %d, want 3", exitCode(r.err))
	}
	if r := cliRun(t, env, "show", fmt.Sprint(oldFailed.ID)); exitCode(r.err) != 3 {
		t.Errorf("show pruned failed record: exit %d, want 3", exitCode(r.err))
	}
	audit := mustOK(t, cliRun(t, env, "audit", "--json")).stdout
	if !strings.Contains(audit, `"actor": "retention"`) || !strings.Contains(audit, `"action": "cleanup"`) {
		t.Errorf("audit trail lacks retention's deletions or the cleanup entry:\n%s", audit)
	}

	// Once backup 3 can go, JSON says so and nothing else is left to do.
	if err := os.RemoveAll(files[2]); err != nil {
		t.Fatal(err)
	}
	again := decodeCleanup(t, mustOK(t, cliRun(t, env, "backup:cleanup", "--json")).stdout)
	kept, deleted, pruned, failed = again.ids()
	slices.Sort(kept)
	if again.DryRun || !slices.Equal(deleted, []int64{3}) || !slices.Equal(kept, []int64{2, 4, 6}) || len(pruned) != 0 || len(failed) != 0 {
		t.Errorf("second cleanup: kept %v deleted %v pruned %v failed %v; want only 3 deleted", kept, deleted, pruned, failed)
	}
}
