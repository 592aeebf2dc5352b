package sqlite_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
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

	got, err := c.FindAuditEntries(ctx, backup.AuditFilter{BackupID: &b.ID})
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
			got, err := c.FindAuditEntries(ctx, tc.f)
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
