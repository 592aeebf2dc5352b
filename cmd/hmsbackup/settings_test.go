package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// cliRunAt runs the CLI in-process with its clock at now.
func cliRunAt(t *testing.T, env map[string]string, now time.Time, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		isTerminal: func(any) bool { return false }, now: func() time.Time { return now }}
	err := c.execute(context.Background(), args)
	if err != nil {
		fmt.Fprintln(&errb, "hmsbackup: "+oneLine(err.Error()))
	}
	return cliResult{err: err, stdout: out.String(), stderr: errb.String()}
}

func settingsJSON(t *testing.T, env map[string]string) map[string]any {
	t.Helper()
	var m map[string]any
	r := mustOK(t, cliRun(t, env, "settings", "show", "--json"))
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("settings show --json is not JSON: %v\n%s", err, r.stdout)
	}
	return m
}

func settingsAuditEntries(t *testing.T, env map[string]string) []backup.AuditEntry {
	t.Helper()
	var entries []backup.AuditEntry
	if err := json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "audit", "--json")).stdout), &entries); err != nil {
		t.Fatal(err)
	}
	var out []backup.AuditEntry
	for _, e := range entries {
		if e.Action == backup.ActionSettings {
			out = append(out, e)
		}
	}
	return out
}

func TestSettingsShowAndSet(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_TIMEZONE": "Asia/Kolkata"}

	m := settingsJSON(t, env)
	var want []string
	typ := reflect.TypeFor[backup.Settings]()
	for i := range typ.NumField() {
		if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); name != "-" {
			want = append(want, name)
		}
	}
	want = append(want, "webhook_url", "google_credentials", "s3_secret_key", "effective_timezone", "overridden_by")
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("settings show --json fields %v, want %v", got, want)
	}
	if m["webhook_url"] != "not set" || m["google_credentials"] != "not set" || m["effective_timezone"] != "Asia/Kolkata" ||
		m["timezone"] != "" || m["schedule_time"] != "02:00" || m["max_backup_age"] != "26h0m0s" {
		t.Errorf("default settings: %v", m)
	}
	if emails, ok := m["notification_emails"].([]any); !ok || len(emails) != 0 {
		t.Errorf("notification_emails = %#v, want []", m["notification_emails"])
	}

	r := mustOK(t, cliRun(t, env, "settings", "set", "schedule_enabled=true", "schedule_frequency=weekly", "schedule_day=saturday",
		"schedule_time=3:15", "retention_monthly=12", "notification_emails=it@hospital.example, ops@hospital.example",
		"timezone=Europe/London", "max_backup_age=170h"))
	for _, line := range []string{"schedule_enabled: false -> true", "schedule_frequency: daily -> weekly", "schedule_day: 0 (Sunday) -> 6 (Saturday)",
		"schedule_time: 02:00 -> 03:15", "retention_monthly: 6 -> 12", `notification_emails: "" -> it@hospital.example, ops@hospital.example`,
		`timezone: "" -> Europe/London`, "max_backup_age: 26h0m0s -> 170h0m0s"} {
		if !strings.Contains(r.stdout, line+"\n") {
			t.Errorf("settings set printed %q, lacking %q", r.stdout, line)
		}
	}
	m = settingsJSON(t, env)
	if m["schedule_enabled"] != true || m["schedule_frequency"] != "weekly" || m["schedule_day"] != 6.0 || m["schedule_time"] != "03:15" ||
		m["retention_monthly"] != 12.0 || m["timezone"] != "Europe/London" || m["effective_timezone"] != "Europe/London" || m["max_backup_age"] != "170h0m0s" {
		t.Errorf("after set: %v", m)
	}
	if emails := m["notification_emails"].([]any); len(emails) != 2 || emails[1] != "ops@hospital.example" {
		t.Errorf("notification_emails = %v", emails)
	}
	text := mustOK(t, cliRun(t, env, "settings", "show")).stdout
	for _, line := range []string{"schedule_day            6 (Saturday)", "timezone                Europe/London", "webhook_url             not set", "effective_timezone      Europe/London"} {
		if !strings.Contains(text, line) {
			t.Errorf("settings show lacks %q:\n%s", line, text)
		}
	}

	audit := settingsAuditEntries(t, env)
	if len(audit) != 1 || audit[0].Outcome != "success" || !strings.HasPrefix(audit[0].Actor, "cli:") ||
		!strings.Contains(audit[0].Details, "schedule_time 02:00 -> 03:15") || !strings.Contains(audit[0].Details, "timezone \"\" -> Europe/London") {
		t.Errorf("settings audit: %+v", audit)
	}

	// Setting what is already there changes and audits nothing.
	if r := mustOK(t, cliRun(t, env, "settings", "set", "schedule_time=03:15")); !strings.Contains(r.stdout, "No setting changed") {
		t.Errorf("no-op set printed %q", r.stdout)
	}
	if n := len(settingsAuditEntries(t, env)); n != 1 {
		t.Errorf("%d settings audit entries after a no-op set, want 1", n)
	}
}

