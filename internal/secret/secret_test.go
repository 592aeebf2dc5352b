package secret_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"pgregory.net/rapid"
)

func newBox(t testing.TB) (*secret.Box, []byte) {
	t.Helper()
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b, key
}

func TestSealOpenRoundTrip(t *testing.T) {
	b, _ := newBox(t)
	rapid.Check(t, func(t *rapid.T) {
		label := rapid.String().Draw(t, "label")
		plain := rapid.SliceOf(rapid.Byte()).Draw(t, "plaintext")
		sealed, err := b.Seal(label, plain)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if len(plain) >= 8 && bytes.Contains(sealed, plain) {
			t.Fatalf("sealed value holds the plaintext in clear")
		}
		got, err := b.Open(label, sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
	})
}

func TestSealingTwiceDiffers(t *testing.T) {
	b, _ := newBox(t)
	url := []byte("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX")
	one, _ := b.Seal("webhook_url", url)
	two, _ := b.Seal("webhook_url", url)
	if bytes.Equal(one, two) {
		t.Error("sealing one value twice gave the same bytes: the nonce is not fresh")
	}
}

func TestOpenRefusesWhatItCannotTrust(t *testing.T) {
	b, _ := newBox(t)
	other, _ := newBox(t)
	sealed, err := b.Seal("webhook_url", []byte("https://example.org/hook?token=s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { c := bytes.Clone(sealed); c[i] ^= 1; return c }
	cases := []struct {
		name   string
		box    *secret.Box
		label  string
		sealed []byte
		is     error
		code   string
		msg    string
	}{
		{"another key", other, "webhook_url", sealed, secret.ErrWrongKey, backup.EINVALID, "sealed with key " + b.KeyID() + ", not with this key (" + other.KeyID() + ")"},
		{"another label", b, "google_credentials", sealed, secret.ErrDamaged, backup.ECORRUPT, "fails authentication"},
		{"a flipped ciphertext bit", b, "webhook_url", flip(len(sealed) - 20), secret.ErrDamaged, backup.ECORRUPT, "fails authentication"},
		{"a flipped nonce bit", b, "webhook_url", flip(6), secret.ErrDamaged, backup.ECORRUPT, "fails authentication"},
		{"a flipped key id", b, "webhook_url", flip(2), secret.ErrWrongKey, backup.EINVALID, "sealed with key"},
		{"another version", b, "webhook_url", flip(0), secret.ErrDamaged, backup.ECORRUPT, "not a value hmsbackup sealed"},
		{"truncated", b, "webhook_url", sealed[:20], secret.ErrDamaged, backup.ECORRUPT, "not a value hmsbackup sealed"},
		{"empty", b, "webhook_url", nil, secret.ErrDamaged, backup.ECORRUPT, "not a value hmsbackup sealed"},
		{"clear text", b, "webhook_url", []byte("https://example.org/hook?token=s3cr3t"), secret.ErrDamaged, backup.ECORRUPT, "not a value hmsbackup sealed"},
	}
	for _, c := range cases {
		got, err := c.box.Open(c.label, c.sealed)
		if err == nil || !errors.Is(err, c.is) || backup.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Open = %q, %v; want %v (%s) saying %q", c.name, got, err, c.is, c.code, c.msg)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error shows the secret: %v", c.name, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11)[:32]
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		text := enc.EncodeToString(key)
		if got, err := secret.ParseKey(" " + text + "\n"); err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v; want %x", text, got, err, key)
		}
	}
	bad := map[string]string{
		base64.StdEncoding.EncodeToString(key[:16]):         "base64 of 16 bytes, not 32",
		base64.StdEncoding.EncodeToString(append(key, 'x')): "base64 of 33 bytes, not 32",
		"hunter2-is-my-password-not-base64!":                "not base64",
		"":                                                  "base64 of 0 bytes, not 32",
		base64.StdEncoding.EncodeToString(key)[:40] + "%%%%!!": "not base64",
	}
	for text, want := range bad {
		_, err := secret.ParseKey(text)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "head -c 32 /dev/urandom | base64") {
			t.Errorf("ParseKey(%q) = %v, want an error saying %q and how to make a key", text, err, want)
		}
		if err != nil && text != "" && strings.Contains(err.Error(), text) {
			t.Errorf("ParseKey's error shows the key text: %v", err)
		}
	}
}

func TestLoadKeyFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	key, _ := secret.GenerateKey()
	got, err := secret.LoadKey(base64.StdEncoding.EncodeToString(key), dir, true)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("LoadKey(env) = %x, %v; want %x", got, err, key)
	}
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file was made although the environment gives the key: %v", err)
	}
	_, err = secret.LoadKey("c2hvcnQ=", dir, true)
	if err == nil || backup.ErrorCode(err) != backup.EINVALID || !strings.Contains(err.Error(), "HMSBACKUP_SECRET_KEY is malformed: it is base64 of 5 bytes, not 32") {
		t.Errorf("LoadKey(malformed env) = %v, want EINVALID naming HMSBACKUP_SECRET_KEY and why", err)
	}
}

func TestKeyFileIsMadeOnFirstNeedWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, secret.KeyFile)
	if _, err := secret.LoadKey("", dir, false); !errors.Is(err, secret.ErrNoKey) || backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Fatalf("LoadKey without key or create = %v, want ErrNoKey", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadKey(create=false) made a key file: %v", err)
	}
	key, err := secret.LoadKey("", dir, true)
	if err != nil {
		t.Fatalf("LoadKey(create): %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no key file after LoadKey(create): %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	again, err := secret.LoadKey("", dir, false)
	if err != nil || !bytes.Equal(again, key) {
		t.Errorf("LoadKey again = %x, %v; want the key made first %x", again, err, key)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries after making the key, want only %s", len(entries), secret.KeyFile)
	}
}

func TestKeyFileRaceGivesEveryoneOneKey(t *testing.T) {
	dir := t.TempDir()
	keys := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			key, err := secret.LoadKey("", dir, true)
			if err != nil {
				t.Errorf("LoadKey: %v", err)
			}
			keys[i] = key
		})
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("racing LoadKeys got different keys: %x and %x", keys[0], keys[i])
		}
	}
}

func TestKeyFileRefusedWhenOthersMayReadIt(t *testing.T) {
	dir := t.TempDir()
	if _, err := secret.LoadKey("", dir, true); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, secret.KeyFile)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := secret.LoadKey("", dir, true)
		if err == nil || backup.ErrorCode(err) != backup.EINVALID || !strings.Contains(err.Error(), "refusing to use it") ||
			!strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("LoadKey with key file mode %04o = %v, want a refusal saying chmod 600", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		os.Chmod(path, mode)
		if _, err := secret.LoadKey("", dir, true); err != nil {
			t.Errorf("LoadKey with key file mode %04o: %v", mode, err)
		}
	}
}

func TestKeyFileMalformedOrNotAFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, secret.KeyFile)
	os.WriteFile(path, []byte("not a key\n"), 0o600)
	if _, err := secret.LoadKey("", dir, true); err == nil || !strings.Contains(err.Error(), "secret key file "+path+" is malformed: it is not base64") {
		t.Errorf("LoadKey with a malformed key file = %v", err)
	}
	os.Remove(path)
	os.Mkdir(path, 0o700)
	if _, err := secret.LoadKey("", dir, true); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("LoadKey with a directory as key file = %v", err)
	}
}

func TestKeyringMakesTheKeyOnlyToSeal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, secret.KeyFile)
	k := secret.NewKeyring("", dir)
	if _, err := k.Open("webhook_url", []byte("x")); !errors.Is(err, secret.ErrNoKey) {
		t.Fatalf("Open with no key = %v, want ErrNoKey", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open made a key file: %v", err)
	}
	sealed, err := k.Seal("webhook_url", []byte("https://example.org/hook"))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Seal made no key file: %v", err)
	}
	// Another process with the same data directory opens it.
	if got, err := secret.NewKeyring("", dir).Open("webhook_url", sealed); err != nil || string(got) != "https://example.org/hook" {
		t.Errorf("Open from a new Keyring = %q, %v", got, err)
	}
	// With the key from the environment instead, it is another key.
	env, _ := secret.GenerateKey()
	if _, err := secret.NewKeyring(base64.StdEncoding.EncodeToString(env), dir).Open("webhook_url", sealed); !errors.Is(err, secret.ErrWrongKey) {
		t.Errorf("Open with another key = %v, want ErrWrongKey", err)
	}
}

func TestNewBoxWantsThirtyTwoBytes(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := secret.NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox(%d bytes) succeeded", n)
		}
	}
}
