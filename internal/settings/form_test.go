package settings_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/settings"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

const s3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func serviceAccount(t *testing.T) string {
	t.Helper()
	b, err := drivefake.ServiceAccountKey("http://127.0.0.1:1/token")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUpdateAppliesAWholeForm(t *testing.T) {
	box := newBox(t)
	key := serviceAccount(t)
	cur := backup.DefaultSettings()
	got, changes, err := settings.Update(cur, settings.Form{Values: map[string]string{
		"schedule_time":          "3:30",
		"google_drive_enabled":   "on",
		"google_drive_folder_id": "0BxFolder",
		"google_credentials":     key,
		"s3_endpoint":            "https://minio.hospital.example:9000",
		"s3_bucket":              "hms-backups",
		"s3_prefix":              "db1/",
		"s3_region":              "eu-central-1",
		"s3_access_key":          "AKIAEXAMPLE",
		"s3_secret_key":          s3Secret,
		"s3_use_tls":             "false",
		"s3_sse":                 "true",
		"webhook_url":            "", // left empty on the form: kept (not set)
	}}, settings.Options{Seal: box})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got.ScheduleTime != "03:30" || !got.GoogleDriveEnabled || got.GoogleDriveFolderID != "0BxFolder" || got.S3Endpoint != "https://minio.hospital.example:9000" ||
		got.S3Bucket != "hms-backups" || got.S3Prefix != "db1/" || got.S3Region != "eu-central-1" || got.S3AccessKey != "AKIAEXAMPLE" || got.S3UseTLS || !got.S3SSE {
		t.Errorf("Update gave %+v", got)
	}
	for label, sealed := range map[string][]byte{"google_credentials": got.GoogleCredentialsEnc, "s3_secret_key": got.S3SecretKeyEnc} {
		plain, err := box.Open(label, sealed)
		if err != nil {
			t.Errorf("%s is not sealed for its label: %v", label, err)
		}
		if strings.Contains(string(sealed), string(plain[:20])) {
			t.Errorf("%s is stored in clear", label)
		}
	}
	if got.WebhookURLEnc != nil {
		t.Errorf("an empty secret field set webhook_url")
	}
	var keys []string
	for _, c := range changes {
		keys = append(keys, c.Key)
		if strings.Contains(c.Old+c.New, s3Secret) || strings.Contains(c.Old+c.New, "PRIVATE KEY") {
			t.Errorf("change %+v holds a secret", c)
		}
	}
	want := []string{"schedule_time", "google_drive_enabled", "google_drive_folder_id", "google_credentials",
		"s3_endpoint", "s3_bucket", "s3_prefix", "s3_region", "s3_access_key", "s3_secret_key", "s3_use_tls", "s3_sse"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("changes %v, want %v", keys, want)
	}

	// A second form: secrets left empty are kept, Clear removes one.
	again, changes, err := settings.Update(got, settings.Form{Values: map[string]string{"s3_secret_key": "", "google_credentials": ""},
		Clear: []string{"webhook_url"}}, settings.Options{Seal: box})
	if err != nil || !reflect.DeepEqual(again.S3SecretKeyEnc, got.S3SecretKeyEnc) || !reflect.DeepEqual(again.GoogleCredentialsEnc, got.GoogleCredentialsEnc) {
		t.Errorf("empty secret fields changed the secrets: %v", err)
	}
	if len(changes) != 1 || changes[0] != (settings.Change{Key: "webhook_url", Old: "not set", New: "not set"}) {
		t.Errorf("changes %+v", changes)
	}
	cleared, _, err := settings.Update(got, settings.Form{Clear: []string{"s3_secret_key", "s3_access_key"}}, settings.Options{Seal: box})
	if err == nil {
		t.Errorf("clearing a non-secret was accepted: %+v", cleared)
	}
}

func TestUpdateReturnsEveryFieldsErrorAndChangesNothing(t *testing.T) {
	box := newBox(t)
	cur := backup.DefaultSettings()
	cur.S3Bucket, cur.S3Endpoint = "old-bucket", "minio:9000"
	before := cur
	got, changes, err := settings.Update(cur, settings.Form{Values: map[string]string{
		"schedule_time":      "25:00", // bad
		"retention_daily":    "14",    // good, but not saved
		"s3_bucket":          "Bad_Bucket!",
		"s3_endpoint":        "ftp://x",
		"google_credentials": `{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nSECRETBITS\n-----END PRIVATE KEY-----\n"}`,
		"s3_secret_key":      "has a space SECRETBITS",
		"colour":             "blue",
	}}, settings.Options{Seal: box})
	var fe settings.Errors
	if !errors.As(err, &fe) {
		t.Fatalf("Update = %v, want settings.Errors", err)
	}
	for _, k := range []string{"schedule_time", "s3_bucket", "s3_endpoint", "google_credentials", "s3_secret_key", "colour"} {
		if fe[k] == "" {
			t.Errorf("no message for %s: %v", k, fe)
		}
	}
	if _, ok := fe["retention_daily"]; ok {
		t.Errorf("a valid field has an error: %v", fe)
	}
	if !strings.Contains(fe["google_credentials"], "not a PEM private key") {
		t.Errorf("google_credentials: %q, want it to say the key is not PEM", fe["google_credentials"])
	}
	if strings.Contains(err.Error(), "SECRETBITS") {
		t.Errorf("an error repeats a secret: %v", err)
	}
	if !reflect.DeepEqual(got, before) || changes != nil {
		t.Errorf("an invalid form changed something: %+v, %v", got, changes)
	}
}

func TestOverriddenSettingsCountAsGiven(t *testing.T) {
	s := backup.DefaultSettings()
	s.GoogleDriveEnabled = true
	s.S3Bucket = "hms"
	if err := settings.Validate(s); err == nil {
		t.Fatal("Validate accepted Drive without folder and credentials, S3 without endpoint")
	}
	over := map[string]string{"google_drive_folder_id": "HMSBACKUP_GDRIVE_FOLDER_ID", "google_credentials": "HMSBACKUP_GDRIVE_CREDENTIALS_FILE", "s3_endpoint": "HMSBACKUP_S3_ENDPOINT"}
	if err := settings.ValidateWith(s, over); err != nil {
		t.Errorf("ValidateWith(the environment gives them) = %v", err)
	}
	if _, _, err := settings.Update(backup.DefaultSettings(), settings.Form{Values: map[string]string{"google_drive_enabled": "true", "s3_bucket": "hms"}},
		settings.Options{Overridden: over}); err != nil {
		t.Errorf("Update with overrides = %v", err)
	}
}

func TestParseJSON(t *testing.T) {
	f, err := settings.ParseJSON([]byte(`{"schedule_enabled": true, "retention_daily": 14, "schedule_day": 6,
		"notification_emails": ["it@hospital.example", "ops@hospital.example"], "s3_bucket": "hms",
		"webhook_url": null, "s3_secret_key": "", "google_credentials": "{\"type\":\"x\"}",
		"updated_at": "2026-01-01T00:00:00Z", "secrets_set": {"webhook_url": true}, "overridden_by": {}}`))
	if err != nil {
		t.Fatalf("ParseJSON: %v", err)
	}
	want := settings.Form{Values: map[string]string{"schedule_enabled": "true", "retention_daily": "14", "schedule_day": "6",
		"notification_emails": "it@hospital.example,ops@hospital.example", "s3_bucket": "hms", "google_credentials": `{"type":"x"}`}}
	if !reflect.DeepEqual(f.Values, want.Values) {
		t.Errorf("Values = %v, want %v", f.Values, want.Values)
	}
	if len(f.Clear) != 2 || !strings.Contains(strings.Join(f.Clear, " "), "webhook_url") || !strings.Contains(strings.Join(f.Clear, " "), "s3_secret_key") {
		t.Errorf("Clear = %v, want webhook_url and s3_secret_key", f.Clear)
	}
	for body, key := range map[string]string{
		`{"retention_daily": 1.5}`:           "retention_daily",
		`{"schedule_time": null}`:            "schedule_time",
		`{"schedule_enabled": {"a": 1}}`:     "schedule_enabled",
		`{"notification_emails": [1]}`:       "notification_emails",
		`{"notification_emails": ["a,b@c"]}`: "notification_emails",
		`[1]`:                                "body",
		`not json`:                           "body",
		`{} {}`:                              "body",
	} {
		_, err := settings.ParseJSON([]byte(body))
		var fe settings.Errors
		if !errors.As(err, &fe) || fe[key] == "" {
			t.Errorf("ParseJSON(%s) = %v, want an error for %s", body, err, key)
		}
	}
}

func TestViewHasNoSecretValues(t *testing.T) {
	box := newBox(t)
	s, _, err := settings.Apply(backup.DefaultSettings(), []string{"webhook_url=" + hook, "s3_secret_key=" + s3Secret,
		"s3_access_key=AK", "s3_bucket=hms", "s3_endpoint=minio:9000", "google_credentials=" + serviceAccount(t)}, box)
	if err != nil {
		t.Fatal(err)
	}
	v := settings.NewView(s, map[string]string{"s3_bucket": "HMSBACKUP_S3_BUCKET"})
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{hook, s3Secret, "PRIVATE KEY", "s3cr3t"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the view's JSON holds a secret (%.10s…): %s", secret, b)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	wantSet := map[string]any{"webhook_url": true, "s3_secret_key": true, "google_credentials": true}
	if !reflect.DeepEqual(m["secrets_set"], wantSet) {
		t.Errorf("secrets_set = %v, want %v", m["secrets_set"], wantSet)
	}
	if m["s3_bucket"] != "hms" || m["s3_access_key"] != "AK" || !reflect.DeepEqual(m["overridden_by"], map[string]any{"s3_bucket": "HMSBACKUP_S3_BUCKET"}) {
		t.Errorf("view JSON: %s", b)
	}
	if !reflect.DeepEqual(settings.SecretsSet(backup.DefaultSettings()), map[string]bool{"webhook_url": false, "s3_secret_key": false, "google_credentials": false}) {
		t.Errorf("SecretsSet(defaults) = %v", settings.SecretsSet(backup.DefaultSettings()))
	}
}