func TestSettingsSetInvalidChangesNothing(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	mustOK(t, cliRun(t, env, "settings", "set", "schedule_time=04:00", "notification_emails=it@hospital.example"))
	before := settingsJSON(t, env)
	cases := []struct {
		args []string
		want []string // each must be in the one-line message
	}{
		{[]string{"schedule_time=25:00"}, []string{`schedule_time: "25:00" is not a time of day HH:MM`}},
		{[]string{"cron_expression=61 * * * *"}, []string{"cron_expression: minute field: 61 is out of range 0-59"}},
		{[]string{"retention_daily=3", "schedule_day=8", "cron_expression=0 0 * 13 *", "notification_emails=it@hospital.example,Bob <bob@h.example>",
			"timezone=Mars/Olympus", "max_backup_age=3d", "webhook_url=gopher://x", "google_drive_enabled=perhaps", "colour=blue"},
			[]string{`schedule_day: "8" is not a weekday`, "cron_expression: month field: 13 is out of range 1-12",
				`notification_emails: "Bob <bob@h.example>" is not an e-mail address`, `timezone: "Mars/Olympus" is not an IANA time zone`,
				`max_backup_age: "3d" is not a duration`, `webhook_url: is not an http or https URL (it starts "gopher:")`,
				`google_drive_enabled: "perhaps" is not true or false`, "colour: no such setting"}},
		{[]string{"schedule_frequency=custom"}, []string{"cron_expression: is empty, but a custom schedule needs a 5-field cron expression"}},
		{[]string{"schedule_time=05:00", "schedule_time=06:00"}, []string{"schedule_time: given more than once"}},
		{[]string{"schedule_time"}, []string{"argument 1: is not KEY=VALUE"}},
	}
	for _, c := range cases {
		r := cliRun(t, env, append([]string{"settings", "set"}, c.args...)...)
		if code := exitCode(r.err); code != 2 {
			t.Errorf("settings set %v: exit %d, want 2 (%v)", c.args, code, r.err)
		}
		msg := strings.TrimSpace(r.stderr)
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "hmsbackup: settings not changed: ") {
			t.Errorf("settings set %v: stderr %q, want one line saying nothing changed", c.args, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("settings set %v: stderr %q lacks %q", c.args, msg, w)
			}
		}
		if after := settingsJSON(t, env); !reflect.DeepEqual(after, before) {
			t.Errorf("settings set %v failed but changed the settings:\n%v\n%v", c.args, before, after)
		}
	}
	if n := len(settingsAuditEntries(t, env)); n != 1 {
		t.Errorf("%d settings audit entries, want only the first, valid set", n)
	}
	if r := cliRun(t, env, "settings", "set"); exitCode(r.err) != 2 {
		t.Errorf("settings set without arguments: exit %d, want 2", exitCode(r.err))
	}
}

// filesHolding lists the files under dir whose bytes contain s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(s)) {
				found = append(found, path)
			}
		}
		return nil
	})
	return found
}

