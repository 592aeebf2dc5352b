package identity_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

var cheap = identity.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var cliActor = identity.Actor{Name: "cli:root"}

type fixture struct {
	dir string
	cat *sqlite.Catalog
	svc *identity.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	cat, err := sqlite.Open(t.Context(), filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { cat.Close() })
	return &fixture{dir: dir, cat: cat, svc: identity.New(cat, cat, cheap, nil)}
}

func (f *fixture) audit(t *testing.T) []*backup.AuditEntry {
	t.Helper()
	es, _, err := f.cat.FindAuditEntries(t.Context(), backup.AuditFilter{})
	if err != nil {
		t.Fatalf("FindAuditEntries: %v", err)
	}
	return es
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := backup.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func TestAddUserAndSignIn(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	u, gen, err := f.svc.AddUser(ctx, cliActor, "alice", "operator", "a long enough password")
	if err != nil || gen != "" || u.Role != "operator" {
		t.Fatalf("AddUser = %+v, %q, %v", u, gen, err)
	}
	web := identity.Actor{SourceAddress: "192.0.2.1", UserAgent: "test"}
	got, err := f.svc.SignIn(ctx, web, "ALICE", "a long enough password")
	if err != nil || got.ID != u.ID || got.LastSignInAt == nil {
		t.Fatalf("SignIn = %+v, %v", got, err)
	}
	var msgs []string
	for _, tc := range []struct{ name, pw string }{{"alice", "wrong password!!"}, {"nobody", "a long enough password"}} {
		_, err := f.svc.SignIn(ctx, web, tc.name, tc.pw)
		wantCode(t, err, backup.EUNAUTHORIZED)
		msgs = append(msgs, err.Error())
	}
	if _, err := f.svc.SetDisabled(ctx, cliActor, "alice", true); err != nil {
		t.Fatalf("disable: %v", err)
	}
	_, err = f.svc.SignIn(ctx, web, "alice", "a long enough password")
	wantCode(t, err, backup.EUNAUTHORIZED)
	msgs = append(msgs, err.Error())
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Errorf("sign-in errors differ, telling which: %q", msgs)
	}
	// A password typed into the name field stays out of the audit.
	_, _ = f.svc.SignIn(ctx, web, "my secret password", "x")

	es := f.audit(t)
	var signIns []*backup.AuditEntry
	for _, e := range es {
		if e.Action == backup.ActionSignIn {
			signIns = append(signIns, e)
		}
		if strings.Contains(e.Details+e.Actor, "password!!") || strings.Contains(e.Details+e.Actor, "long enough") || strings.Contains(e.Actor, "my secret") {
			t.Errorf("audit holds a password: %+v", e)
		}
	}
	if len(signIns) != 5 || signIns[4].Outcome != "success" || signIns[4].UserID == nil || signIns[4].SourceAddress != "192.0.2.1" ||
		signIns[3].Outcome != "failure" || !strings.Contains(signIns[2].Details, "unknown user") || !strings.Contains(signIns[1].Details, "disabled") {
		for _, e := range signIns {
			t.Logf("%+v", e)
		}
		t.Errorf("sign-in audit entries wrong")
	}
}

func TestAddUserBadInput(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	if _, _, err := f.svc.AddUser(ctx, cliActor, "alice", "viewer", ""); err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	for _, tc := range []struct{ name, role, pw, msg string }{
		{"Alice", "viewer", "", "already exists"},
		{"bob", "nurse", "", `no role "nurse"`},
		{"bob", "viewer", "short", "too short"},
		{"bobby", "viewer", "bobby's password", "user name"},
		{"bad name", "viewer", "", "not valid"},
	} {
		_, _, err := f.svc.AddUser(ctx, cliActor, tc.name, tc.role, tc.pw)
		wantCode(t, err, backup.EINVALID)
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("AddUser(%q, %q): %v; want it to say %q", tc.name, tc.role, err, tc.msg)
		}
	}
	for _, e := range f.audit(t) {
		if e.Action != backup.ActionUserAdd {
			t.Errorf("unexpected audit entry %+v", e)
		}
	}
	if n := len(f.audit(t)); n != 6 {
		t.Errorf("%d audit entries, want 6 (one per attempt)", n)
	}
}

