package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"
)

// Issue 7: a table of another database referring to the restored one is
// named in the confirmation, listed in --json, re-checked afterwards, and
// a restore that breaks it says so (WARNING lines, exit 7, the audit
// trail) instead of exiting 0 in silence.
func TestRestoreReportsForeignKeysFromOtherDatabases(t *testing.T) {
	ctx := context.Background()
	dsn, err := server.NewDatabase(ctx, "fkcli_hms")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx,
		"CREATE TABLE fkcli_hms.patients (id INT PRIMARY KEY, name VARCHAR(50))",
		"INSERT INTO fkcli_hms.patients VALUES (1, 'Ada')",
		"CREATE DATABASE fkcli_billing",
		"CREATE TABLE fkcli_billing.invoices (id INT PRIMARY KEY, patient_id INT, CONSTRAINT fk_invoice_patient FOREIGN KEY (patient_id) REFERENCES fkcli_hms.patients (id))",
		"GRANT SELECT ON fkcli_billing.* TO '"+cfg.User+"'@'%'",
	); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Exec(context.Background(), "DROP DATABASE IF EXISTS fkcli_billing") })
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_DB_DRIVER": "mysql", "HMSBACKUP_DB_DSN": dsn}
	mustOK(t, cliRun(t, env, "create"))

	// The confirmation names the key before anything is done.
	r := cliRunIn(t, env, "no\n", true, "restore", "1")
	if !strings.Contains(r.stderr, "1 foreign key of OTHER databases refer to fkcli_hms") ||
		!strings.Contains(r.stderr, "fkcli_billing.invoices(patient_id) -> fkcli_hms.patients(id) [fk_invoice_patient]") {
		t.Errorf("confirmation does not name the foreign key:\n%s", r.stderr)
	}

	// Nothing broken: exit 0, and the key is listed as still holding.
	r = mustOK(t, cliRun(t, env, "restore", "1", "--force", "--json"))
	var out struct {
		Inbound []map[string]any `json:"inbound_foreign_keys"`
		Broken  []map[string]any `json:"broken_foreign_keys"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(out.Inbound) != 1 || out.Inbound[0]["database"] != "fkcli_billing" || out.Inbound[0]["name"] != "fk_invoice_patient" || len(out.Broken) != 0 {
		t.Errorf("--json after an harmless restore: %s", r.stdout)
	}

	// A patient the backup lacks is referred to by an invoice: the restore
	// completes, and says what it broke.
	if err := server.Exec(ctx, "INSERT INTO fkcli_hms.patients VALUES (2, 'Grace')", "INSERT INTO fkcli_billing.invoices VALUES (7, 2)"); err != nil {
		t.Fatal(err)
	}
	r = cliRun(t, env, "restore", "1", "--force")
	if code := exitCode(r.err); code != 7 {
		t.Errorf("restore that broke a foreign key: exit %d, want 7\n%s", code, r.stderr)
	}
	for _, want := range []string{
		"Restored backup 1",
		"WARNING: foreign key fkcli_billing.invoices(patient_id) -> fkcli_hms.patients(id) [fk_invoice_patient] is broken: 1 row of fkcli_billing.invoices refer to rows no longer in fkcli_hms.patients (e.g. patient_id = 2)",
		"the restore of fkcli_hms completed, but it broke 1 foreign key of other databases",
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if n := rootStrings(t, "SELECT COUNT(*) FROM fkcli_hms.patients"); n[0] != "1" {
		t.Errorf("the restore was not kept: %v patients, want 1", n)
	}
	audit := mustOK(t, cliRun(t, env, "audit", "--json", "--limit", "1")).stdout
	if !strings.Contains(audit, "foreign key from other databases broken by the restore") || !strings.Contains(audit, `"success"`) {
		t.Errorf("audit entry of the restore: %s", audit)
	}
}
