package main

import (
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
)

// seedAudit writes entries into the data directory's catalog, one a day
// at 12:00 UTC from 2026-11-01.
func seedAudit(t *testing.T, dir string, entries []*backup.AuditEntry) {
	t.Helper()
	c, err := sqlite.Open(t.Context(), filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { t := next; next = next.AddDate(0, 0, 1); return t }
	for _, e := range entries {
		if err := c.AddAuditEntry(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditFiltersPagesAndCSV(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dir, "HMSBACKUP_TIMEZONE": "UTC"}
	one, alice := int64(1), int64(10)
	seedAudit(t, dir, []*backup.AuditEntry{
		{Actor: "alice", UserID: &alice, Action: backup.ActionCreate, BackupID: &one, Outcome: "success"},              // 11-01
		{Actor: "bob", Action: backup.ActionDelete, BackupID: &one, Outcome: "failure", Details: "=cmd|' /C calc'!A0"}, // 11-02
		{Actor: "alice", UserID: &alice, Action: backup.ActionDownload, BackupID: &one, Outcome: "success"},            // 11-03
		{Actor: "alice", UserID: &alice, Action: backup.ActionSignIn, Outcome: "failure", UserAgent: "@evil"},          // 11-04
	})
	actions := func(args ...string) string {
		t.Helper()
		var es []backup.AuditEntry
		out := mustOK(t, cliRun(t, env, append([]string{"audit", "--json"}, args...)...)).stdout
		if err := json.Unmarshal([]byte(out), &es); err != nil {
			t.Fatalf("audit --json %v: %v\n%s", args, err, out)
		}
		var got []string
		for _, e := range es {
			got = append(got, string(e.Action))
		}
		return strings.Join(got, " ")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "sign-in download delete create"},
		{[]string{"--user", "Alice"}, "sign-in download create"},
		{[]string{"--user-id", "10", "--outcome", "success"}, "download create"},
		{[]string{"--action", "delete"}, "delete"},
		{[]string{"--backup", "1", "--user", "alice"}, "download create"},
		{[]string{"--since", "2026-11-02", "--until", "2026-11-03"}, "download delete"}, // --until's day is included
		{[]string{"--since", "2026-11-02T12:00:01Z"}, "sign-in download"},
		{[]string{"--until", "2026-11-02 12:00"}, "create"},
		{[]string{"--limit", "2", "--offset", "1"}, "download delete"},
		{[]string{"--user", "alice' OR '1'='1"}, ""},
		{[]string{"--outcome", "x'; DROP TABLE backup_logs; --"}, ""},
		{[]string{"--action", "' OR 1=1 --"}, ""},
	} {
		if got := actions(tc.args...); got != tc.want {
			t.Errorf("audit %v: %q, want %q", tc.args, got, tc.want)
		}
	}
	// The injections broke nothing.
	if got := actions("--limit", "0"); got != "sign-in download delete create" {
		t.Errorf("after the injection attempts: %q", got)
	}

	r := mustOK(t, cliRun(t, env, "audit", "--limit", "1"))
	if !strings.Contains(r.stderr, "showing entries 1-1 of 4") {
		t.Errorf("a page of the trail does not say how much there is: %q", r.stderr)
	}

	out := mustOK(t, cliRun(t, env, "audit", "--csv", "--outcome", "failure")).stdout
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("audit --csv is not CSV: %v\n%s", err, out)
	}
	want := [][]string{
		{"id", "created_at", "actor", "user_id", "action", "backup_id", "outcome", "details", "source_address", "user_agent"},
		{"4", "2026-11-04T12:00:00Z", "alice", "10", "sign-in", "", "failure", "", "", "'@evil"},
		{"2", "2026-11-02T12:00:00Z", "bob", "", "delete", "1", "failure", "'=cmd|' /C calc'!A0", "", ""},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("audit --csv:\n got %q\nwant %q", rows, want)
	}

	for _, args := range [][]string{
		{"audit", "--since", "yesterday"},
		{"audit", "--user-id", "x"},
		{"audit", "--offset", "-1"},
		{"audit", "--json", "--csv"},
	} {
		if r := cliRun(t, env, args...); exitCode(r.err) != 2 {
			t.Errorf("%v: exit %d (%v), want 2", args, exitCode(r.err), r.err)
		}
	}
}
