package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3/s3fake"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Backups go to S3 (gofakes3 over real HTTP) when it is configured; a dead
// S3 leaves the backup completed and local, with a one-line warning; sync
// uploads it once S3 is back; delete removes both copies.
func TestS3CopiesThroughTheCLI(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("hms-backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	env := map[string]string{
		"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_S3_ENDPOINT": srv.URL, "HMSBACKUP_S3_BUCKET": "hms-backups",
		"HMSBACKUP_S3_PREFIX": "hospital/", "HMSBACKUP_S3_ACCESS_KEY": "AK", "HMSBACKUP_S3_SECRET_KEY": "very-secret-key",
	}
	b := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if b["is_on_s3"] != true || b["s3_key"] != b["filename"] || b["warning"] != "" {
		t.Fatalf("after create with S3: %v", b)
	}
	objects, err := backend.ListBucket("hms-backups", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil || len(objects.Contents) != 1 || objects.Contents[0].Key != "hospital/"+b["filename"].(string) {
		t.Fatalf("bucket holds %+v (%v)", objects, err)
	}

	// S3 goes away: the backup still completes, local only, with a warning.
	env["HMSBACKUP_S3_BUCKET"] = "hms-backups-gone"
	r := mustOK(t, cliRun(t, env, "create", "--json"))
	b2 := decodeBackup(t, r.stdout)
	if b2["status"] != "completed" || b2["is_local"] != true || b2["is_on_s3"] != false || !strings.Contains(b2["warning"].(string), "local disk only") {
		t.Fatalf("create with S3 unusable: %v", b2)
	}
	if !strings.Contains(r.stderr, "warning: upload to S3 failed") || !strings.Contains(r.stderr, "create bucket") {
		t.Errorf("stderr %q does not warn about the failed upload and what to do", r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, "very-secret-key") {
		t.Errorf("the S3 secret leaked: %s", r.stderr)
	}
	// A backup with a copy on the unusable S3 keeps its record (the copy
	// would be orphaned); one without a copy there is deleted all the same
	// (issue 8: one unusable remote must not stop deletes and retention).
	if r := cliRun(t, env, "delete", "1", "--force"); r.err == nil {
		t.Errorf("delete of a backup on S3 while S3 is unusable succeeded: the copy would be orphaned")
	}
	b3 := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if r := cliRun(t, env, "delete", fmt.Sprint(b3["id"]), "--force"); r.err != nil {
		t.Errorf("delete of a local-only backup while S3 is unusable: %v\n%s", r.err, r.stderr)
	}
	env["HMSBACKUP_S3_BUCKET"] = "hms-backups"
	if r := mustOK(t, cliRun(t, env, "sync")); !strings.Contains(r.stdout, "Uploaded 1 missing") {
		t.Errorf("sync: %s", r.stdout)
	}
	if s := decodeBackup(t, mustOK(t, cliRun(t, env, "show", "2", "--json")).stdout); s["is_on_s3"] != true || s["warning"] != "" {
		t.Errorf("after sync: %v", s)
	}
	mustOK(t, cliRun(t, env, "delete", "2", "--force"))

	mustOK(t, cliRun(t, env, "delete", "1", "--force"))
	objects, _ = backend.ListBucket("hms-backups", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if len(objects.Contents) != 0 {
		t.Errorf("after delete the bucket still holds %d objects", len(objects.Contents))
	}
	var list []map[string]any
	json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "list", "--json")).stdout), &list)
	if len(list) != 0 {
		t.Errorf("after delete the catalog lists %v", list)
	}
}

