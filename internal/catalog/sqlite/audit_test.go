package sqlite_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
)

func TestAuditEntriesSurviveBackupDeletion(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	b := &backup.Backup{Filename: "gone.sql.gz", Status: backup.StatusCompleted, Source: backup.SourceManualUI}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	userID := int64(7)
	entries := []*backup.AuditEntry{
		{BackupID: &b.ID, UserID: &userID, Actor: "Dr. Okafor", Action: backup.ActionCreate, Outcome: "success", Details: "12 MiB in 3 s"},
		{BackupID: &b.ID, Actor: "cli:root", Action: backup.ActionDelete, Outcome: "success"},
	}
	for _, e := range entries {
		if err := c.AddAuditEntry(ctx, e); err != nil {
			t.Fatalf("AddAuditEntry: %v", err)
		}
		if e.ID == 0 || e.CreatedAt.IsZero() {
			t.Errorf("AddAuditEntry left ID %d, CreatedAt %v; want both set", e.ID, e.CreatedAt)
		}
	}
	if err := c.DeleteBackup(ctx, b.ID); err != nil {
		t.Fatalf("DeleteBackup: %v", err)
	}

	got, _, err := c.FindAuditEntries(ctx, backup.AuditFilter{BackupID: &b.ID})
	if err != nil {
		t.Fatalf("FindAuditEntries: %v", err)
	}
	want := []*backup.AuditEntry{entries[1], entries[0]} // newest first
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries after deletion:\n got %s\nwant %s", dump(got), dump(want))
	}
}

func TestFindAuditEntriesFilters(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	one, two := int64(1), int64(2)
	add := func(id *int64, a backup.Action) *backup.AuditEntry {
		t.Helper()
		e := &backup.AuditEntry{BackupID: id, Actor: "system", Action: a, Outcome: "success"}
		if err := c.AddAuditEntry(ctx, e); err != nil {
			t.Fatalf("AddAuditEntry: %v", err)
		}
		return e
	}
	e0 := add(&one, backup.ActionCreate)
	e1 := add(&two, backup.ActionCreate)
	e2 := add(&one, backup.ActionVerify)
	e3 := add(nil, backup.ActionRecover)
	e4 := add(&one, backup.ActionRestore)

	create, verify := backup.ActionCreate, backup.ActionVerify
	for _, tc := range []struct {
		name string
		f    backup.AuditFilter
		want []*backup.AuditEntry
	}{
		{"all", backup.AuditFilter{}, []*backup.AuditEntry{e4, e3, e2, e1, e0}},
		{"limit", backup.AuditFilter{Limit: 2}, []*backup.AuditEntry{e4, e3}},
		{"backup 1", backup.AuditFilter{BackupID: &one}, []*backup.AuditEntry{e4, e2, e0}},
		{"create", backup.AuditFilter{Action: &create}, []*backup.AuditEntry{e1, e0}},
		{"backup 1 verify", backup.AuditFilter{BackupID: &one, Action: &verify}, []*backup.AuditEntry{e2}},
		{"backup 2 verify", backup.AuditFilter{BackupID: &two, Action: &verify}, []*backup.AuditEntry{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := c.FindAuditEntries(ctx, tc.f)
			if err != nil {
				t.Fatalf("FindAuditEntries: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entries:\n got %s\nwant %s", dump(got), dump(tc.want))
			}
		})
	}
}

func TestAddAuditEntryWithoutActionIsInvalid(t *testing.T) {
	c := openCatalog(t)
	wantCode(t, c.AddAuditEntry(t.Context(), &backup.AuditEntry{Actor: "system"}), backup.EINVALID)
}

// dump formats entries for a failure message.
func dump(es []*backup.AuditEntry) string {
	s := "["
	for _, e := range es {
		s += "\n\t" + auditString(e)
	}
	return s + "\n]"
}

