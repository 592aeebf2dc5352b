package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/remotes"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"github.com/hmsbackup/hmsbackup/internal/settings"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3/s3fake"
)

// A long-running engine (as under serve) gets its remotes from a
// remotes.Provider: settings changed through ApplySettings (the web form)
// are used by the next backup, without a restart; the change is audited
// by field name, never by value; the secrets are sealed in the catalog.
func TestLongRunningEngineUsesNewRemoteSettings(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	keys := secret.NewKeyring("", f.dir)
	drive := drivefake.New()
	defer drive.Close()
	bucket, err := s3fake.New("hms-backups")
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	provider := remotes.NewProvider(f.cat, remotes.Env{GDriveEndpoint: drive.URL()}, keys)
	f.eng.RemoteSource = provider.Remotes
	opts := settings.Options{Seal: keys}

	b1, err := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualUI, Actor: alice})
	if err != nil || b1.IsOnGoogleDrive || b1.IsOnS3 {
		t.Fatalf("backup before any remote: %+v, %v", b1, err)
	}

	key, err := drivefake.ServiceAccountKey(drive.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	const s3Secret = "s3-secret-Zq8vP2"
	_, changes, err := f.eng.ApplySettings(ctx, alice, settings.Form{Values: map[string]string{
		"google_drive_enabled": "true", "google_drive_folder_id": drive.CreateFolder("hms"), "google_credentials": string(key),
	}}, opts)
	if err != nil || len(changes) != 3 {
		t.Fatalf("ApplySettings(Drive): %v, %v", changes, err)
	}
	b2, err := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualUI, Actor: alice})
	if err != nil || !b2.IsOnGoogleDrive || b2.GoogleDriveFileID == "" || b2.Warning != "" {
		t.Fatalf("backup after Drive was set in the settings: %+v, %v", b2, err)
	}

	// Drive off, S3 on: the next backup goes to S3 only.
	if _, _, err := f.eng.ApplySettings(ctx, alice, settings.Form{Values: map[string]string{
		"google_drive_enabled": "false", "s3_endpoint": bucket.URL(), "s3_bucket": "hms-backups", "s3_access_key": "AK", "s3_secret_key": s3Secret,
	}}, opts); err != nil {
		t.Fatalf("ApplySettings(S3): %v", err)
	}
	b3, err := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualUI, Actor: alice})
	if err != nil || b3.IsOnGoogleDrive || !b3.IsOnS3 || b3.Warning != "" {
		t.Fatalf("backup after the switch to S3: %+v, %v", b3, err)
	}
	// An invalid form changes nothing: S3 stays as it was.
	_, _, err = f.eng.ApplySettings(ctx, alice, settings.Form{Values: map[string]string{"s3_bucket": "Bad Bucket", "s3_endpoint": "ftp://x"}}, opts)
	var fe settings.Errors
	if !errors.As(err, &fe) || fe["s3_bucket"] == "" || fe["s3_endpoint"] == "" || backup.ErrorCode(err) != backup.EINVALID {
		t.Fatalf("invalid form: %v", err)
	}
	if s, _ := f.cat.Settings(ctx); s.S3Bucket != "hms-backups" || s.S3Endpoint != bucket.URL() {
		t.Errorf("an invalid form was saved in part: %+v", s)
	}

	// The audit names the fields, never a secret's value.
	entries := settingsAudit(t, f)
	if len(entries) != 2 {
		t.Fatalf("%d settings audit entries, want 2 (the invalid form is not saved nor audited): %+v", len(entries), entries)
	}
	if d := entries[0].Details; !strings.Contains(d, "s3_secret_key not set -> set") || !strings.Contains(d, "s3_bucket") {
		t.Errorf("audit of the S3 change: %q", d)
	}
	if d := entries[1].Details; !strings.Contains(d, "google_credentials not set -> set") {
		t.Errorf("audit of the Drive change: %q", d)
	}
	// Secrets are sealed at rest: no file of the data directory holds
	// them in clear.
	for _, e := range entries {
		if strings.Contains(e.Details, s3Secret) || strings.Contains(e.Details, "PRIVATE KEY") {
			t.Errorf("audit entry holds a secret: %q", e.Details)
		}
	}
	f.cat.Close()
	err = filepath.Walk(f.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{s3Secret, "PRIVATE KEY", "backup@hms-test.iam.gserviceaccount.com"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %q in clear", path, secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