func TestWebhookURLIsSealed(t *testing.T) {
	const token = "XyZ9s3cr3tT0k3nAbC"
	hook := "https://hooks.slack.com/services/T0001/B0001/" + token
	dir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dir}
	keyFile := filepath.Join(dir, "secret.key")

	// No key file until a secret is set.
	mustOK(t, cliRun(t, env, "settings", "set", "retention_daily=8"))
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("secret.key made before a secret was set: %v", err)
	}

	// From standard input (webhook_url=-), so it stays out of argv.
	r := mustOK(t, cliRunIn(t, env, hook+"\n", false, "settings", "set", "webhook_url=-"))
	if !strings.Contains(r.stdout, "webhook_url: not set -> set") {
		t.Errorf("settings set webhook_url=- printed %q", r.stdout)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key after setting a secret: %v, mode %v; want 0600", err, fi)
	}
	// And as an argument.
	r = mustOK(t, cliRun(t, env, "settings", "set", "webhook_url="+hook+"2"))
	for _, out := range []string{r.stdout, r.stderr, mustOK(t, cliRun(t, env, "settings", "show")).stdout,
		mustOK(t, cliRun(t, env, "settings", "show", "--json")).stdout, mustOK(t, cliRun(t, env, "audit", "--json")).stdout} {
		if strings.Contains(out, token) || strings.Contains(out, "hooks.slack.com") {
			t.Errorf("output shows the webhook URL: %s", out)
		}
	}
	if m := settingsJSON(t, env); m["webhook_url"] != "set" {
		t.Errorf("webhook_url shown as %v, want set", m["webhook_url"])
	}
	if found := filesHolding(t, dir, token); len(found) > 0 {
		t.Errorf("the webhook URL's token is in clear in %v", found)
	}
	if found := filesHolding(t, dir, "hooks.slack.com"); len(found) > 0 {
		t.Errorf("the webhook URL is in clear in %v", found)
	}

	// Bad URLs are refused without repeating them.
	r = cliRun(t, env, "settings", "set", "webhook_url=hooks.slack.com/services/"+token)
	if exitCode(r.err) != 2 || !strings.Contains(r.stderr, "webhook_url: is not an http or https URL") || strings.Contains(r.stderr, token) {
		t.Errorf("a URL without scheme: exit %d, stderr %q", exitCode(r.err), r.stderr)
	}
	// Forgetting the key must not print the secret either.
	r = cliRun(t, env, "settings", "set", hook)
	if exitCode(r.err) != 2 || strings.Contains(r.stderr, token) {
		t.Errorf("a bare URL as argument: exit %d, stderr %q", exitCode(r.err), r.stderr)
	}

	// A key file others may read is refused, and nothing changes.
	before := settingsJSON(t, env)
	os.Chmod(keyFile, 0o644)
	r = cliRun(t, env, "settings", "set", "schedule_time=05:00", "webhook_url="+hook)
	if exitCode(r.err) != 2 || !strings.Contains(r.stderr, "webhook_url: cannot be sealed") || !strings.Contains(r.stderr, "mode 0644") ||
		!strings.Contains(r.stderr, "refusing to use it") {
		t.Errorf("loose key file: exit %d, stderr %q", exitCode(r.err), r.stderr)
	}
	if after := settingsJSON(t, env); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused set changed the settings")
	}
	os.Chmod(keyFile, 0o600)

	// Clearing needs no key.
	os.Rename(keyFile, keyFile+".away")
	if r := mustOK(t, cliRun(t, env, "settings", "set", "webhook_url=")); !strings.Contains(r.stdout, "webhook_url: set -> not set") {
		t.Errorf("clearing webhook_url printed %q", r.stdout)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Errorf("clearing a secret made a key file")
	}
}

func TestSecretKeyFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	env := map[string]string{"HMSBACKUP_DATA_DIR": dir, "HMSBACKUP_SECRET_KEY": key}
	mustOK(t, cliRun(t, env, "settings", "set", "webhook_url=https://example.org/hook"))
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !os.IsNotExist(err) {
		t.Errorf("a key file was made although HMSBACKUP_SECRET_KEY is set: %v", err)
	}

	before := settingsJSON(t, env)
	env["HMSBACKUP_SECRET_KEY"] = "dG9vIHNob3J0"
	r := cliRun(t, env, "settings", "set", "webhook_url=https://example.org/other", "retention_daily=1")
	if exitCode(r.err) != 2 || !strings.Contains(r.stderr, "HMSBACKUP_SECRET_KEY is malformed: it is base64 of 9 bytes, not 32") ||
		strings.Contains(r.stderr, "dG9vIHNob3J0") {
		t.Errorf("malformed HMSBACKUP_SECRET_KEY: exit %d, stderr %q", exitCode(r.err), r.stderr)
	}
	delete(env, "HMSBACKUP_SECRET_KEY")
	if after := settingsJSON(t, env); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused set changed the settings")
	}
}

