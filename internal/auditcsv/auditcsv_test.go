package auditcsv_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/auditcsv"
	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
)

func TestWriteEscapesAndDefusesFormulas(t *testing.T) {
	seven := int64(7)
	entries := []*backup.AuditEntry{
		{ID: 3, CreatedAt: time.Date(2026, 11, 29, 8, 30, 15, 123, time.FixedZone("CET", 3600)), Actor: "=HYPERLINK(\"http://evil\",\"x\")",
			UserID: &seven, Action: "create", BackupID: &seven, Outcome: "success",
			Details: "a, \"quoted\"\nsecond line", SourceAddress: "+1-555", UserAgent: "@SUM(A1:A9)"},
		{ID: 2, CreatedAt: time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC), Actor: "-2+3", Action: "sign-in", Outcome: "failure",
			Details: "\tcmd", UserAgent: "-1"},
		{ID: 1, CreatedAt: time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC), Actor: "cli:root", Action: "restore", Outcome: "success", Details: "plain 1+1=2"},
	}
	var buf bytes.Buffer
	if err := auditcsv.Write(&buf, entries); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "id,created_at,actor,user_id,action,backup_id,outcome,details,source_address,user_agent\r\n") {
		t.Errorf("header line: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the output is not CSV a reader accepts: %v\n%s", err, buf.String())
	}
	want := [][]string{
		auditcsv.Header,
		{"3", "2026-11-29T07:30:15Z", "'=HYPERLINK(\"http://evil\",\"x\")", "7", "create", "7", "success", "a, \"quoted\"\nsecond line", "'+1-555", "'@SUM(A1:A9)"},
		{"2", "2026-11-28T23:00:00Z", "'-2+3", "", "sign-in", "", "failure", "'\tcmd", "", "'-1"},
		{"1", "2026-11-28T22:00:00Z", "cli:root", "", "restore", "", "success", "plain 1+1=2", "", ""},
	}
	if fmt.Sprintf("%q", rows) != fmt.Sprintf("%q", want) {
		t.Errorf("rows:\n got %q\nwant %q", rows, want)
	}
	// No cell a spreadsheet would evaluate: none starts with = + - @.
	for _, r := range rows[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}
}

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "alice": "alice", "=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@x": "'@x",
		"\t=1": "'\t=1", "\r=1": "'\r=1", "a=b": "a=b", "'=1": "'=1",
	} {
		if got := auditcsv.Safe(in); got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteNoEntriesIsTheHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := auditcsv.Write(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if buf.String() != strings.Join(auditcsv.Header, ",")+"\r\n" {
		t.Errorf("empty export = %q", buf.String())
	}
}

// growingCatalog adds an entry after each page is read, as a busy server
// would while an export runs.
type growingCatalog struct {
	*sqlite.Catalog
	t   *testing.T
	tag string // the added entries' details
}

func (g growingCatalog) FindAuditEntries(ctx context.Context, f backup.AuditFilter) ([]*backup.AuditEntry, int, error) {
	es, total, err := g.Catalog.FindAuditEntries(ctx, f)
	if err := g.AddAuditEntry(ctx, &backup.AuditEntry{Actor: "late", Action: backup.ActionCreate, Outcome: "late", Details: g.tag}); err != nil {
		g.t.Fatal(err)
	}
	return es, total, err
}

func TestExportPagesThroughEverythingOnce(t *testing.T) {
	ctx := t.Context()
	c, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 2*auditcsv.PageSize + 17
	for i := range n {
		outcome := "success"
		if i%2 == 1 {
			outcome = "failure"
		}
		if err := c.AddAuditEntry(ctx, &backup.AuditEntry{Actor: fmt.Sprintf("user%d", i%3), Action: backup.ActionDownload, Outcome: outcome, Details: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, f backup.AuditFilter, want int) {
		t.Helper()
		var buf bytes.Buffer
		got, err := auditcsv.Export(ctx, growingCatalog{c, t, name}, f, &buf)
		if err != nil {
			t.Fatalf("%s: Export: %v", name, err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want || len(rows) != want+1 {
			t.Fatalf("%s: Export wrote %d entries and %d rows, want %d entries", name, got, len(rows), want)
		}
		ids := map[string]bool{}
		for _, r := range rows[1:] {
			if ids[r[0]] {
				t.Fatalf("%s: entry %s exported twice", name, r[0])
			}
			ids[r[0]] = true
			if r[7] == name {
				t.Fatalf("%s: an entry added during the export was exported: %q", name, r)
			}
			if f.Outcome != "" && r[6] != f.Outcome {
				t.Fatalf("%s: row %q does not match the filter", name, r)
			}
		}
	}
	check("all", backup.AuditFilter{}, n) // first: no entries of an earlier export yet
	check("failures", backup.AuditFilter{Outcome: "failure"}, n/2)
	check("limit across pages", backup.AuditFilter{Limit: auditcsv.PageSize + 5}, auditcsv.PageSize+5)
	check("offset", backup.AuditFilter{Outcome: "failure", Offset: n/2 - 10}, 10)
}