func TestSetPassword(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	_, first, _ := f.svc.AddUser(ctx, cliActor, "alice", "admin", "")
	gen, err := f.svc.SetPassword(ctx, cliActor, "alice", "")
	if err != nil || len(gen) != identity.GeneratedPasswordLen || gen == first {
		t.Fatalf("SetPassword = %q, %v", gen, err)
	}
	if _, err := f.svc.SignIn(ctx, identity.Actor{}, "alice", first); err == nil {
		t.Errorf("old password still signs in")
	}
	if _, err := f.svc.SignIn(ctx, identity.Actor{}, "alice", gen); err != nil {
		t.Errorf("new password: %v", err)
	}
	_, err = f.svc.SetPassword(ctx, cliActor, "alice", "short")
	wantCode(t, err, backup.EINVALID)
	_, err = f.svc.SetPassword(ctx, cliActor, "nobody", "")
	wantCode(t, err, backup.ENOTFOUND)
}

func TestTokensAuthenticate(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	u, _, _ := f.svc.AddUser(ctx, cliActor, "hms", "operator", "")
	tok, secret, err := f.svc.CreateToken(ctx, cliActor, "hms", "integration")
	if err != nil || tok.ID == 0 || !strings.HasPrefix(secret, "hms_") {
		t.Fatalf("CreateToken = %+v, %q, %v", tok, secret, err)
	}
	gotU, gotT, err := f.svc.AuthenticateToken(ctx, secret)
	if err != nil || gotU.ID != u.ID || gotT.LastUsedAt == nil {
		t.Fatalf("AuthenticateToken = %+v, %+v, %v", gotU, gotT, err)
	}
	// Another well-formed token: the last character holds 4 bits (A, E, I, ...).
	changed := secret[:len(secret)-1] + "A"
	if changed == secret {
		changed = secret[:len(secret)-1] + "E"
	}
	for _, bad := range []string{"", "hms_", changed, "Bearer " + secret} {
		_, _, err := f.svc.AuthenticateToken(ctx, bad)
		wantCode(t, err, backup.EUNAUTHORIZED)
	}
	// A disabled user's tokens stop working, and work again once enabled.
	f.svc.SetDisabled(ctx, cliActor, "hms", true)
	_, _, err = f.svc.AuthenticateToken(ctx, secret)
	wantCode(t, err, backup.EUNAUTHORIZED)
	_, _, err = f.svc.CreateToken(ctx, cliActor, "hms", "")
	wantCode(t, err, backup.EINVALID)
	f.svc.SetDisabled(ctx, cliActor, "hms", false)
	if _, _, err := f.svc.AuthenticateToken(ctx, secret); err != nil {
		t.Fatalf("after enable: %v", err)
	}
	if _, err := f.svc.RevokeToken(ctx, cliActor, tok.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	_, _, err = f.svc.AuthenticateToken(ctx, secret)
	wantCode(t, err, backup.EUNAUTHORIZED)
	_, err = f.svc.RevokeToken(ctx, cliActor, 999)
	wantCode(t, err, backup.ENOTFOUND)
	_, _, err = f.svc.CreateToken(ctx, cliActor, "nobody", "")
	wantCode(t, err, backup.ENOTFOUND)

	ts, err := f.svc.Tokens(ctx, cliActor, "hms")
	if err != nil || len(ts) != 1 || ts[0].RevokedAt == nil {
		t.Errorf("Tokens = %+v, %v", ts, err)
	}
	for _, e := range f.audit(t) {
		if strings.Contains(e.Details, secret) {
			t.Errorf("audit holds the token: %+v", e)
		}
	}
}

func TestPermissionsOfUser(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	if _, err := f.svc.AddRole(ctx, cliActor, "restorer", []identity.Permission{identity.PermRestore, identity.PermView, identity.PermView}); err != nil {
		t.Fatalf("AddRole: %v", err)
	}
	_, err := f.svc.AddRole(ctx, cliActor, "restorer", nil)
	wantCode(t, err, backup.EINVALID)
	_, err = f.svc.AddRole(ctx, cliActor, "bad", []identity.Permission{"backups.everything"})
	wantCode(t, err, backup.EINVALID)
	u, _, _ := f.svc.AddUser(ctx, cliActor, "rita", "restorer", "")
	perms, err := f.svc.Permissions(ctx, u)
	if err != nil || len(perms) != 2 || perms[0] != identity.PermView || perms[1] != identity.PermRestore {
		t.Errorf("Permissions = %v, %v; want view, restore", perms, err)
	}
	u.Disabled = true
	if perms, _ := f.svc.Permissions(ctx, u); len(perms) != 0 {
		t.Errorf("a disabled user has %v", perms)
	}
	wantCode(t, f.svc.DeleteRole(ctx, cliActor, "admin"), backup.EINVALID)
}

// The catalog file (and its WAL) never holds a password or a token in
// clear: only hashes.
func TestCatalogFileHoldsNoSecrets(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	const chosen = "Chosen-Password-4711"
	if _, _, err := f.svc.AddUser(ctx, cliActor, "alice", "admin", chosen); err != nil {
		t.Fatal(err)
	}
	_, generated, err := f.svc.AddUser(ctx, cliActor, "bob", "viewer", "")
	if err != nil {
		t.Fatal(err)
	}
	reset, err := f.svc.SetPassword(ctx, cliActor, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := f.svc.CreateToken(ctx, cliActor, "bob", "script")
	if err != nil {
		t.Fatal(err)
	}
	f.svc.SignIn(ctx, identity.Actor{}, "bob", generated)
	f.svc.SignIn(ctx, identity.Actor{}, "alice", chosen) // the old one: a failure
	f.svc.AuthenticateToken(ctx, token)
	check := func() {
		files, _ := filepath.Glob(filepath.Join(f.dir, "catalog.db*"))
		if len(files) == 0 {
			t.Fatalf("no catalog files")
		}
		var all []byte
		defer func() {
			// The check can see: the user names are there.
			if !bytes.Contains(all, []byte("alice")) {
				t.Errorf("the catalog files do not hold the user name alice: the check is blind")
			}
		}()
		for _, p := range files {
			b, err := os.ReadFile(p)
			all = append(all, b...)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{chosen, generated, reset, token, strings.TrimPrefix(token, "hms_")} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds a secret in clear", filepath.Base(p))
				}
			}
		}
	}
	check()
	f.cat.Close() // checkpoints the WAL into the file
	check()
}

