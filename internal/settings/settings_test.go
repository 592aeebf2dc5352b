package settings_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"github.com/hmsbackup/hmsbackup/internal/settings"
	"pgregory.net/rapid"
)

const hook = "https://hooks.slack.com/services/T0000/B0000/s3cr3tT0k3n"

func newBox(t testing.TB) *secret.Box {
	t.Helper()
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every JSON field of backup.Settings is a key (updated_at is the
// catalog's), so a field added there cannot be forgotten here.
func TestEveryJSONFieldIsAKey(t *testing.T) {
	var want []string
	typ := reflect.TypeFor[backup.Settings]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" && name != "updated_at" {
			want = append(want, name)
		}
	}
	secrets := []string{"webhook_url", "google_credentials", "s3_secret_key"} // the sealed fields
	want = append(want, secrets...)
	got := settings.Keys()
	if !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
	for _, k := range got {
		if settings.IsSecret(k) != slices.Contains(secrets, k) {
			t.Errorf("IsSecret(%q) = %v", k, settings.IsSecret(k))
		}
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestSetGoodValues(t *testing.T) {
	cases := []struct {
		key, value string
		check      func(backup.Settings) bool
	}{
		{"schedule_enabled", "true", func(s backup.Settings) bool { return s.ScheduleEnabled }},
		{"schedule_enabled", "YES", func(s backup.Settings) bool { return s.ScheduleEnabled }},
		{"schedule_enabled", "off", func(s backup.Settings) bool { return !s.ScheduleEnabled }},
		{"schedule_frequency", "Weekly", func(s backup.Settings) bool { return s.ScheduleFrequency == "weekly" }},
		{"schedule_frequency", "custom", func(s backup.Settings) bool { return s.ScheduleFrequency == "custom" }},
		{"schedule_time", "3:05", func(s backup.Settings) bool { return s.ScheduleTime == "03:05" }},
		{"schedule_time", "23:59", func(s backup.Settings) bool { return s.ScheduleTime == "23:59" }},
		{"schedule_day", "6", func(s backup.Settings) bool { return s.ScheduleDay == 6 }},
		{"schedule_day", "Sunday", func(s backup.Settings) bool { return s.ScheduleDay == 0 }},
		{"schedule_day", "wed", func(s backup.Settings) bool { return s.ScheduleDay == 3 }},
		{"cron_expression", "  0  */6 * * * ", func(s backup.Settings) bool { return s.CronExpression == "0 */6 * * *" }},
		{"cron_expression", "", func(s backup.Settings) bool { return s.CronExpression == "" }},
		{"cron_expression", "@daily", func(s backup.Settings) bool { return s.CronExpression == "@daily" }},
		{"retention_daily", "0", func(s backup.Settings) bool { return s.RetentionDaily == 0 }},
		{"retention_weekly", "52", func(s backup.Settings) bool { return s.RetentionWeekly == 52 }},
		{"retention_monthly", " 120 ", func(s backup.Settings) bool { return s.RetentionMonthly == 120 }},
		{"notification_emails", "it@hospital.example, dr.ñúñez@hospital.example,", func(s backup.Settings) bool {
			return reflect.DeepEqual(s.NotificationEmails, []string{"it@hospital.example", "dr.ñúñez@hospital.example"})
		}},
		{"notification_emails", "", func(s backup.Settings) bool { return s.NotificationEmails == nil }},
		{"google_drive_enabled", "1", func(s backup.Settings) bool { return s.GoogleDriveEnabled }},
		{"google_drive_folder_id", "0BxAbC-d_9", func(s backup.Settings) bool { return s.GoogleDriveFolderID == "0BxAbC-d_9" }},
		{"timezone", "Australia/Lord_Howe", func(s backup.Settings) bool { return s.Timezone == "Australia/Lord_Howe" }},
		{"timezone", "UTC", func(s backup.Settings) bool { return s.Timezone == "UTC" }},
		{"timezone", "", func(s backup.Settings) bool { return s.Timezone == "" }},
		{"max_backup_age", "1h30m", func(s backup.Settings) bool { return s.MaxBackupAge == backup.Duration(90*time.Minute) }},
		{"max_backup_age", "1s", func(s backup.Settings) bool { return s.MaxBackupAge == backup.Duration(time.Second) }},
		{"webhook_url", "", func(s backup.Settings) bool { return s.WebhookURLEnc == nil }},
	}
	for _, c := range cases {
		s := backup.DefaultSettings()
		s.Timezone = "Europe/Berlin"
		s.WebhookURLEnc = []byte("old")
		if err := settings.Set(&s, c.key, c.value, nil); err != nil {
			t.Errorf("Set(%s=%q): %v", c.key, c.value, err)
			continue
		}
		if !c.check(s) {
			t.Errorf("Set(%s=%q) gave %+v", c.key, c.value, s)
		}
	}
}

func TestSetBadValuesNameTheKeyAndChangeNothing(t *testing.T) {
	cases := []struct{ key, value, want string }{
		{"schedule_enabled", "maybe", `"maybe" is not true or false`},
		{"schedule_frequency", "hourly", `"hourly" is not daily, weekly or custom`},
		{"schedule_time", "25:00", `"25:00" is not a time of day HH:MM (00:00 to 23:59)`},
		{"schedule_time", "2pm", `"2pm" is not a time of day HH:MM`},
		{"schedule_day", "7", `"7" is not a weekday 0-6 (0 = Sunday) or a day name such as sunday`},
		{"schedule_day", "-1", `"-1" is not a weekday 0-6`},
		{"cron_expression", "61 * * * *", "minute field: 61 is out of range 0-59"},
		{"cron_expression", "* * * *", "expected 5 fields"},
		{"retention_daily", "-1", "-1 is negative: give 0 or more"},
		{"retention_weekly", "four", `"four" is not a whole number`},
		{"retention_monthly", "1.5", `"1.5" is not a whole number`},
		{"notification_emails", "it@hospital.example, not-an-address", `"not-an-address" is not an e-mail address`},
		{"notification_emails", "IT <it@hospital.example>", `"IT <it@hospital.example>" is not an e-mail address (give bare addresses`},
		{"notification_emails", "<it@hospital.example>", `"<it@hospital.example>" is not an e-mail address`},
		{"notification_emails", "a@b.example;c@d.example", `is not an e-mail address`},
		{"notification_emails", "it@hospital.example,IT@hospital.example", `"IT@hospital.example" is listed twice`},
		{"google_drive_enabled", "2", `"2" is not true or false`},
		{"google_drive_folder_id", "../../etc", `"../../etc" is not a Drive folder id`},
		{"timezone", "Mars/Olympus", `"Mars/Olympus" is not an IANA time zone`},
		{"timezone", "Local", `"Local" is not an IANA zone: give "" for the server's zone`},
		{"timezone", "../../../etc/passwd", "is not an IANA time zone"},
		{"max_backup_age", "2d", `"2d" is not a duration such as 26h, 90m or 1h30m (units s, m, h)`},
		{"max_backup_age", "0s", "0s is too short: give at least 1s"},
		{"max_backup_age", "-5h", "-5h0m0s is too short"},
		{"max_backup_age", "1500ms", "1.5s has a fraction of a second: give whole seconds"},
		{"webhook_url", "ftp://hooks.example/s3cr3tT0k3n", `is not an http or https URL (it starts "ftp:")`},
		{"webhook_url", "hooks.slack.com/services/s3cr3tT0k3n", "is not an http or https URL"},
		{"webhook_url", "https:///services/s3cr3tT0k3n", "has no host"},
		{"webhook_url", "https://hooks.example/a b/s3cr3tT0k3n", "is not a URL (the value is not repeated here: it may hold a token)"},
		{"webhook_url", "https://hooks.example/%zz/s3cr3tT0k3n", "is not a URL"},
		{"webhook_url", "https://hooks.example/" + strings.Repeat("s3cr3tT0k3n", 200), "characters long: at most 2048"},
		{"no_such_key", "1", "no such setting (the settings are schedule_enabled, schedule_frequency,"},
		{"updated_at", "2026-01-01", "no such setting"},
	}
	for _, c := range cases {
		s := backup.DefaultSettings()
		s.NotificationEmails = []string{"old@hospital.example"}
		before := s
		err := settings.Set(&s, c.key, c.value, newBox(t))
		var fe settings.Errors
		if !errors.As(err, &fe) || len(fe) != 1 || !strings.Contains(fe[c.key], c.want) {
			t.Errorf("Set(%s=%q) = %v, want Errors{%s: ...%s...}", c.key, c.value, err, c.key, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), c.key+": ") {
			t.Errorf("Set(%s=%q) error %q does not start with the key", c.key, c.value, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3tT0k3n") {
			t.Errorf("Set(%s=...) error shows the secret: %v", c.key, err)
		}
		if !reflect.DeepEqual(s, before) {
			t.Errorf("Set(%s=%q) failed but changed the settings: %+v", c.key, c.value, s)
		}
	}
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	if err := settings.Validate(backup.DefaultSettings()); err != nil {
		t.Fatalf("Validate(defaults) = %v", err)
	}
	s := backup.Settings{
		ScheduleFrequency:  "hourly",
		ScheduleTime:       "2:30", // stored values must be canonical
		ScheduleDay:        9,
		CronExpression:     "* * * 13 *",
		RetentionDaily:     -1,
		RetentionWeekly:    -2,
		RetentionMonthly:   -3,
		NotificationEmails: []string{"x"},
		GoogleDriveEnabled: true,
		Timezone:           "Nowhere/Town",
		MaxBackupAge:       0,
	}
	err := settings.Validate(s)
	var fe settings.Errors
	if !errors.As(err, &fe) {
		t.Fatalf("Validate = %v, want Errors", err)
	}
	want := []string{"schedule_frequency", "schedule_time", "schedule_day", "cron_expression", "retention_daily", "retention_weekly",
		"retention_monthly", "notification_emails", "google_drive_folder_id", "google_credentials", "timezone", "max_backup_age"}
	var got []string
	for k := range fe {
		got = append(got, k)
	}
	if !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("Validate named %v, want %v", sorted(got), sorted(want))
	}
	// Error lists them in the settings' order.
	msg := err.Error()
	last := -1
	for _, k := range settings.Keys() {
		if i := strings.Index(msg, k+": "); i >= 0 {
			if i < last {
				t.Errorf("Error() lists %s out of order: %s", k, msg)
			}
			last = i
		}
	}
	if !strings.Contains(msg, "month field: 13 is out of range 1-12") || !strings.Contains(msg, "google_drive_folder_id: is empty, but google_drive_enabled is true") {
		t.Errorf("Error() = %s", msg)
	}
}

func TestValidateHowSettingsFitTogether(t *testing.T) {
	cases := []struct {
		change func(*backup.Settings)
		key    string // "" when valid
	}{
		{func(s *backup.Settings) { s.ScheduleFrequency = "custom" }, "cron_expression"},
		{func(s *backup.Settings) {
			s.ScheduleFrequency = "custom"
			s.CronExpression = "0 3 * * *"
			s.ScheduleTime = ""
		}, ""},
		{func(s *backup.Settings) { s.ScheduleTime = "" }, "schedule_time"},
		{func(s *backup.Settings) { s.ScheduleFrequency = "weekly"; s.ScheduleTime = "" }, "schedule_time"},
		{func(s *backup.Settings) { s.CronExpression = "junk" }, "cron_expression"}, // stored, even if unused
		{func(s *backup.Settings) { s.GoogleDriveEnabled = true; s.GoogleCredentialsEnc = []byte("sealed") }, "google_drive_folder_id"},
		{func(s *backup.Settings) { s.GoogleDriveEnabled = true; s.GoogleDriveFolderID = "abc" }, "google_credentials"},
		{func(s *backup.Settings) {
			s.GoogleDriveEnabled, s.GoogleDriveFolderID, s.GoogleCredentialsEnc = true, "abc", []byte("sealed")
		}, ""},
		{func(s *backup.Settings) { s.GoogleDriveFolderID = "abc" }, ""}, // kept while Drive is off
		{func(s *backup.Settings) { s.S3Bucket = "hms" }, "s3_endpoint"},
		{func(s *backup.Settings) { s.S3Bucket, s.S3Endpoint = "hms", "minio:9000" }, ""}, // a public bucket
		{func(s *backup.Settings) { s.S3Bucket, s.S3Endpoint, s.S3AccessKey = "hms", "minio:9000", "AK" }, "s3_secret_key"},
		{func(s *backup.Settings) {
			s.S3Bucket, s.S3Endpoint, s.S3SecretKeyEnc = "hms", "minio:9000", []byte("sealed")
		}, "s3_access_key"},
		{func(s *backup.Settings) {
			s.S3Bucket, s.S3Endpoint, s.S3AccessKey, s.S3SecretKeyEnc = "hms", "minio:9000", "AK", []byte("sealed")
		}, ""},
	}
	for i, c := range cases {
		s := backup.DefaultSettings()
		c.change(&s)
		err := settings.Validate(s)
		var fe settings.Errors
		switch {
		case c.key == "" && err != nil:
			t.Errorf("case %d: Validate(%+v) = %v, want nil", i, s, err)
		case c.key != "" && (!errors.As(err, &fe) || len(fe) != 1 || fe[c.key] == ""):
			t.Errorf("case %d: Validate(%+v) = %v, want one error for %s", i, s, err, c.key)
		}
	}
}

func TestApplyIsAllOrNothing(t *testing.T) {
	box := newBox(t)
	s := backup.DefaultSettings()
	before := s

	// Several bad keys: all named, nothing changed.
	got, changes, err := settings.Apply(s, []string{"schedule_time=03:00", "schedule_day=8", "cron_expression=61 * * * *",
		"retention_daily=-1", "bogus=1", "schedule_time=04:00", hook, "webhook_url=" + hook}, box)
	var fe settings.Errors
	if !errors.As(err, &fe) {
		t.Fatalf("Apply = %v, want Errors", err)
	}
	want := map[string]string{
		"schedule_day":    `"8" is not a weekday`,
		"cron_expression": "minute field: 61 is out of range 0-59",
		"retention_daily": "-1 is negative",
		"bogus":           "no such setting",
		"schedule_time":   "given more than once",
		"argument 7":      "is not KEY=VALUE with a setting's name as KEY",
	}
	for k, w := range want {
		if !strings.Contains(fe[k], w) {
			t.Errorf("Apply's error for %s = %q, want %q", k, fe[k], w)
		}
	}
	if len(fe) != len(want) {
		t.Errorf("Apply named %d keys, want %d: %v", len(fe), len(want), err)
	}
	if strings.Contains(err.Error(), "s3cr3tT0k3n") {
		t.Errorf("Apply's error shows the secret: %v", err)
	}
	if !reflect.DeepEqual(got, before) || changes != nil {
		t.Errorf("a failed Apply returned changed settings %+v, changes %v", got, changes)
	}

	// A value valid alone that breaks the whole: refused.
	if _, _, err := settings.Apply(s, []string{"schedule_frequency=custom"}, nil); err == nil || !strings.Contains(err.Error(), "cron_expression: is empty, but a custom schedule needs") {
		t.Errorf("Apply(schedule_frequency=custom) without a cron = %v", err)
	}

	// Good ones: applied together, changes reported in the order given.
	got, changes, err = settings.Apply(s, []string{"schedule_frequency=custom", "cron_expression=0 */6 * * *", "schedule_time=02:00",
		"webhook_url=" + hook, "timezone=America/New_York", "notification_emails=a@h.example,b@h.example"}, box)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantChanges := []settings.Change{
		{Key: "schedule_frequency", Old: "daily", New: "custom"},
		{Key: "cron_expression", Old: "", New: "0 */6 * * *"},
		{Key: "webhook_url", Old: "not set", New: "set"},
		{Key: "timezone", Old: "", New: "America/New_York"},
		{Key: "notification_emails", Old: "", New: "a@h.example, b@h.example"},
	}
	if !reflect.DeepEqual(changes, wantChanges) {
		t.Errorf("changes = %v, want %v", changes, wantChanges)
	}
	if got.ScheduleFrequency != "custom" || got.CronExpression != "0 */6 * * *" || got.Timezone != "America/New_York" || len(got.NotificationEmails) != 2 {
		t.Errorf("Apply gave %+v", got)
	}
	if strings.Contains(string(got.WebhookURLEnc), "s3cr3tT0k3n") || strings.Contains(string(got.WebhookURLEnc), "hooks.slack.com") {
		t.Error("the webhook URL is stored in clear")
	}
	if url, err := box.Open("webhook_url", got.WebhookURLEnc); err != nil || string(url) != hook {
		t.Errorf("the sealed webhook URL opens to %q, %v", url, err)
	}
	if err := settings.Validate(got); err != nil {
		t.Errorf("Apply's result does not validate: %v", err)
	}
	if !reflect.DeepEqual(s, before) {
		t.Errorf("Apply changed its argument")
	}
}

type failingSealer struct{}

func (failingSealer) Seal(string, []byte) ([]byte, error) {
	return nil, errors.New("HMSBACKUP_SECRET_KEY is malformed")
}

func TestWebhookNeedsASealer(t *testing.T) {
	s := backup.DefaultSettings()
	if err := settings.Set(&s, "webhook_url", hook, nil); err == nil || !strings.Contains(err.Error(), "webhook_url: cannot be stored: no secret key") {
		t.Errorf("Set(webhook_url) without a sealer = %v", err)
	}
	if err := settings.Set(&s, "webhook_url", hook, failingSealer{}); err == nil || !strings.Contains(err.Error(), "webhook_url: cannot be sealed: HMSBACKUP_SECRET_KEY is malformed") {
		t.Errorf("Set(webhook_url) with a failing sealer = %v", err)
	}
	if s.WebhookURLEnc != nil {
		t.Errorf("failed Set stored %q", s.WebhookURLEnc)
	}
	// Clearing needs no key.
	s.WebhookURLEnc = []byte("sealed")
	if err := settings.Set(&s, "webhook_url", "", nil); err != nil || s.WebhookURLEnc != nil {
		t.Errorf("clearing webhook_url: %v, %q", err, s.WebhookURLEnc)
	}
}

func TestShow(t *testing.T) {
	s := backup.DefaultSettings()
	got := settings.Show(s)
	if got["webhook_url"] != "not set" || got["schedule_day"] != "0 (Sunday)" || got["max_backup_age"] != "26h0m0s" || got["schedule_time"] != "02:00" {
		t.Errorf("Show(defaults) = %v", got)
	}
	s.WebhookURLEnc = []byte("sealed")
	if got := settings.Show(s)["webhook_url"]; got != "set" {
		t.Errorf("Show webhook_url = %q, want set", got)
	}
	if len(got) != len(settings.Keys()) {
		t.Errorf("Show gives %d keys, want %d", len(got), len(settings.Keys()))
	}
}

func TestLocation(t *testing.T) {
	fallback := time.FixedZone("fallback", 3600)
	if loc, err := settings.Location(backup.Settings{}, fallback); err != nil || loc != fallback {
		t.Errorf("Location(\"\") = %v, %v; want the fallback", loc, err)
	}
	if loc, err := settings.Location(backup.Settings{Timezone: "Asia/Kolkata"}, fallback); err != nil || loc.String() != "Asia/Kolkata" {
		t.Errorf("Location(Asia/Kolkata) = %v, %v", loc, err)
	}
	if _, err := settings.Location(backup.Settings{Timezone: "Nowhere/Town"}, fallback); err == nil || !strings.Contains(err.Error(), "timezone: ") {
		t.Errorf("Location(Nowhere/Town) = %v, want a timezone error", err)
	}
}

// Whatever Set accepts, Validate accepts, and showing and setting it again
// changes nothing (the web form round-trips its values).
func TestPropertySetAcceptsOnlyValidValues(t *testing.T) {
	box := newBox(t)
	values := map[string][]string{
		"schedule_enabled":       {"true", "false", "on", "0", "maybe", ""},
		"schedule_frequency":     {"daily", "weekly", "custom", "DAILY", "hourly", ""},
		"schedule_time":          {"00:00", "2:30", "23:59", "24:00", "12:60", "", "noon"},
		"schedule_day":           {"0", "6", "7", "-1", "sat", "Friday", "x"},
		"cron_expression":        {"", "0 2 * * *", "*/15 * * * *", "61 * * * *", "@weekly", "@every 1h", "0 0 31 2 *"},
		"retention_daily":        {"0", "7", "-1", "x"},
		"retention_weekly":       {"4", "-4"},
		"retention_monthly":      {"6", "1e3"},
		"notification_emails":    {"", "a@b.example", "a@b.example,c@d.example", "bad", "A <a@b.example>"},
		"google_drive_enabled":   {"true", "false", "nope"},
		"google_drive_folder_id": {"", "abc_DEF-123", "a/b"},
		"timezone":               {"", "UTC", "Europe/London", "Local", "Nowhere/Town"},
		"max_backup_age":         {"26h", "1s", "0", "90m", "1.5s", "x"},
		"webhook_url":            {"", hook, "ftp://x/y", "not a url"},
		"google_credentials":     {"", "{}", "not json", `{"type":"authorized_user","client_id":"i","client_secret":"s","refresh_token":"r"}`},
		"s3_endpoint":            {"", "minio:9000", "https://s3.example.org", "ftp://x", "a/b", "http://h/path"},
		"s3_bucket":              {"", "hms-backups", "ab", "Upper", "-x-"},
		"s3_prefix":              {"", "hospital/", "/abs"},
		"s3_region":              {"", "eu-central-1", "eu central"},
		"s3_access_key":          {"", "AKIAEXAMPLE", "has space"},
		"s3_secret_key":          {"", "wJalrXUtnFEMI/K7MDENG", "has space"},
		"s3_use_tls":             {"true", "false", "maybe"},
		"s3_sse":                 {"true", "0", "x"},
	}
	keys := settings.Keys()
	rapid.Check(t, func(t *rapid.T) {
		s := backup.DefaultSettings()
		for range rapid.IntRange(1, 12).Draw(t, "sets") {
			key := rapid.SampledFrom(keys).Draw(t, "key")
			value := rapid.SampledFrom(values[key]).Draw(t, "value")
			before := s
			err := settings.Set(&s, key, value, box)
			if err != nil && !reflect.DeepEqual(s, before) {
				t.Fatalf("failed Set(%s=%q) changed the settings", key, value)
			}
		}
		// Apply of the shown values: Validate's verdict decides, and a
		// valid result round-trips unchanged.
		shown := settings.Show(s)
		var pairs []string
		for _, k := range keys {
			if !settings.IsSecret(k) {
				v := shown[k]
				if k == "schedule_day" {
					v, _, _ = strings.Cut(v, " ")
				}
				pairs = append(pairs, k+"="+v)
			}
		}
		got, changes, err := settings.Apply(s, pairs, box)
		if verr := settings.Validate(s); (err == nil) != (verr == nil) {
			t.Fatalf("Apply(shown values) = %v but Validate = %v", err, verr)
		}
		if err == nil && (!reflect.DeepEqual(got, s) || len(changes) != 0) {
			t.Fatalf("re-applying the shown values changed %v:\n%+v\n%+v", changes, got, s)
		}
	})
}
