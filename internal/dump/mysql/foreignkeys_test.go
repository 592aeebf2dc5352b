package mysql_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// crossDatabaseFixture is a database "hms" with patients and visits, and
// a second database whose orders refer to both with foreign keys (one of
// two columns), as a billing system sharing the server would.
type crossDatabaseFixture struct {
	dumper *mysql.Dumper
	hms    string // the restored database
	other  string // the referring database
	root   func(stmts ...string)
}

func newCrossDatabaseFixture(t *testing.T) *crossDatabaseFixture {
	t.Helper()
	ctx := context.Background()
	dsn := newDatabase(t, "fk_hms")
	f := &crossDatabaseFixture{hms: dbName(t, dsn), other: uniqueName(t, "fk_other")}
	f.root = func(stmts ...string) {
		t.Helper()
		if err := server.Exec(ctx, stmts...); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	hms, other := testutil.QuoteIdent(f.hms), testutil.QuoteIdent(f.other)
	f.root(
		"CREATE TABLE "+hms+".patients (id INT PRIMARY KEY, name VARCHAR(50)) ENGINE=InnoDB",
		"CREATE TABLE "+hms+".visits (patient_id INT, seq INT, note VARCHAR(20), PRIMARY KEY (patient_id, seq)) ENGINE=InnoDB",
		"INSERT INTO "+hms+".patients VALUES (1, 'Ada'), (2, 'Grace')",
		"INSERT INTO "+hms+".visits VALUES (1, 1, 'a'), (2, 1, 'b')",
		"CREATE DATABASE "+other,
		"CREATE TABLE "+other+".orders (id INT PRIMARY KEY, patient_id INT, visit_patient INT, visit_seq INT,"+
			" CONSTRAINT fk_order_patient FOREIGN KEY (patient_id) REFERENCES "+hms+".patients (id),"+
			" CONSTRAINT fk_order_visit FOREIGN KEY (visit_patient, visit_seq) REFERENCES "+hms+".visits (patient_id, seq)) ENGINE=InnoDB",
		"INSERT INTO "+other+".orders VALUES (10, 1, 1, 1), (11, 2, NULL, NULL)",
		// The backup user may read the referring database, as the HMS's own user would.
		"GRANT SELECT ON "+other+".* TO "+testutil.QuoteString(cfg.User)+"@'%'",
	)
	t.Cleanup(func() { _ = server.Exec(context.Background(), "DROP DATABASE IF EXISTS "+other) })
	f.dumper = newDumper(t, mysql.Config{DSN: dsn})
	return f
}

// The foreign keys of another database into the restored one are found
// before a restore, and after it every way the restore can break them is
// named: orphaned rows, a table gone, a column of another type, a
// referenced table that is no longer InnoDB or no longer indexed.
func TestForeignKeysFromOtherDatabases(t *testing.T) {
	cases := []struct {
		name string
		// backupState runs (as root, with foreign key checks off) before
		// the dump that is restored; afterwards the live database gets
		// rows the backup lacks.
		backupState []string
		want        map[string]string // constraint -> part of the problem
	}{
		{name: "unchanged schema, rows kept", want: map[string]string{}},
		{
			name:        "rows missing from the backup",
			backupState: []string{"DELETE FROM %[1]s.visits WHERE patient_id = 1", "DELETE FROM %[1]s.patients WHERE id = 1"},
			want: map[string]string{
				"fk_order_patient": "1 row of %[2]s.orders refer to rows no longer in %[1]s.patients (e.g. patient_id = 1)",
				"fk_order_visit":   "1 row of %[2]s.orders refer to rows no longer in %[1]s.visits (e.g. visit_patient, visit_seq = 1, 1)",
			},
		},
		{
			name:        "referenced table absent",
			backupState: []string{"DROP TABLE %[1]s.visits"},
			want:        map[string]string{"fk_order_visit": "table %[1]s.visits is not in the restored database"},
		},
		{
			name:        "referenced column of another type",
			backupState: []string{"DROP TABLE %[1]s.patients", "CREATE TABLE %[1]s.patients (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(50))", "INSERT INTO %[1]s.patients VALUES (1, 'Ada'), (2, 'Grace')"},
			want:        map[string]string{"fk_order_patient": "column types differ: %[2]s.orders.patient_id is int(11) but %[1]s.patients.id is bigint(20) unsigned"},
		},
		{
			name:        "referenced table no longer InnoDB",
			backupState: []string{"DROP TABLE %[1]s.patients", "CREATE TABLE %[1]s.patients (id INT PRIMARY KEY, name VARCHAR(50)) ENGINE=MyISAM", "INSERT INTO %[1]s.patients VALUES (1, 'Ada'), (2, 'Grace')"},
			want:        map[string]string{"fk_order_patient": "table %[1]s.patients is now MyISAM, not InnoDB"},
		},
		{
			name:        "referenced columns no longer indexed",
			backupState: []string{"DROP TABLE %[1]s.visits", "CREATE TABLE %[1]s.visits (patient_id INT, seq INT, note VARCHAR(20))", "INSERT INTO %[1]s.visits VALUES (1, 1, 'a'), (2, 1, 'b')"},
			want:        map[string]string{"fk_order_visit": "no index of %[1]s.visits starts with (patient_id, seq)"},
		},
		{
			name:        "display width and other columns may differ",
			backupState: []string{"DROP TABLE %[1]s.patients", "CREATE TABLE %[1]s.patients (id INT(5) PRIMARY KEY, name VARCHAR(80))", "INSERT INTO %[1]s.patients VALUES (1, 'Ada'), (2, 'Grace')"},
			want:        map[string]string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newCrossDatabaseFixture(t)
			hms := testutil.QuoteIdent(f.hms)
			fks, err := f.dumper.InboundForeignKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantFKs := []string{
				f.other + ".orders(patient_id) -> " + f.hms + ".patients(id)",
				f.other + ".orders(visit_patient, visit_seq) -> " + f.hms + ".visits(patient_id, seq)",
			}
			if len(fks) != 2 || fks[0].String() != wantFKs[0] || fks[1].String() != wantFKs[1] || fks[0].Name != "fk_order_patient" {
				t.Fatalf("InboundForeignKeys = %v, want %v", fks, wantFKs)
			}
			if broken := f.dumper.CheckForeignKeys(ctx, fks); len(broken) != 0 {
				t.Fatalf("before anything changed: %v", broken)
			}

			// The backup: the live database changed by backupState, dumped,
			// and then put back as it was.
			dumped := dump(t, f.dumper)
			if len(tc.backupState) > 0 {
				live := dumped
				for _, stmt := range tc.backupState {
					f.root("SET STATEMENT foreign_key_checks = 0 FOR " + strings.ReplaceAll(stmt, "%[1]s", hms))
				}
				dumped = dump(t, f.dumper)
				if err := f.dumper.Restore(ctx, bytes.NewReader(live)); err != nil {
					t.Fatal(err)
				}
				if broken := f.dumper.CheckForeignKeys(ctx, fks); len(broken) != 0 {
					t.Fatalf("after putting the live database back: %v", broken)
				}
			}
			if err := f.dumper.Restore(ctx, bytes.NewReader(dumped)); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			broken := f.dumper.CheckForeignKeys(ctx, fks)
			got := map[string]string{}
			for _, b := range broken {
				got[b.Name] = b.Problem
			}
			if len(got) != len(tc.want) {
				t.Errorf("broken keys %v, want %v", got, tc.want)
			}
			for name, part := range tc.want {
				part = strings.NewReplacer("%[1]s", f.hms, "%[2]s", f.other).Replace(part)
				if !strings.Contains(got[name], part) {
					t.Errorf("%s: problem %q, want it to say %q", name, got[name], part)
				}
			}
		})
	}
}