// Google Drive through the CLI: a service-account key whose token_uri is
// the fake's, `gdrive test`, an upload on create, and a revoked key that
// leaves the backup local with a warning saying what to do.
func TestGoogleDriveThroughTheCLI(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	key := filepath.Join(t.TempDir(), "drive.json")
	if err := drivefake.WriteServiceAccountKey(key, fake.TokenURL()); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_GDRIVE_FOLDER_ID": fake.CreateFolder("hms"),
		"HMSBACKUP_GDRIVE_CREDENTIALS_FILE": key, "HMSBACKUP_GDRIVE_ENDPOINT": fake.URL(),
	}
	r := mustOK(t, cliRun(t, env, "gdrive", "test"))
	for _, step := range []string{"authenticate and read the folder", "write a probe file", "delete the probe file", "Google Drive works"} {
		if !strings.Contains(r.stdout, step) {
			t.Errorf("gdrive test output lacks %q:\n%s", step, r.stdout)
		}
	}
	for _, f := range fake.Files() {
		if strings.HasPrefix(f.Name, "hmsbackup-probe") && !f.Trashed {
			t.Errorf("probe file %s left on Drive", f.Name)
		}
	}

	b := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if b["is_on_google_drive"] != true || b["google_drive_file_id"] == "" {
		t.Fatalf("after create with Drive: %v", b)
	}

	// Issue 6: a 503 on the upload's first request, then a 429 on its
	// chunk, are waited out (the default backoff: about 1 s each), not
	// turned into a local-only backup.
	fake.FailNext(drivefake.RouteCreate, http.StatusServiceUnavailable, "backendError", 1)
	fake.FailNext(drivefake.RouteUpload, http.StatusTooManyRequests, "rateLimitExceeded", 1)
	b = decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if b["is_on_google_drive"] != true || b["warning"] != "" || fake.PendingFaults() != 0 {
		t.Fatalf("create with a 503 and a 429 from Drive: %v (faults pending: %d)", b, fake.PendingFaults())
	}

	fake.RevokeCredentials(true)
	if r := cliRun(t, env, "gdrive", "test"); r.err == nil || !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stderr, "re-authorise") {
		t.Errorf("gdrive test with a revoked key: err %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = mustOK(t, cliRun(t, env, "create", "--json"))
	b2 := decodeBackup(t, r.stdout)
	if b2["status"] != "completed" || b2["is_on_google_drive"] != false || !strings.Contains(b2["warning"].(string), "re-authorise") {
		t.Errorf("create with a revoked key: %v", b2)
	}
	if key, _ := os.ReadFile(key); strings.Contains(r.stderr, string(key[:40])) {
		t.Errorf("credentials leaked into stderr")
	}
}

// Issue 6, through the CLI: a SlowDown on the upload's part and a lost
// answer to its complete are waited out; the backup is on S3 with no
// warning and no multipart upload is left open.
func TestS3TransientFaultsThroughTheCLI(t *testing.T) {
	fake, err := s3fake.New("hms-backups")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	env := map[string]string{
		"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_S3_ENDPOINT": fake.URL(), "HMSBACKUP_S3_BUCKET": "hms-backups",
		"HMSBACKUP_S3_ACCESS_KEY": "AK", "HMSBACKUP_S3_SECRET_KEY": "very-secret-key",
	}
	fake.FailRequest(s3fake.RoutePart, 1, s3fake.Fault{Status: http.StatusServiceUnavailable, Reason: "SlowDown"})
	fake.FailRequest(s3fake.RouteComplete, 1, s3fake.Fault{Status: http.StatusInternalServerError, Reason: "InternalError", Lose: true})
	b := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if b["is_on_s3"] != true || b["warning"] != "" || fake.Pending() != 0 {
		t.Fatalf("create with a SlowDown and a lost complete: %v (faults pending: %d)", b, fake.Pending())
	}
	if n, err := fake.OpenUploads("hms-backups"); err != nil || n != 0 {
		t.Errorf("%d multipart uploads left open (%v)", n, err)
	}
	// verify re-hashes the S3 copy and would clear is_on_s3 if it differed.
	id := fmt.Sprint(b["id"])
	mustOK(t, cliRun(t, env, "verify", id))
	if s := decodeBackup(t, mustOK(t, cliRun(t, env, "show", id, "--json")).stdout); s["is_on_s3"] != true {
		t.Errorf("after verify: %v", s)
	}
}

// Issue 7: verify reports each copy: with the local file gone and the S3
// copy intact it says so for each (and exits 3, for the missing one).
func TestVerifyReportsEachCopy(t *testing.T) {
	fake, err := s3fake.New("hms-backups")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	dataDir := t.TempDir()
	env := map[string]string{
		"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_S3_ENDPOINT": fake.URL(), "HMSBACKUP_S3_BUCKET": "hms-backups",
		"HMSBACKUP_S3_ACCESS_KEY": "AK", "HMSBACKUP_S3_SECRET_KEY": "very-secret-key",
	}
	b := decodeBackup(t, mustOK(t, cliRun(t, env, "create", "--json")).stdout)
	if r := mustOK(t, cliRun(t, env, "verify", "1")); !strings.Contains(r.stdout, "local:        ok") || !strings.Contains(r.stdout, "S3:           ok") {
		t.Errorf("verify of an intact backup:\n%s", r.stdout)
	}
	if err := os.Remove(b["file_path"].(string)); err != nil {
		t.Fatal(err)
	}
	r := cliRun(t, env, "verify", "1", "--json")
	var out struct {
		OK     bool
		Copies []struct{ Where, Status string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, r.stdout)
	}
	if exitCode(r.err) != 3 || out.OK || len(out.Copies) != 2 || out.Copies[0] != (struct{ Where, Status string }{"local", "missing"}) || out.Copies[1] != (struct{ Where, Status string }{"S3", "ok"}) {
		t.Errorf("verify with the local file gone: exit %d, %+v", exitCode(r.err), out)
	}
}
