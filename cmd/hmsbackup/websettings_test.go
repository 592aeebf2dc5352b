package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

// Google Drive set up in the real serve's web UI: the credentials file
// uploaded through the form (sealed, never shown), the connection test
// button, then a backup made in the UI lands on Drive without a restart.
func TestDriveSetUpInTheWebUI(t *testing.T) {
	drive := drivefake.New()
	defer drive.Close()
	dir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dir, "HMSBACKUP_GDRIVE_ENDPOINT": drive.URL()}
	keyJSON, err := drivefake.ServiceAccountKey(drive.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	folder := drive.CreateFolder("hms")
	bin := buildBinary(t)
	_, logs, addr := startServeAt(t, bin, env)
	base := "http://" + addr
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(logs.String())
	if pw == nil {
		t.Fatalf("no admin password printed:\n%s", logs.String())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, err := client.PostForm(base+"/sign-in", url.Values{"name": {"admin"}, "password": {pw[1]}})
	if err != nil || res.Request.URL.Path != "/backups" {
		t.Fatalf("sign in: %v at %v", err, res.Request.URL)
	}
	res.Body.Close()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"google_drive_enabled": "true", "google_drive_folder_id": folder} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("google_credentials_file", "drive.json")
	fw.Write(keyJSON)
	mw.Close()
	res, err = client.Post(base+"/settings", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "Saved:") || !strings.Contains(string(page), "google_credentials") {
		t.Fatalf("save Drive settings: %d\n%s", res.StatusCode, page)
	}
	privateKey := regexp.MustCompile(`MII[A-Za-z0-9+/]{40}`).FindString(string(keyJSON))
	if privateKey == "" || strings.Contains(string(page), privateKey) {
		t.Fatal("the settings page shows the private key (or the test cannot find it)")
	}

	res, err = client.PostForm(base+"/settings/test-google-drive", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "Google Drive connection: it works.") {
		t.Fatalf("Drive test: %d\n%s", res.StatusCode, page)
	}

	res, err = client.PostForm(base+"/backups", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	job := res.Request.URL.Path
	waitFor(t, "the UI's backup job to finish", func() bool {
		r, err := client.Get(base + job + "/progress")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return strings.Contains(string(b), `"finished": true`)
	})
	backups := listBackups(t, env)
	if len(backups) != 1 || backups[0]["is_on_google_drive"] != true || backups[0]["created_by"] != "admin" {
		t.Fatalf("the UI's backup: %v", backups)
	}
	for _, name := range []string{"catalog.db", "catalog.db-wal"} {
		raw, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(raw, []byte(privateKey)) {
			t.Fatalf("the private key is in %s in clear", name)
		}
	}
	if strings.Contains(logs.String(), privateKey) {
		t.Fatal("the private key is in serve's log")
	}
}