func auditString(e *backup.AuditEntry) string {
	ptr := func(p *int64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return fmt.Sprintf("{ID:%d BackupID:%v UserID:%v Actor:%q Action:%s Outcome:%q Details:%q CreatedAt:%s}",
		e.ID, ptr(e.BackupID), ptr(e.UserID), e.Actor, e.Action, e.Outcome, e.Details, e.CreatedAt)
}

// auditFixture adds entries one second apart (steppingClock), from start:
// two users, the CLI and the scheduler, several actions, backups and
// outcomes.
func auditFixture(t *testing.T, c *sqlite.Catalog) []*backup.AuditEntry {
	t.Helper()
	one, two, alice, bob := int64(1), int64(2), int64(10), int64(11)
	es := []*backup.AuditEntry{
		{Actor: "alice", UserID: &alice, Action: backup.ActionCreate, BackupID: &one, Outcome: "success"},
		{Actor: "bob", UserID: &bob, Action: backup.ActionCreate, BackupID: &two, Outcome: "failure", Details: "disk full"},
		{Actor: "cli:root", Action: backup.ActionRestore, BackupID: &one, Outcome: "success"},
		{Actor: "alice", UserID: &alice, Action: backup.ActionDownload, BackupID: &one, Outcome: "success", SourceAddress: "10.0.0.5", UserAgent: "Firefox"},
		{Actor: "Alice", UserID: &alice, Action: backup.ActionSignIn, Outcome: "failure"},
		{Actor: "scheduler", Action: backup.ActionCreate, BackupID: &two, Outcome: "success"},
		{Actor: "bob", UserID: &bob, Action: backup.ActionSettings, Outcome: "success", Details: "changed schedule_time"},
	}
	for _, e := range es {
		if err := c.AddAuditEntry(t.Context(), e); err != nil {
			t.Fatalf("AddAuditEntry: %v", err)
		}
	}
	return es
}

func TestFindAuditEntriesEachFilterAndCombined(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	e := auditFixture(t, c)
	one, alice := int64(1), int64(10)
	create, signIn := backup.ActionCreate, backup.ActionSignIn
	at := func(i int) time.Time { return e[i].CreatedAt }
	for _, tc := range []struct {
		name string
		f    backup.AuditFilter
		want []*backup.AuditEntry
	}{
		{"actor, any case", backup.AuditFilter{Actor: "ALICE"}, []*backup.AuditEntry{e[4], e[3], e[0]}},
		{"actor cli", backup.AuditFilter{Actor: "cli:root"}, []*backup.AuditEntry{e[2]}},
		{"actor is not a prefix match", backup.AuditFilter{Actor: "ali"}, nil},
		{"user id", backup.AuditFilter{UserID: &alice}, []*backup.AuditEntry{e[4], e[3], e[0]}},
		{"action", backup.AuditFilter{Action: &create}, []*backup.AuditEntry{e[5], e[1], e[0]}},
		{"backup", backup.AuditFilter{BackupID: &one}, []*backup.AuditEntry{e[3], e[2], e[0]}},
		{"outcome", backup.AuditFilter{Outcome: "failure"}, []*backup.AuditEntry{e[4], e[1]}},
		{"since (inclusive)", backup.AuditFilter{Since: at(5)}, []*backup.AuditEntry{e[6], e[5]}},
		{"until (exclusive)", backup.AuditFilter{Until: at(2)}, []*backup.AuditEntry{e[1], e[0]}},
		{"range", backup.AuditFilter{Since: at(2), Until: at(4)}, []*backup.AuditEntry{e[3], e[2]}},
		{"since in another zone", backup.AuditFilter{Since: at(6).In(time.FixedZone("UTC+5", 5*3600))}, []*backup.AuditEntry{e[6]}},
		{"user and action", backup.AuditFilter{Actor: "alice", Action: &create}, []*backup.AuditEntry{e[0]}},
		{"user, outcome and range", backup.AuditFilter{UserID: &alice, Outcome: "failure", Since: at(1), Until: at(6)}, []*backup.AuditEntry{e[4]}},
		{"action and outcome", backup.AuditFilter{Action: &signIn, Outcome: "success"}, nil},
		{"all filters", backup.AuditFilter{Actor: "alice", UserID: &alice, Action: &create, BackupID: &one, Outcome: "success", Since: at(0), Until: at(1)}, []*backup.AuditEntry{e[0]}},
		{"max id", backup.AuditFilter{MaxID: e[1].ID}, []*backup.AuditEntry{e[1], e[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := c.FindAuditEntries(ctx, tc.f)
			if err != nil {
				t.Fatalf("FindAuditEntries: %v", err)
			}
			if tc.want == nil {
				tc.want = []*backup.AuditEntry{}
			}
			if !reflect.DeepEqual(got, tc.want) || total != len(tc.want) {
				t.Errorf("entries (total %d):\n got %s\nwant %s", total, dump(got), dump(tc.want))
			}
		})
	}
}

func TestFindAuditEntriesPagesAndTotal(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	e := auditFixture(t, c)
	newestFirst := slices.Clone(e)
	slices.Reverse(newestFirst)
	var seen []*backup.AuditEntry
	for offset := 0; offset < len(e)+3; offset += 3 {
		got, total, err := c.FindAuditEntries(ctx, backup.AuditFilter{Offset: offset, Limit: 3})
		if err != nil {
			t.Fatalf("FindAuditEntries offset %d: %v", offset, err)
		}
		if total != len(e) {
			t.Errorf("offset %d: total %d, want %d", offset, total, len(e))
		}
		if want := min(3, max(0, len(e)-offset)); len(got) != want {
			t.Errorf("offset %d: %d entries, want %d", offset, len(got), want)
		}
		seen = append(seen, got...)
	}
	if !reflect.DeepEqual(seen, newestFirst) {
		t.Errorf("pages together:\n got %s\nwant %s", dump(seen), dump(newestFirst))
	}
	// The total counts what the filter matches, not the page.
	got, total, err := c.FindAuditEntries(ctx, backup.AuditFilter{Actor: "bob", Limit: 1, Offset: 1})
	if err != nil || total != 2 || len(got) != 1 || got[0].ID != e[1].ID {
		t.Errorf("bob's second page: %s, total %d, %v; want entry %d, total 2", dump(got), total, err, e[1].ID)
	}
	for _, f := range []backup.AuditFilter{{Limit: -1}, {Offset: -1}, {Since: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		_, _, err := c.FindAuditEntries(ctx, f)
		wantCode(t, err, backup.EINVALID)
	}
}

// TestFindAuditEntriesSQLInjection puts classic injection strings in every
// text filter: none matches anything, none fails, and the table is still
// there with all its rows.
func TestFindAuditEntriesSQLInjection(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	e := auditFixture(t, c)
	attacks := []string{
		`' OR '1'='1`,
		`alice' --`,
		`alice'; DROP TABLE backup_logs; --`,
		`" OR ""="`,
		`') OR 1=1 --`,
		`%`,
		`_`,
		`*`,
		`alice' COLLATE NOCASE OR 'a'='a`,
		`1; DELETE FROM backup_logs`,
		`success' UNION SELECT id, backup_id, user_id, actor, action, outcome, details, created_at, source_address, user_agent FROM backup_logs --`,
		"alice\x00' OR 1=1",
	}
	for _, a := range attacks {
		act := backup.Action(a)
		for name, f := range map[string]backup.AuditFilter{
			"actor":   {Actor: a},
			"action":  {Action: &act},
			"outcome": {Outcome: a},
		} {
			got, total, err := c.FindAuditEntries(ctx, f)
			if err != nil || len(got) != 0 || total != 0 {
				t.Errorf("%s %q: %d entries, total %d, %v; want none and no error", name, a, len(got), total, err)
			}
		}
	}
	all, total, err := c.FindAuditEntries(ctx, backup.AuditFilter{})
	if err != nil || total != len(e) || len(all) != len(e) {
		t.Fatalf("after the attacks: %d entries, total %d, %v; want the %d added", len(all), total, err, len(e))
	}
	// A real actor name with a quote in it is found exactly.
	odd := &backup.AuditEntry{Actor: "o'brien", Action: backup.ActionCreate, Outcome: "success"}
	if err := c.AddAuditEntry(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.FindAuditEntries(ctx, backup.AuditFilter{Actor: "O'Brien"}); err != nil || len(got) != 1 || got[0].ID != odd.ID {
		t.Errorf("actor O'Brien: %s, %v; want entry %d", dump(got), err, odd.ID)
	}
}
