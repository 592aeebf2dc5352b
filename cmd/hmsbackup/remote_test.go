package main

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

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
	if r := cliRun(t, env, "delete", "2", "--force"); r.err == nil {
		t.Errorf("delete while S3 is unusable succeeded: the copy could be orphaned")
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
