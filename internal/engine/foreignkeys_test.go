package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
)

// referencedDB is a memDB that other databases' foreign keys refer to;
// the check afterwards reports broken whatever the restore loaded.
type referencedDB struct {
	*memDB
	fks     []backup.ForeignKey
	listErr error
	broken  []backup.BrokenForeignKey
	checked [][]backup.ForeignKey // what CheckForeignKeys was asked, in order
}

func (r *referencedDB) InboundForeignKeys(context.Context) ([]backup.ForeignKey, error) {
	return r.fks, r.listErr
}

func (r *referencedDB) CheckForeignKeys(_ context.Context, fks []backup.ForeignKey) []backup.BrokenForeignKey {
	r.checked = append(r.checked, fks)
	return r.broken
}

func TestRestoreChecksForeignKeysFromOtherDatabases(t *testing.T) {
	ctx := context.Background()
	fk := backup.ForeignKey{Database: "billing", Table: "invoices", Name: "fk_inv", Columns: []string{"patient_id"},
		RefDatabase: "hms", RefTable: "patients", RefColumns: []string{"id"}}
	restoreAction := backup.ActionRestore
	broken := backup.BrokenForeignKey{ForeignKey: fk, Problem: "1 row of billing.invoices refer to rows no longer in hms.patients"}

	t.Run("broken after a completed restore: result, audit, one warning notification", func(t *testing.T) {
		f := newFixture(t)
		db := &referencedDB{memDB: f.db, fks: []backup.ForeignKey{fk}, broken: []backup.BrokenForeignKey{broken}}
		notes := &recordingNotifier{}
		f.eng.Dumper, f.eng.Notifier = db, notes
		b := mustCreate(t, f)
		res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: b.ID, Actor: alice})
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if len(res.ForeignKeys) != 1 || len(res.BrokenForeignKeys) != 1 || res.BrokenForeignKeys[0].Problem != broken.Problem {
			t.Errorf("result: keys %v, broken %v", res.ForeignKeys, res.BrokenForeignKeys)
		}
		if len(db.checked) != 1 || !slices.EqualFunc(db.checked[0], []backup.ForeignKey{fk}, func(a, b backup.ForeignKey) bool { return a.String() == b.String() }) {
			t.Errorf("checked %v, want the keys found before", db.checked)
		}
		if got := notes.kinds(); !slices.Equal(got, []backup.NotificationKind{backup.NotifyRestoreWarning}) {
			t.Errorf("notifications %v, want one restore warning", got)
		}
		entries, _, err := f.cat.FindAuditEntries(ctx, backup.AuditFilter{BackupID: &b.ID, Action: &restoreAction})
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit: %v, %v", entries, err)
		}
		if e := entries[0]; e.Outcome != "success" || !strings.Contains(e.Details, "billing.invoices(patient_id) -> hms.patients(id) [fk_inv]: 1 row of") {
			t.Errorf("audit entry %+v", e)
		}
	})

	t.Run("a failed restore is rolled back and not checked", func(t *testing.T) {
		f := newFixture(t)
		db := &referencedDB{memDB: f.db, fks: []backup.ForeignKey{fk}, broken: []backup.BrokenForeignKey{broken}}
		f.eng.Dumper = db
		b := mustCreate(t, f)
		db.restoreErr = backup.Untouched(errors.New("locked"))
		res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: b.ID, Actor: alice})
		if err == nil || len(res.BrokenForeignKeys) != 0 || len(db.checked) != 0 {
			t.Errorf("err %v, broken %v, checked %v", err, res.BrokenForeignKeys, db.checked)
		}
	})

	t.Run("keys that cannot be listed do not stop the restore", func(t *testing.T) {
		f := newFixture(t)
		db := &referencedDB{memDB: f.db, listErr: errors.New("no privilege")}
		f.eng.Dumper = db
		b := mustCreate(t, f)
		res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: b.ID, Actor: alice})
		if err != nil || len(res.ForeignKeys) != 0 || len(db.checked) != 0 {
			t.Errorf("err %v, keys %v, checked %v", err, res.ForeignKeys, db.checked)
		}
	})
}

// mustCreate takes a manual backup with the fixture's engine.
func mustCreate(t *testing.T, f *fixture) *backup.Backup {
	t.Helper()
	b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	return b
}
