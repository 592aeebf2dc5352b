package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/dump/sqlite"
)

func TestCreateSampleDatabase(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data", "nested")
	p := filepath.Join(dir, "hms.db")
	if err := sqlite.CreateSampleDatabase(ctx, p); err != nil {
		t.Fatalf("CreateSampleDatabase: %v", err)
	}

	if got := queryString(t, p, "SELECT notice FROM sample_data_notice"); got != sqlite.SampleNotice {
		t.Errorf("notice = %q, want %q", got, sqlite.SampleNotice)
	}
	if !strings.Contains(sqlite.SampleNotice, "SAMPLE DATA") || !strings.Contains(sqlite.SampleNotice, "not real patient records") {
		t.Errorf("SampleNotice = %q, want it to say SAMPLE DATA and not real patient records", sqlite.SampleNotice)
	}
	checks := []struct{ query, want string }{
		{"SELECT count(*) FROM sample_data_notice", "1"},
		{"PRAGMA journal_mode", "wal"},
		{"PRAGMA integrity_check", "ok"},
		{"SELECT count(*) FROM pragma_foreign_key_check", "0"},
		{"SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND name = 'upcoming_appointments'", "1"},
		{"SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'", "1"},
		{"SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL", "1"},
		{"SELECT count(*) FROM patients WHERE medical_record_number NOT LIKE 'SAMPLE-%'", "0"},
		{"SELECT count(*) FROM pragma_foreign_key_list('appointments')", "2"},
		{`SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM doctors) + (SELECT count(*) FROM appointments)
			+ (SELECT count(*) FROM admissions) + (SELECT count(*) FROM prescriptions) + (SELECT count(*) FROM lab_results) BETWEEN 300 AND 2000`, "1"},
		{"SELECT count(*) >= 0 FROM upcoming_appointments", "1"},
		{"SELECT count(*) > 0 FROM appointments WHERE status = 'scheduled'", "1"},
	}
	for _, c := range checks {
		if got := queryString(t, p, c.query); got != c.want {
			t.Errorf("%s = %q, want %q", c.query, got, c.want)
		}
	}
	if got := listDir(t, dir); len(got) != 1 || got[0] != "hms.db" {
		t.Errorf("directory after CreateSampleDatabase holds %v, want only hms.db", got)
	}

	// Idempotent: a second call leaves the file as it is.
	before, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlite.CreateSampleDatabase(ctx, p); err != nil {
		t.Fatalf("second CreateSampleDatabase: %v", err)
	}
	after, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("second CreateSampleDatabase changed the database file")
	}

	// Deterministic: another sample database has the same content.
	other := filepath.Join(t.TempDir(), "other.db")
	if err := sqlite.CreateSampleDatabase(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, want := content(t, other), content(t, p); got != want {
		t.Errorf("two sample databases differ:\ngot:\n%s\nwant:\n%s", got, want)
	}

	// The trigger keeps updated_at current.
	db := openTestDB(t, p, "mode=rw")
	defer db.Close()
	if _, err := db.Exec("UPDATE patients SET phone = '555-0199' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var created, updated string
	if err := db.QueryRow("SELECT created_at, updated_at FROM patients WHERE id = 1").Scan(&created, &updated); err != nil {
		t.Fatal(err)
	}
	if updated <= created {
		t.Errorf("after an update, updated_at = %q, want it later than created_at %q", updated, created)
	}
}

func TestCreateSampleDatabaseKeepsExistingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hms.db")
	want := []byte("an existing file that is not ours to touch")
	if err := os.WriteFile(p, want, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.CreateSampleDatabase(context.Background(), p); err != nil {
		t.Fatalf("CreateSampleDatabase: %v", err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("file = %q, want %q", got, want)
	}
}

func TestCreateSampleDatabaseCancelled(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hms.db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sqlite.CreateSampleDatabase(ctx, p)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CreateSampleDatabase error = %v, want context.Canceled", err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("directory holds %v, want it empty", got)
	}
}
