package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/settings"
)

// An invalid form comes back with the message next to the field and saves
// nothing; a valid one saves everything, is audited by key (never a
// secret's value), and shows the next runs; a secret is write-only.
func TestSettingsFormIsAllOrNothingAndSecretsAreWriteOnly(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	before, err := ts.Catalog.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	hook := "https://hooks.example.org/T0KEN-s3cr3t-4815162342"
	form := url.Values{"schedule_enabled": {"false", "true"}, "schedule_frequency": {"custom"}, "cron_expression": {"61 25 * * *"},
		"schedule_time": {"02:00"}, "retention_daily": {"9"}, "webhook_url": {hook}}
	code, body := admin.page("POST", "/settings", form)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `class="field-error"`) || !strings.Contains(body, "Nothing was saved") {
		t.Fatalf("invalid cron: %d\n%s", code, body)
	}
	if !strings.Contains(body, `value="61 25 * * *"`) || !strings.Contains(body, `value="9"`) {
		t.Error("the invalid form did not come back as typed")
	}
	if strings.Contains(body, "T0KEN") {
		t.Error("the typed webhook URL (a secret) was sent back")
	}
	after, _ := ts.Catalog.Settings(t.Context())
	if after.RetentionDaily != before.RetentionDaily || after.ScheduleEnabled != before.ScheduleEnabled || len(after.WebhookURLEnc) != 0 {
		t.Fatalf("an invalid form saved something: %+v", after)
	}

	// As a browser sends it: multipart.
	form.Set("cron_expression", "30 1 * * 1-5")
	code, body = admin.multipart("/settings", form)
	if code != 200 || !strings.Contains(body, "Saved:") || !strings.Contains(body, "Next runs") || strings.Count(body, "<li>") < 5 {
		t.Fatalf("valid form: %d\n%s", code, body)
	}
	after, _ = ts.Catalog.Settings(t.Context())
	if !after.ScheduleEnabled || after.CronExpression != "30 1 * * 1-5" || after.RetentionDaily != 9 || len(after.WebhookURLEnc) == 0 {
		t.Fatalf("saved: %+v", after)
	}
	code, body = admin.page("GET", "/settings", nil)
	if code != 200 || strings.Contains(body, "T0KEN") || !strings.Contains(body, `badge ok">set`) {
		t.Fatalf("settings page shows the secret or not its state: %d", code)
	}
	// Saving again without typing it keeps the secret.
	form.Del("webhook_url")
	form.Set("retention_daily", "10")
	admin.page("POST", "/settings", form)
	if s, _ := ts.Catalog.Settings(t.Context()); len(s.WebhookURLEnc) == 0 || s.RetentionDaily != 10 {
		t.Fatalf("an empty secret field removed the secret: %+v", s)
	}
	var audited bool
	for _, e := range ts.audit() {
		if strings.Contains(e.Details, "T0KEN") {
			t.Fatalf("audit entry holds the secret: %+v", e)
		}
		if e.Action == "settings" && e.Outcome == "success" && strings.Contains(e.Details, "cron_expression") && strings.Contains(e.Details, "webhook_url not set -> set") {
			audited = true
		}
	}
	if !audited {
		t.Fatalf("no audit entry names the changed keys: %+v", ts.audit())
	}
	// Nor is it anywhere in the catalog file in clear.
	raw, err := os.ReadFile(filepath.Join(ts.Dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(ts.Dir, "catalog.db-wal"))
	if strings.Contains(string(raw)+string(wal), "T0KEN") {
		t.Fatal("the webhook URL is in the catalog file in clear")
	}

	op := ts.addUser("bob", "operator")
	if code, _ := op.page("GET", "/settings", nil); code != http.StatusForbidden {
		t.Fatalf("operator GET /settings: %d", code)
	}
	if code, _ := op.page("POST", "/settings", url.Values{"retention_daily": {"1"}}); code != http.StatusForbidden {
		t.Fatalf("operator POST /settings: %d", code)
	}
	if s, _ := ts.Catalog.Settings(t.Context()); s.RetentionDaily != 10 {
		t.Fatal("a denied POST changed the settings")
	}
}

// PUT /api/v1/settings is all or nothing, names the bad fields, never
// returns a secret, and needs backups.manage-settings.
func TestSettingsAPI(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	op := ts.addUser("bob", "operator")
	var e apiError
	code := admin.api("PUT", "/api/v1/settings", map[string]any{"schedule_enabled": true, "schedule_frequency": "custom",
		"cron_expression": "not cron", "retention_daily": -3, "notification_emails": []string{"ok@example.org"}}, &e)
	if code != http.StatusUnprocessableEntity || e.Error.Field == "" || e.Error.Fields["cron_expression"] == "" || e.Error.Fields["retention_daily"] == "" {
		t.Fatalf("invalid PUT: %d %+v", code, e)
	}
	if s, _ := ts.Catalog.Settings(t.Context()); s.ScheduleEnabled || len(s.NotificationEmails) != 0 {
		t.Fatalf("an invalid PUT saved something: %+v", s)
	}
	var got settings.View
	hook := "https://hooks.example.org/T0KEN-9f8e7d"
	code = admin.api("PUT", "/api/v1/settings", map[string]any{"schedule_enabled": true, "schedule_frequency": "weekly", "schedule_day": 3,
		"schedule_time": "04:15", "notification_emails": []string{"a@example.org", "b@example.org"}, "webhook_url": hook}, &got)
	if code != 200 || !got.ScheduleEnabled || got.ScheduleDay != 3 || got.ScheduleTime != "04:15" || len(got.NotificationEmails) != 2 || !got.SecretsSet["webhook_url"] {
		t.Fatalf("valid PUT: %d %+v", code, got)
	}
	var raw map[string]any
	admin.api("GET", "/api/v1/settings", nil, &raw)
	if b, _ := json.Marshal(raw); strings.Contains(string(b), "T0KEN") || !strings.Contains(string(b), `"webhook_url":true`) {
		t.Fatalf("GET settings: %s", b)
	}
	if code := op.api("PUT", "/api/v1/settings", map[string]any{"schedule_enabled": false}, &e); code != http.StatusForbidden {
		t.Fatalf("operator PUT: %d", code)
	}
	if code := op.api("GET", "/api/v1/settings", nil, &e); code != http.StatusForbidden {
		t.Fatalf("operator GET: %d", code)
	}
	if s, _ := ts.Catalog.Settings(t.Context()); !s.ScheduleEnabled {
		t.Fatal("a denied PUT changed the settings")
	}
}
