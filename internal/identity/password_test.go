package identity

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// cheap are parameters fast enough for many hashes in a test.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerifies(t *testing.T) {
	h, err := HashPassword(cheap, "correct horse battery")
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, "correct horse") {
		t.Errorf("hash %q is not PHC argon2id, or holds the password", h)
	}
	if ok, err := VerifyPassword(h, "correct horse battery"); !ok || err != nil {
		t.Errorf("VerifyPassword(right) = %v, %v", ok, err)
	}
	for _, wrong := range []string{"", "correct horse batter", "Correct horse battery", "correct horse battery "} {
		if ok, err := VerifyPassword(h, wrong); ok || err != nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
}

func TestSamePasswordHashesDifferBySalt(t *testing.T) {
	a, _ := HashPassword(cheap, "the same password")
	b, _ := HashPassword(cheap, "the same password")
	if a == b {
		t.Fatalf("two hashes of one password are equal: %s", a)
	}
	saltA, saltB := strings.Split(a, "$")[4], strings.Split(b, "$")[4]
	if saltA == saltB {
		t.Errorf("two hashes share the salt %s", saltA)
	}
}

func TestTamperedHashFails(t *testing.T) {
	const pw = "a fine long password"
	h, _ := HashPassword(cheap, pw)
	parts := strings.Split(h, "$")
	flip := func(b64 string) string {
		b, _ := base64.RawStdEncoding.DecodeString(b64)
		b[0] ^= 1
		return base64.RawStdEncoding.EncodeToString(b)
	}
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	// Each still parses, but no longer matches.
	for name, tampered := range map[string]string{
		"hash bit":    with(5, flip(parts[5])),
		"salt bit":    with(4, flip(parts[4])),
		"time cost":   with(3, "m=64,t=2,p=1"),
		"memory cost": with(3, "m=128,t=1,p=1"),
	} {
		if ok, err := VerifyPassword(tampered, pw); ok || err != nil {
			t.Errorf("%s changed: VerifyPassword = %v, %v; want false, nil", name, ok, err)
		}
	}
	// These do not parse: an error, never a match.
	for name, bad := range map[string]string{
		"empty":          "",
		"argon2i":        strings.Replace(h, "argon2id", "argon2i", 1),
		"version":        with(2, "v=16"),
		"huge memory":    with(3, "m=4194304,t=1,p=1"),
		"huge time":      with(3, "m=64,t=1000,p=1"),
		"no threads":     with(3, "m=64,t=1,p=0"),
		"padded params":  with(3, "m=064,t=1,p=1"),
		"short hash":     with(5, parts[5][:8]),
		"bad base64":     with(5, parts[5]+"!"),
		"no salt":        with(4, ""),
		"extra field":    h + "$x",
		"plain password": pw,
	} {
		if ok, err := VerifyPassword(bad, pw); ok || err == nil {
			t.Errorf("%s: VerifyPassword = %v, %v; want false and an error", name, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		user, pw string
		ok       bool
	}{
		{"alice", "twelve chars", true},
		{"alice", "eleven char", false},
		{"alice", "ÄÖÜäöüßÄÖÜäö", true}, // 12 characters, more bytes
		{"alicealice12", "ALICEALICE12", false},
		{"alice", "my alice password", false},
		{"al", "al is my name, ok", true}, // short names may appear
		{"bob", strings.Repeat("x", MaxPasswordLen+1), false},
		{"bob", "\xff\xfe invalid utf8 bytes", false},
	} {
		err := CheckPassword(tc.user, tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q, %q) = %v, want ok=%v", tc.user, tc.pw, err, tc.ok)
		}
		if err != nil && backup.ErrorCode(err) != backup.EINVALID {
			t.Errorf("CheckPassword(%q, %q): code %q, want invalid", tc.user, tc.pw, backup.ErrorCode(err))
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := GeneratePassword()
		if err != nil {
			t.Fatalf("GeneratePassword: %v", err)
		}
		if len(pw) != GeneratedPasswordLen || strings.Trim(pw, passwordAlphabet) != "" || strings.ContainsAny(pw, "0O1lI") {
			t.Fatalf("generated %q: want %d characters of the unambiguous alphabet", pw, GeneratedPasswordLen)
		}
		if err := CheckPassword("administrator", pw); err != nil {
			t.Fatalf("generated %q breaks the rules: %v", pw, err)
		}
		if seen[pw] {
			t.Fatalf("generated %q twice", pw)
		}
		seen[pw] = true
	}
}

func TestTokens(t *testing.T) {
	tok, hash, err := NewToken()
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 || !wellFormedToken(tok) {
		t.Errorf("token %q: want hms_ and 43 base64url characters", tok)
	}
	if string(hash) != string(HashToken(tok)) || len(hash) != 32 {
		t.Errorf("NewToken's hash is not HashToken of the token")
	}
	other, _, _ := NewToken()
	if other == tok {
		t.Errorf("two tokens are equal")
	}
	for _, bad := range []string{"", tok[4:], "hms_" + tok[5:], tok + "A", "xyz_" + tok[4:], "hms_" + strings.Repeat("!", 43)} {
		if wellFormedToken(bad) {
			t.Errorf("wellFormedToken(%q) = true", bad)
		}
	}
}

// TestDefaultParamsHashTime reports how long one hash takes with
// DefaultParams on this machine (see BenchmarkHashPassword).
func TestDefaultParamsHashTime(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with the real parameters")
	}
	start := time.Now()
	h, err := HashPassword(DefaultParams(), "a password of some length")
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	t.Logf("one argon2id hash with %+v took %v", DefaultParams(), time.Since(start))
	if ok, err := VerifyPassword(h, "a password of some length"); !ok || err != nil {
		t.Errorf("VerifyPassword = %v, %v", ok, err)
	}
}

// BenchmarkHashPassword measures one hash with DefaultParams: the time a
// sign-in costs the server.
func BenchmarkHashPassword(b *testing.B) {
	p := DefaultParams()
	for b.Loop() {
		if _, err := HashPassword(p, "a password of some length"); err != nil {
			b.Fatal(err)
		}
	}
}
