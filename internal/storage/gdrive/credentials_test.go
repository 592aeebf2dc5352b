package gdrive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

// serviceAccountFile writes a service-account key whose token endpoint is
// tokenURL.
func serviceAccountFile(t *testing.T, tokenURL string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "hms-test",
		"private_key_id": "k1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "backup@hms-test.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      tokenURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tokenServer answers OAuth2 token requests with the fake's token, or with
// invalid_grant when revoked.
func tokenServer(t *testing.T, revoked bool) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if revoked {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": drivefake.Token, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestServiceAccountCredentialsFile(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:        fake.CreateFolder("b"),
		Endpoint:        fake.URL(),
		CredentialsFile: serviceAccountFile(t, tokenServer(t, false).URL),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Put(ctx, "f", bytes.NewReader([]byte("signed in"))); err != nil {
		t.Fatalf("Put with a service account: %v", err)
	}
	if fi, err := s.Stat(ctx, "f"); err != nil || fi.Size != 9 {
		t.Fatalf("Stat: %+v, %v", fi, err)
	}
}

func TestRevokedServiceAccountSaysReauthorise(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:        "folder",
		Endpoint:        fake.URL(),
		CredentialsFile: serviceAccountFile(t, tokenServer(t, true).URL),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.List(context.Background(), "")
	if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), "re-authorise Google Drive") {
		t.Errorf("List with a revoked key: %v, want ErrUnavailable saying re-authorise", err)
	}
}

func TestCredentialsFileOfOtherTypeIsRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ext.json")
	if err := os.WriteFile(path, []byte(`{"type":"external_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Join(t.TempDir(), "missing.json")} {
		_, err := gdrive.New(context.Background(), gdrive.Config{FolderID: "f", CredentialsFile: p})
		if !errors.Is(err, backup.ErrInvalid) {
			t.Errorf("credentials file %s: %v, want ErrInvalid", p, err)
		}
	}
}
