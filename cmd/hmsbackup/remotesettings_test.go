package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3/s3fake"
)

// The off-site storages configured in the settings, through the CLI:
// secrets from a file or standard input (never argv), sealed at rest,
// shown as set/not set; the connection tests; a backup uploaded to both;
// environment variables overriding a setting and saying so.
func TestRemoteSettingsThroughTheCLI(t *testing.T) {
	drive := drivefake.New()
	defer drive.Close()
	bucket, err := s3fake.New("hms-backups")
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	dir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dir, "HMSBACKUP_GDRIVE_ENDPOINT": drive.URL()}
	keyFile := filepath.Join(t.TempDir(), "drive.json")
	if err := drivefake.WriteServiceAccountKey(keyFile, drive.TokenURL()); err != nil {
		t.Fatal(err)
	}
	keyJSON, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	const s3Secret = "s3-Secret-9vQ2xL7p"

	// A secret written on the command line is refused, without echoing it.
	r := cliRun(t, env, "settings", "set", "s3_secret_key="+s3Secret)
	if exitCode(r.err) != 2 || !strings.Contains(r.stderr, "s3_secret_key=-") || strings.Contains(r.stderr, s3Secret) {
		t.Errorf("s3_secret_key on the command line: exit %d, stderr %q", exitCode(r.err), r.stderr)
	}
	// Invalid credentials are refused with the reason, nothing saved.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"type":"service_account","client_email":"x@y"}`), 0o600)
	r = cliRun(t, env, "settings", "set", "google_drive_enabled=true", "google_drive_folder_id=abc", "google_credentials=@"+bad)
	if exitCode(r.err) != 2 || !strings.Contains(r.stderr, "google_credentials: is a service-account key without private_key") {
		t.Errorf("credentials without private_key: exit %d, stderr %q", exitCode(r.err), r.stderr)
	}
	if m := settingsJSON(t, env); m["google_drive_enabled"] != false || m["google_credentials"] != "not set" {
		t.Errorf("a refused set saved something: %v", m)
	}

	folder := drive.CreateFolder("hms")
	r = mustOK(t, cliRunIn(t, env, s3Secret+"\n", false, "settings", "set", "google_drive_enabled=true", "google_drive_folder_id="+folder,
		"google_credentials=@"+keyFile, "s3_endpoint="+bucket.URL(), "s3_bucket=hms-backups", "s3_prefix=db1/", "s3_access_key=AK", "s3_secret_key=-"))
	for _, line := range []string{"google_credentials: not set -> set", "s3_secret_key: not set -> set", "s3_bucket: \"\" -> hms-backups"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("settings set printed %q, lacking %q", r.stdout, line)
		}
	}
	m := settingsJSON(t, env)
	if m["google_credentials"] != "set" || m["s3_secret_key"] != "set" || m["s3_bucket"] != "hms-backups" || m["s3_use_tls"] != true {
		t.Errorf("settings show --json: %v", m)
	}

	r = mustOK(t, cliRun(t, env, "remote", "test"))
	for _, want := range []string{"Google Drive works", "S3 works", "write a probe file"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("remote test output lacks %q:\n%s", want, r.stdout)
		}
	}
	mustOK(t, cliRun(t, env, "gdrive", "test"))

	b := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if b["is_on_google_drive"] != true || b["is_on_s3"] != true || b["warning"] != "" {
		t.Fatalf("backup with the remotes in the settings: %v", b)
	}

	// An environment variable overrides its setting, and show says so.
	env["HMSBACKUP_S3_BUCKET"] = "no-such-bucket"
	text := mustOK(t, cliRun(t, env, "settings", "show")).stdout
	if !strings.Contains(text, "hms-backups (overridden by HMSBACKUP_S3_BUCKET)") {
		t.Errorf("settings show does not name the override:\n%s", text)
	}
	if m := settingsJSON(t, env); m["overridden_by"].(map[string]any)["s3_bucket"] != "HMSBACKUP_S3_BUCKET" {
		t.Errorf("settings show --json overridden_by = %v", m["overridden_by"])
	}
	r = cliRun(t, env, "remote", "test", "s3")
	if exitCode(r.err) != 6 || !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stderr, "no-such-bucket") {
		t.Errorf("remote test s3 with the overriding bucket missing: exit %d\n%s%s", exitCode(r.err), r.stdout, r.stderr)
	}
	delete(env, "HMSBACKUP_S3_BUCKET")

	// Unconfigured: exit 2. Clearing a secret needs no value.
	mustOK(t, cliRun(t, env, "settings", "set", "s3_bucket=", "s3_access_key=", "s3_secret_key="))
	if r := cliRun(t, env, "remote", "test", "s3"); exitCode(r.err) != 2 || !strings.Contains(r.stderr, "S3 is not configured") {
		t.Errorf("remote test s3 unconfigured: exit %d, %q", exitCode(r.err), r.stderr)
	}

	// A setting the environment gives counts as given: a bucket needs an
	// endpoint, from the settings or from HMSBACKUP_S3_ENDPOINT.
	if r := cliRun(t, env, "settings", "set", "s3_endpoint=", "s3_bucket=hms-backups"); exitCode(r.err) != 2 ||
		!strings.Contains(r.stderr, "s3_endpoint: is empty, but s3_bucket is set") {
		t.Errorf("a bucket without endpoint: exit %d, %q", exitCode(r.err), r.stderr)
	}
	env["HMSBACKUP_S3_ENDPOINT"] = bucket.URL()
	mustOK(t, cliRun(t, env, "settings", "set", "s3_endpoint=", "s3_bucket=hms-backups"))
	if r := mustOK(t, cliRun(t, env, "remote", "test", "s3")); !strings.Contains(r.stdout, "S3 works") {
		t.Errorf("remote test s3 with the endpoint from the environment:\n%s", r.stdout)
	}

	// The audit names what changed and the tests, never a secret.
	var entries []backup.AuditEntry
	if err := json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "audit", "--json", "--limit", "0")).stdout), &entries); err != nil {
		t.Fatal(err)
	}
	tests := 0
	for _, e := range entries {
		if e.Action == backup.ActionRemoteTest {
			tests++
		}
		if strings.Contains(e.Details, s3Secret) || strings.Contains(e.Details, "PRIVATE KEY") {
			t.Errorf("audit entry holds a secret: %+v", e)
		}
	}
	if tests != 6 {
		t.Errorf("%d remote.test audit entries, want 6 (two by remote test, gdrive test, three s3 tests)", tests)
	}
	// Sealed at rest: no file of the data directory holds a secret.
	for _, s := range []string{s3Secret, "PRIVATE KEY", string(keyJSON[60:120])} {
		if found := filesHolding(t, dir, s); len(found) > 0 {
			t.Errorf("a secret (%.12s…) is in clear in %v", s, found)
		}
	}
}
