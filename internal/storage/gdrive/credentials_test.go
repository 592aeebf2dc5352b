package gdrive_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

// serviceAccountFile writes a service-account key whose token endpoint is
// tokenURL.
func serviceAccountFile(t *testing.T, tokenURL string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := drivefake.WriteServiceAccountKey(path, tokenURL); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServiceAccountCredentialsFile(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:        fake.CreateFolder("b"),
		Endpoint:        fake.URL(),
		CredentialsFile: serviceAccountFile(t, fake.TokenURL()),
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
	fake.RevokeCredentials(true)
	s, err := gdrive.New(context.Background(), gdrive.Config{
		FolderID:        "folder",
		Endpoint:        fake.URL(),
		CredentialsFile: serviceAccountFile(t, fake.TokenURL()),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.List(context.Background(), "")
	if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), "re-authorise Google Drive") {
		t.Errorf("List with a revoked key: %v, want ErrUnavailable saying re-authorise", err)
	}
}

// TestRefreshTokenGrant signs in with an OAuth refresh token against the
// fake's token endpoint, then with the grant revoked.
func TestRefreshTokenGrant(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	ctx := context.Background()
	cfg := &oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: fake.TokenURL()}}
	newStorage := func() *gdrive.Storage {
		s, err := gdrive.New(ctx, gdrive.Config{
			FolderID:    fake.CreateFolder("b"),
			Endpoint:    fake.URL(),
			TokenSource: cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: "r"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := newStorage().Put(ctx, "f", bytes.NewReader([]byte("signed in"))); err != nil {
		t.Fatalf("Put with a refresh token: %v", err)
	}
	fake.RevokeCredentials(true)
	_, err := newStorage().List(ctx, "")
	if !errors.Is(err, backup.ErrUnavailable) || !strings.Contains(err.Error(), "re-authorise Google Drive") {
		t.Errorf("List with a revoked refresh token: %v, want ErrUnavailable saying re-authorise", err)
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

func TestCredentialsReadableByOthersAreRefused(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := drivefake.WriteServiceAccountKey(path, fake.TokenURL()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := gdrive.New(context.Background(), gdrive.Config{FolderID: "f", CredentialsFile: path})
	if !errors.Is(err, backup.ErrInvalid) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("New with a 0644 key: %v, want EINVALID saying chmod 600", err)
	}
}

func TestServiceAccountCredentialsJSON(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	key, err := drivefake.ServiceAccountKey(fake.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	s, err := gdrive.New(context.Background(), gdrive.Config{FolderID: fake.CreateFolder("b"), Endpoint: fake.URL(), CredentialsJSON: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "f", bytes.NewReader([]byte("signed in"))); err != nil {
		t.Fatalf("Put with service-account JSON: %v", err)
	}
	if _, err := gdrive.New(context.Background(), gdrive.Config{FolderID: "f", CredentialsJSON: []byte(`{"type":"service_account"}`)}); !errors.Is(err, backup.ErrInvalid) {
		t.Errorf("New with a key lacking its fields: %v, want ErrInvalid", err)
	}
}

func TestCredentialsTypeSaysWhatIsWrongWithoutQuotingTheKey(t *testing.T) {
	const secretBit = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
	for _, tc := range []struct{ json, want string }{
		{`{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\n` + secretBit + `\n-----END PRIVATE KEY-----\n"}`, "without client_email"},
		{`{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com"}`, "without private_key"},
		{`{"type":"service_account","client_email":"a@b","private_key":"` + secretBit + `"}`, "not a PEM private key"},
		{`{"type":"authorized_user","client_id":"x"}`, "without client_secret, refresh_token"},
		{`{"client_email":"a@b"}`, `has no "type"`},
		{`{"type":"external_account"}`, `has type "external_account"`},
		{`{"private_key": "` + secretBit + `", oops}`, "is not JSON"},
		{`[1,2]`, "is not JSON"},
	} {
		_, err := gdrive.CredentialsType([]byte(tc.json))
		if !errors.Is(err, backup.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secretBit) {
			t.Errorf("CredentialsType(%.40s…): %v; want ErrInvalid saying %q, never quoting the key", tc.json, err, tc.want)
		}
	}
	key, err := drivefake.ServiceAccountKey("http://127.0.0.1/token")
	if err != nil {
		t.Fatal(err)
	}
	if typ, err := gdrive.CredentialsType(key); err != nil || typ != "service_account" {
		t.Errorf("CredentialsType(a real key) = %q, %v", typ, err)
	}
}
