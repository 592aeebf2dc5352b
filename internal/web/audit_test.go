package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// The audit page filters by user, action, backup, outcome and dates, as
// HTML, JSON and CSV; hostile filter values are only ever data.
func TestAuditLogFiltersAndExport(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	viewer := ts.addUser("victor", "viewer")
	b := ts.backupNow()
	id := strconv.FormatInt(b.ID, 10)
	admin.page("GET", "/backups/"+id, nil)                      // view, by alice
	viewer.page("POST", "/backups/"+id+"/delete", url.Values{}) // denied, by victor
	injected := "=HYPERLINK(\"http://evil\")"
	if err := ts.Catalog.AddAuditEntry(t.Context(), &backup.AuditEntry{Actor: "cli:mallory", Action: "verify", Outcome: "failure", Details: injected, BackupID: &b.ID}); err != nil {
		t.Fatal(err)
	}

	var got auditList
	if code := viewer.api("GET", "/api/v1/audit?user=victor&outcome=denied", nil, &got); code != 200 || got.Total != 1 || got.Entries[0].Action != "delete" || *got.Entries[0].BackupID != b.ID {
		t.Fatalf("denied delete by victor: %d %+v", code, got)
	}
	if code := viewer.api("GET", "/api/v1/audit?backup="+id+"&action=view", nil, &got); code != 200 || got.Total != 1 || got.Entries[0].Actor != "alice" {
		t.Fatalf("views of the backup: %d %+v", code, got)
	}
	today := time.Now().In(ts.Server.location()).Format("2006-01-02")
	tomorrow := time.Now().In(ts.Server.location()).AddDate(0, 0, 1).Format("2006-01-02")
	if code := viewer.api("GET", "/api/v1/audit?from="+today+"&to="+today+"&user=cli:mallory", nil, &got); code != 200 || got.Total != 1 {
		t.Fatalf("today's entries by mallory: %d %+v", code, got)
	}
	if code := viewer.api("GET", "/api/v1/audit?from="+tomorrow, nil, &got); code != 200 || got.Total != 0 {
		t.Fatalf("entries from tomorrow: %d %+v", code, got)
	}
	var e apiError
	for q, field := range map[string]string{"backup=1%20OR%201=1": "backup", "outcome=x": "outcome", "from=yesterday": "from", "page=-1": "page"} {
		if code := viewer.api("GET", "/api/v1/audit?"+q, nil, &e); code != http.StatusUnprocessableEntity || e.Error.Field != field {
			t.Errorf("%s: %d %+v", q, code, e)
		}
	}
	before := len(ts.audit())
	for _, hostile := range []string{"' OR '1'='1", "alice'; DROP TABLE backup_logs; --", `%`, `_`, "\x00"} {
		if code := viewer.api("GET", "/api/v1/audit?user="+url.QueryEscape(hostile)+"&action="+url.QueryEscape(hostile), nil, &got); code != 200 || got.Total != 0 {
			t.Errorf("filter %q: %d, %d entries", hostile, code, got.Total)
		}
	}
	if after := len(ts.audit()); after != before+5 {
		t.Fatalf("the trail had %d entries, now %d: want one more per look and nothing lost", before, after)
	}

	code, body := viewer.page("GET", "/audit?user=alice&action=view", nil)
	if code != 200 || !strings.Contains(body, "<td>alice</td><td>view</td>") || strings.Contains(body, "<td>victor</td><td>delete</td>") {
		t.Fatalf("audit page filtered by alice's views: %d", code)
	}
	code, body = viewer.page("GET", "/audit.csv?backup="+id, nil)
	if code != 200 {
		t.Fatalf("CSV: %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) < 4 {
		t.Fatalf("CSV rows %d, %v:\n%s", len(rows), err, body)
	}
	var sawInjected bool
	for _, row := range rows[1:] {
		for _, cell := range row {
			if strings.HasPrefix(cell, "=") {
				t.Fatalf("a CSV cell starts a formula: %q", cell)
			}
			if cell == "'"+injected {
				sawInjected = true
			}
		}
	}
	if !sawInjected {
		t.Fatalf("the CSV lacks the (quoted) entry:\n%s", body)
	}
	var exported bool
	for _, e := range ts.audit() {
		if e.Action == ActionAuditExport && e.Actor == "victor" {
			exported = true
		}
	}
	if !exported {
		t.Fatal("the CSV export was not audited")
	}
}
