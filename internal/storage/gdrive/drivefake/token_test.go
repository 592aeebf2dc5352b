package drivefake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

func postToken(t *testing.T, tokenURL string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestTokenEndpoint(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	jwt := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}, "client_id": {"c"}}
	for _, form := range []url.Values{jwt, refresh} {
		code, body := postToken(t, fake.TokenURL(), form)
		if code != http.StatusOK || body["access_token"] != drivefake.Token || body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
			t.Errorf("%s: %d %v", form.Get("grant_type"), code, body)
		}
	}
	if code, body := postToken(t, fake.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}}); code != http.StatusBadRequest {
		t.Errorf("JWT grant without an assertion: %d %v, want 400", code, body)
	}
	if code, body := postToken(t, fake.TokenURL(), url.Values{"grant_type": {"password"}}); code != http.StatusBadRequest || body["error"] != "unsupported_grant_type" {
		t.Errorf("password grant: %d %v, want 400 unsupported_grant_type", code, body)
	}
	fake.RevokeCredentials(true)
	for _, form := range []url.Values{jwt, refresh} {
		if code, body := postToken(t, fake.TokenURL(), form); code != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("revoked %s: %d %v, want 400 invalid_grant", form.Get("grant_type"), code, body)
		}
	}
	fake.RevokeCredentials(false)
	if code, _ := postToken(t, fake.TokenURL(), refresh); code != http.StatusOK {
		t.Errorf("after un-revoking: %d", code)
	}
}

func TestTokenEndpointWithOAuth2Client(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	cfg := &oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: fake.TokenURL()}}
	tok, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: "r"}).Token()
	if err != nil || tok.AccessToken != drivefake.Token {
		t.Fatalf("refresh: %+v, %v", tok, err)
	}
	fake.RevokeCredentials(true)
	_, err = cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: "r"}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("revoked refresh: %v, want invalid_grant", err)
	}
}

func TestWriteServiceAccountKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := drivefake.WriteServiceAccountKey(path, "http://127.0.0.1:1/token"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(path)
	var k map[string]string
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	if k["type"] != "service_account" || k["token_uri"] != "http://127.0.0.1:1/token" || !strings.Contains(k["private_key"], "BEGIN PRIVATE KEY") {
		t.Errorf("key file: %v", k)
	}
}

func TestCutNextDownloads(t *testing.T) {
	fake, svc := newClient(t)
	folder := fake.CreateFolder("f")
	data := randomBytes(t, 100_000)
	f := upload(t, svc, folder, "x", data, 256*1024)
	fake.CutNextDownloads(1000, 2)
	for i, rng := range []string{"", "bytes=5000-"} {
		call := svc.Files.Get(f.Id)
		if rng != "" {
			call.Header().Set("Range", rng)
		}
		resp, err := call.Download()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(b) != 1000 {
			t.Errorf("cut download %d: %d bytes, %v; want 1000 then unexpected EOF", i, len(b), err)
		}
		want := data[:1000]
		if rng != "" {
			want = data[5000:6000]
		}
		if !bytes.Equal(b, want) {
			t.Errorf("cut download %d: wrong bytes", i)
		}
	}
	if _, b := download(t, svc, f.Id, ""); !bytes.Equal(b, data) {
		t.Errorf("third download: %d bytes, want all %d", len(b), len(data))
	}
}
