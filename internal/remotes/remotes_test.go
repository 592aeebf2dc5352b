package remotes_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/remotes"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"github.com/hmsbackup/hmsbackup/internal/settings"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3/s3fake"
)

func newBox(t *testing.T) *secret.Box {
	t.Helper()
	k, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.NewBox(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openCatalog(t *testing.T) *sqlite.Catalog {
	t.Helper()
	c, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// save applies KEY=VALUE pairs to the catalog's settings.
func save(t *testing.T, c *sqlite.Catalog, box *secret.Box, pairs ...string) {
	t.Helper()
	cur, err := c.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := settings.Apply(cur, pairs, box)
	if err != nil {
		t.Fatalf("settings %v: %v", pairs, err)
	}
	if err := c.SaveSettings(t.Context(), next); err != nil {
		t.Fatal(err)
	}
}

func TestResolveEnvironmentOverridesFieldByField(t *testing.T) {
	box := newBox(t)
	s := backup.DefaultSettings()
	s, _, err := settings.Apply(s, []string{"s3_endpoint=catalog:9000", "s3_bucket=catalog-bucket", "s3_prefix=cat/", "s3_region=eu-west-1",
		"s3_access_key=CATAK", "s3_secret_key=catalog-secret", "s3_use_tls=true", "s3_sse=false",
		"google_drive_enabled=false", "google_drive_folder_id=catfolder", "google_credentials={\"type\":\"authorized_user\",\"client_id\":\"i\",\"client_secret\":\"s\",\"refresh_token\":\"r\"}"}, box)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing from the environment: the settings, Drive off as set.
	eff := remotes.Resolve(s, remotes.Env{}, box)
	if eff.Drive != nil || eff.S3 == nil || eff.S3Err != nil {
		t.Fatalf("settings alone: %+v", eff)
	}
	if got := *eff.S3; got.Endpoint != "catalog:9000" || got.Bucket != "catalog-bucket" || got.Prefix != "cat/" || got.Region != "eu-west-1" ||
		got.AccessKey != "CATAK" || got.SecretKey != "catalog-secret" || !got.UseTLS || got.ServerSideEncryption {
		t.Errorf("S3 from the settings: %v", got)
	}
	// Some variables: each wins over its field, the others stay.
	env := remotes.Env{S3Bucket: "env-bucket", S3SecretKey: "env-secret", S3Insecure: "1", S3SSE: "1", GDriveFolderID: "envfolder"}
	eff = remotes.Resolve(s, env, box)
	if got := *eff.S3; got.Endpoint != "catalog:9000" || got.Bucket != "env-bucket" || got.Prefix != "cat/" || got.AccessKey != "CATAK" ||
		got.SecretKey != "env-secret" || got.UseTLS || !got.ServerSideEncryption {
		t.Errorf("S3 with overrides: %v", got)
	}
	if eff.Drive == nil || eff.DriveErr != nil || eff.Drive.FolderID != "envfolder" || !strings.Contains(string(eff.Drive.CredentialsJSON), "authorized_user") || eff.Drive.CredentialsFile != "" {
		t.Errorf("Drive turned on by HMSBACKUP_GDRIVE_FOLDER_ID, with the settings' credentials: %+v, %v", eff.Drive, eff.DriveErr)
	}
	env.GDriveCredentialsFile = "/etc/hmsbackup/drive.json"
	if eff = remotes.Resolve(s, env, box); eff.Drive.CredentialsFile != env.GDriveCredentialsFile || eff.Drive.CredentialsJSON != nil {
		t.Errorf("HMSBACKUP_GDRIVE_CREDENTIALS_FILE does not win: %+v", eff.Drive)
	}
	over := env.Overrides()
	for key, v := range map[string]string{"s3_bucket": "HMSBACKUP_S3_BUCKET", "s3_secret_key": "HMSBACKUP_S3_SECRET_KEY", "s3_use_tls": "HMSBACKUP_S3_INSECURE",
		"s3_sse": "HMSBACKUP_S3_SSE", "google_drive_folder_id": "HMSBACKUP_GDRIVE_FOLDER_ID", "google_drive_enabled": "HMSBACKUP_GDRIVE_FOLDER_ID",
		"google_credentials": "HMSBACKUP_GDRIVE_CREDENTIALS_FILE"} {
		if over[key] != v {
			t.Errorf("Overrides()[%s] = %q, want %s", key, over[key], v)
		}
	}
	if _, ok := over["s3_endpoint"]; ok || len(over) != 7 {
		t.Errorf("Overrides() = %v: only the variables set", over)
	}
	if strings.Contains(fmt.Sprint(env)+fmt.Sprintf("%#v", env), "env-secret") {
		t.Errorf("Env prints its secret: %v", env)
	}

	// A sealed secret another key cannot open is a clear error, not a
	// secret-less connection.
	eff = remotes.Resolve(s, remotes.Env{}, newBox(t))
	if eff.S3Err == nil || !strings.Contains(eff.S3Err.Error(), "s3_secret_key setting cannot be opened") {
		t.Errorf("S3 with the wrong key: %v", eff.S3Err)
	}
	// On without what it needs: says what to set.
	eff = remotes.Resolve(backup.Settings{GoogleDriveEnabled: true, GoogleDriveFolderID: "f", S3Bucket: "b"}, remotes.Env{}, box)
	if eff.DriveErr == nil || !strings.Contains(eff.DriveErr.Error(), "HMSBACKUP_GDRIVE_CREDENTIALS_FILE") || eff.S3Err == nil || !strings.Contains(eff.S3Err.Error(), "s3_endpoint") {
		t.Errorf("incomplete remotes: %v; %v", eff.DriveErr, eff.S3Err)
	}
}

// The Provider builds the remotes from the catalog as it is at each call:
// a change is used by the next operation, an unchanged configuration
// keeps its storage.
func TestProviderFollowsTheSettings(t *testing.T) {
	ctx := t.Context()
	box := newBox(t)
	cat := openCatalog(t)
	fake := drivefake.New()
	defer fake.Close()
	key, err := drivefake.ServiceAccountKey(fake.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	p := remotes.NewProvider(cat, remotes.Env{GDriveEndpoint: fake.URL()}, box)
	if rs := p.Remotes(ctx); len(rs) != 0 {
		t.Fatalf("remotes with nothing configured: %+v", rs)
	}

	first := fake.CreateFolder("first")
	save(t, cat, box, "google_drive_enabled=true", "google_drive_folder_id="+first, "google_credentials="+string(key))
	rs := p.Remotes(ctx)
	if len(rs) != 1 || rs[0].Kind != engine.RemoteGoogleDrive || rs[0].OpenErr != nil {
		t.Fatalf("remotes after Drive was configured: %+v", rs)
	}
	if _, err := rs[0].Storage.Put(ctx, "a", strings.NewReader("to the first folder")); err != nil {
		t.Fatalf("Put with the settings' credentials: %v", err)
	}
	if again := p.Remotes(ctx); again[0].Storage != rs[0].Storage {
		t.Errorf("an unchanged configuration made a new storage")
	}

	second := fake.CreateFolder("second")
	save(t, cat, box, "google_drive_folder_id="+second)
	rs2 := p.Remotes(ctx)
	if len(rs2) != 1 || rs2[0].Storage == rs[0].Storage {
		t.Fatalf("a new folder did not make a new storage: %+v", rs2)
	}
	if _, err := rs2[0].Storage.Put(ctx, "b", strings.NewReader("to the second folder")); err != nil {
		t.Fatal(err)
	}
	parents := map[string]string{}
	for _, f := range fake.Files() {
		if len(f.Parents) > 0 {
			parents[f.Name] = f.Parents[0]
		}
	}
	if parents["a"] != first || parents["b"] != second {
		t.Errorf("files went to %v, want a in %s and b in %s", parents, first, second)
	}

	save(t, cat, box, "google_drive_enabled=false")
	if rs := p.Remotes(ctx); len(rs) != 0 {
		t.Errorf("Drive switched off but still used: %+v", rs)
	}
}

func TestGoogleDriveConnectionTest(t *testing.T) {
	ctx := t.Context()
	box := newBox(t)
	cat := openCatalog(t)
	fake := drivefake.New()
	defer fake.Close()
	p := remotes.NewProvider(cat, remotes.Env{GDriveEndpoint: fake.URL()}, box)

	res := p.TestGoogleDrive(ctx)
	if res.OK || !errors.Is(res.Err, backup.ErrInvalid) || !strings.Contains(res.Message, "not configured") {
		t.Errorf("test of an unconfigured Drive: %+v", res)
	}

	key, err := drivefake.ServiceAccountKey(fake.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	save(t, cat, box, "google_drive_enabled=true", "google_drive_folder_id="+fake.CreateFolder("hms"), "google_credentials="+string(key))
	res = p.TestGoogleDrive(ctx)
	if !res.OK || res.Err != nil || !strings.HasPrefix(res.Message, "Google Drive works") || len(res.Steps) != 6 {
		t.Fatalf("test of a working Drive: %+v", res)
	}
	for _, f := range fake.Files() {
		if strings.HasPrefix(f.Name, "hmsbackup-probe") && !f.Trashed {
			t.Errorf("the probe file %s was left behind", f.Name)
		}
	}
	if rep := res.Report(); !strings.Contains(rep, "write a probe file") || !strings.HasSuffix(rep, res.Message) || strings.Contains(rep, "FAILED") {
		t.Errorf("Report of a working Drive:\n%s", rep)
	}

	fake.RevokeCredentials(true)
	res = p.TestGoogleDrive(ctx)
	last := res.Steps[len(res.Steps)-1]
	if res.OK || last.OK || last.Name != "authenticate and read the folder" || !strings.Contains(res.Message, "re-authorise") {
		t.Errorf("test with revoked credentials: %+v", res)
	}
	if rep := res.Report(); !strings.Contains(rep, "authenticate and read the folder") || !strings.Contains(rep, "FAILED: ") {
		t.Errorf("Report with revoked credentials:\n%s", rep)
	}
	if strings.Contains(res.Message, "PRIVATE KEY") || strings.Contains(res.Message, string(key[40:80])) {
		t.Errorf("the message holds the key: %s", res.Message)
	}
}

func TestS3ConnectionTest(t *testing.T) {
	ctx := t.Context()
	box := newBox(t)
	cat := openCatalog(t)
	fake, err := s3fake.New("hms-backups")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	p := remotes.NewProvider(cat, remotes.Env{}, box)
	if res := p.TestS3(ctx); res.OK || !errors.Is(res.Err, backup.ErrInvalid) {
		t.Errorf("test of an unconfigured S3: %+v", res)
	}
	save(t, cat, box, "s3_endpoint="+fake.URL(), "s3_bucket=hms-backups", "s3_access_key=AK", "s3_secret_key=very-secret", "s3_prefix=db1/")
	res := p.TestS3(ctx)
	if !res.OK || !strings.HasPrefix(res.Message, "S3 works") {
		t.Fatalf("test of a working S3: %+v", res)
	}
	rs := p.Remotes(ctx)
	if len(rs) != 1 || rs[0].Kind != engine.RemoteS3 || rs[0].OpenErr != nil {
		t.Fatalf("remotes: %+v", rs)
	}
	if _, err := rs[0].Storage.Put(ctx, "x", bytes.NewReader([]byte("data"))); err != nil {
		t.Fatal(err)
	}
	rc, err := rs[0].Storage.Open(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "data" {
		t.Errorf("read back %q", b)
	}

	save(t, cat, box, "s3_bucket=no-such-bucket")
	res = p.TestS3(ctx)
	if res.OK || res.Steps[len(res.Steps)-1].Name != "connect, sign in and find the bucket" || strings.Contains(res.Message, "very-secret") {
		t.Errorf("test with a missing bucket: %+v", res)
	}
	if rs := p.Remotes(ctx); len(rs) != 1 || rs[0].OpenErr == nil {
		t.Errorf("remotes with a missing bucket: %+v, want an OpenErr", rs)
	}
}

func TestStatusesAndView(t *testing.T) {
	ctx := t.Context()
	box := newBox(t)
	cat := openCatalog(t)
	save(t, cat, box, "s3_bucket=hms", "s3_endpoint=minio:9000", "s3_access_key=AK", "s3_secret_key=very-secret")
	p := remotes.NewProvider(cat, remotes.Env{S3Bucket: "env-bucket"}, box)
	st, err := p.Statuses(ctx)
	if err != nil || len(st) != 2 || st[0].On || st[0].Problem != "" || !st[1].On || st[1].Problem != "" {
		t.Errorf("Statuses = %+v, %v", st, err)
	}
	v, err := p.View(ctx)
	if err != nil || v.S3Bucket != "hms" || !v.SecretsSet["s3_secret_key"] || v.OverriddenBy["s3_bucket"] != "HMSBACKUP_S3_BUCKET" {
		t.Errorf("View = %+v, %v", v, err)
	}
}

// A storage that could not be opened (the bucket is missing) is reported
// as such, then tried again once RetryOpenAfter has passed: the bucket,
// made in the meantime, is used without a restart.
func TestProviderRetriesAFailedOpen(t *testing.T) {
	ctx := t.Context()
	box := newBox(t)
	cat := openCatalog(t)
	fake, err := s3fake.New()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	save(t, cat, box, "s3_endpoint="+fake.URL(), "s3_bucket=late-bucket")
	now := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	p := remotes.NewProvider(cat, remotes.Env{}, box)
	p.Now = func() time.Time { return now }
	p.RetryOpenAfter = time.Minute
	if rs := p.Remotes(ctx); len(rs) != 1 || rs[0].OpenErr == nil {
		t.Fatalf("remotes with the bucket missing: %+v", rs)
	}
	if err := fake.Backend.CreateBucket("late-bucket"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)
	if rs := p.Remotes(ctx); rs[0].OpenErr == nil {
		t.Errorf("a failed open was tried again before RetryOpenAfter")
	}
	now = now.Add(31 * time.Second)
	if rs := p.Remotes(ctx); rs[0].OpenErr != nil {
		t.Errorf("after RetryOpenAfter, with the bucket there: %v", rs[0].OpenErr)
	}
}

// Operations asking for remotes while the settings change get either
// configuration, whole (run with -race).
func TestProviderIsSafeForConcurrentUse(t *testing.T) {
	ctx := t.Context()
	box := newBox(t)
	cat := openCatalog(t)
	fake, err := s3fake.New("a-bucket", "b-bucket")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	save(t, cat, box, "s3_endpoint="+fake.URL(), "s3_bucket=a-bucket")
	p := remotes.NewProvider(cat, remotes.Env{}, box)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				rs := p.Remotes(ctx)
				if len(rs) != 1 || rs[0].OpenErr != nil {
					errs <- fmt.Errorf("goroutine %d call %d: %+v", i, j, rs)
					return
				}
				if _, err := rs[0].Storage.Put(ctx, fmt.Sprintf("f%d-%d", i, j), strings.NewReader("x")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, b := range []string{"b-bucket", "a-bucket", "b-bucket"} {
		save(t, cat, box, "s3_bucket="+b)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if rs := p.Remotes(ctx); rs[0].OpenErr != nil {
		t.Fatal(rs[0].OpenErr)
	}
	if st, ok := p.Remotes(ctx)[0].Storage.(interface{ Bucket() string }); !ok || st.Bucket() != "b-bucket" {
		t.Errorf("after the changes, the storage is not on the last bucket saved")
	}
}