func TestScheduleShow(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_TIMEZONE": "UTC"}
	now := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC) // Friday; New York springs forward on Sunday 8 March

	r := mustOK(t, cliRunAt(t, env, now, "", "schedule", "show"))
	for _, line := range []string{"Schedule:   disabled", "When:       every day at 02:00", "Time zone:  UTC", "Would run:  Sat 2026-03-07 02:00 UTC (UTC+00:00)"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("schedule show (defaults) lacks %q:\n%s", line, r.stdout)
		}
	}

	mustOK(t, cliRun(t, env, "settings", "set", "schedule_enabled=true", "schedule_time=02:30", "timezone=America/New_York"))
	r = mustOK(t, cliRunAt(t, env, now, "", "schedule", "show"))
	want := "Schedule:   enabled\n" +
		"When:       every day at 02:30\n" +
		"Time zone:  America/New_York\n" +
		"Next runs:  Sat 2026-03-07 02:30 EST (UTC-05:00)\n" +
		"            Sun 2026-03-08 03:00 EDT (UTC-04:00)\n" +
		"            Mon 2026-03-09 02:30 EDT (UTC-04:00)\n" +
		"            Tue 2026-03-10 02:30 EDT (UTC-04:00)\n" +
		"            Wed 2026-03-11 02:30 EDT (UTC-04:00)\n"
	if r.stdout != want {
		t.Errorf("schedule show:\n%s\nwant:\n%s", r.stdout, want)
	}

	mustOK(t, cliRun(t, env, "settings", "set", "schedule_frequency=custom", "cron_expression=30 1 * * 0", "timezone=America/New_York"))
	var got struct {
		Enabled   bool     `json:"enabled"`
		Frequency string   `json:"frequency"`
		Schedule  string   `json:"schedule"`
		Timezone  string   `json:"timezone"`
		NextRuns  []string `json:"next_runs"`
	}
	r = mustOK(t, cliRunAt(t, env, time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC), "", "schedule", "show", "--json"))
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("schedule show --json: %v\n%s", err, r.stdout)
	}
	wantRuns := []string{"2026-11-01T01:30:00-04:00", "2026-11-08T01:30:00-05:00", "2026-11-15T01:30:00-05:00", "2026-11-22T01:30:00-05:00", "2026-11-29T01:30:00-05:00"}
	if !got.Enabled || got.Frequency != "custom" || got.Schedule != `cron "30 1 * * 0": at 01:30, on Sunday` || got.Timezone != "America/New_York" ||
		!slices.Equal(got.NextRuns, wantRuns) {
		t.Errorf("schedule show --json = %+v, want runs %v", got, wantRuns)
	}

	// With no timezone setting, the process's zone (HMSBACKUP_TIMEZONE).
	mustOK(t, cliRun(t, env, "settings", "set", "timezone=", "schedule_frequency=weekly", "schedule_day=0", "schedule_time=02:15"))
	env["HMSBACKUP_TIMEZONE"] = "Australia/Lord_Howe" // springs from 02:00 to 02:30 on Sunday 4 October 2026
	r = mustOK(t, cliRunAt(t, env, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), "", "schedule", "show"))
	for _, line := range []string{"When:       every Sunday at 02:15", "Time zone:  Australia/Lord_Howe", "Next runs:  Sun 2026-10-04 02:30 +11 (UTC+11:00)",
		"            Sun 2026-10-11 02:15 +11 (UTC+11:00)"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("schedule show in Lord Howe lacks %q:\n%s", line, r.stdout)
		}
	}
}
