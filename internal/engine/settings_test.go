package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"github.com/hmsbackup/hmsbackup/internal/settings"
)

func settingsAudit(t *testing.T, f *fixture) []*backup.AuditEntry {
	t.Helper()
	action := backup.ActionSettings
	entries, _, err := f.cat.FindAuditEntries(context.Background(), backup.AuditFilter{Action: &action})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestUpdateSettingsSavesOnceAndAuditsTheKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	keys := secret.NewKeyring("", f.dir)
	const hook = "https://hooks.example/services/s3cr3tT0k3n"

	got, changes, err := f.eng.UpdateSettings(ctx, alice, []string{"schedule_time=03:30", "webhook_url=" + hook, "retention_daily=7"}, keys)
	if err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	if got.ScheduleTime != "03:30" || len(got.WebhookURLEnc) == 0 || got.UpdatedAt.IsZero() {
		t.Errorf("UpdateSettings returned %+v", got)
	}
	want := []settings.Change{{Key: "schedule_time", Old: "02:00", New: "03:30"}, {Key: "webhook_url", Old: "not set", New: "set"}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes = %v, want %v (retention_daily kept its value)", changes, want)
	}
	saved, _ := f.cat.Settings(ctx)
	if !reflect.DeepEqual(saved, got) {
		t.Errorf("saved %+v, returned %+v", saved, got)
	}
	if url, err := keys.Open("webhook_url", saved.WebhookURLEnc); err != nil || string(url) != hook {
		t.Errorf("saved webhook URL opens to %q, %v", url, err)
	}
	entries := settingsAudit(t, f)
	if len(entries) != 1 {
		t.Fatalf("%d settings audit entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Actor != "cli:alice" || e.Outcome != "success" || e.BackupID != nil ||
		e.Details != "changed schedule_time 02:00 -> 03:30, webhook_url not set -> set" {
		t.Errorf("audit entry %+v", e)
	}

	// Nothing changed: nothing saved, nothing audited.
	if _, changes, err := f.eng.UpdateSettings(ctx, alice, []string{"schedule_time=3:30"}, keys); err != nil || len(changes) != 0 {
		t.Errorf("no-op UpdateSettings = %v, %v", changes, err)
	}
	if again, _ := f.cat.Settings(ctx); !again.UpdatedAt.Equal(saved.UpdatedAt) {
		t.Errorf("a no-op update saved the settings again")
	}

	// Invalid: EINVALID wrapping settings.Errors; nothing saved or audited.
	_, _, err = f.eng.UpdateSettings(ctx, alice, []string{"schedule_time=04:00", "cron_expression=* * * * 9"}, keys)
	var fe settings.Errors
	if backup.ErrorCode(err) != backup.EINVALID || !errors.As(err, &fe) || fe["cron_expression"] != "day-of-week field: 9 is out of range 0-6 (0 = Sunday)" {
		t.Errorf("invalid UpdateSettings = %v", err)
	}
	if after, _ := f.cat.Settings(ctx); !reflect.DeepEqual(after, saved) {
		t.Errorf("an invalid update changed the settings: %+v", after)
	}
	if n := len(settingsAudit(t, f)); n != 1 {
		t.Errorf("%d settings audit entries after a refused update, want 1", n)
	}

	// The URL is in no file of the data directory, the audit included.
	filepath.Walk(f.dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if data, _ := os.ReadFile(path); strings.Contains(string(data), "s3cr3tT0k3n") {
				t.Errorf("%s holds the webhook URL in clear", path)
			}
		}
		return nil
	})
}