func TestRevokeOwnToken(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	alice, _, _ := f.svc.AddUser(ctx, cliActor, "alice", "operator", "")
	bob, _, _ := f.svc.AddUser(ctx, cliActor, "bob", "operator", "")
	tok, secret, err := f.svc.CreateToken(ctx, cliActor, "alice", "ci")
	if err != nil {
		t.Fatal(err)
	}
	// Bob cannot revoke Alice's token, and learns no more than for an
	// unknown id.
	_, err = f.svc.RevokeOwnToken(ctx, cliActor, bob.ID, tok.ID)
	wantCode(t, err, backup.ENOTFOUND)
	_, err = f.svc.RevokeOwnToken(ctx, cliActor, bob.ID, 999)
	wantCode(t, err, backup.ENOTFOUND)
	if _, _, err := f.svc.AuthenticateToken(ctx, secret); err != nil {
		t.Fatalf("Alice's token after Bob's attempt: %v", err)
	}
	got, err := f.svc.RevokeOwnToken(ctx, cliActor, alice.ID, tok.ID)
	if err != nil || got.RevokedAt == nil {
		t.Fatalf("RevokeOwnToken = %+v, %v", got, err)
	}
	_, _, err = f.svc.AuthenticateToken(ctx, secret)
	wantCode(t, err, backup.EUNAUTHORIZED)
	var failed, done int
	for _, e := range f.audit(t) {
		if e.Action == backup.ActionTokenRevoke {
			switch e.Outcome {
			case "failure":
				failed++
			case "success":
				done++
			}
		}
	}
	if failed != 2 || done != 1 {
		t.Errorf("token.revoke audit: %d failed, %d done; want 2 and 1", failed, done)
	}
}
