package sqlite_test

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

// testHash is a well-formed argon2id hash (of no password that matters).
const testHash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

func TestBuiltinRolesPresentAfterMigration(t *testing.T) {
	c := openCatalog(t)
	got, err := c.Roles(t.Context())
	if err != nil {
		t.Fatalf("Roles: %v", err)
	}
	if want := identity.BuiltinRoles(); !reflect.DeepEqual(got, want) {
		t.Errorf("Roles = %+v, want %+v", got, want)
	}
	r, err := c.FindRole(t.Context(), "ADMIN")
	if err != nil || r.Name != identity.RoleAdmin || !r.BuiltIn {
		t.Errorf("FindRole(ADMIN) = %+v, %v; want the built-in admin", r, err)
	}
}

func TestUserRoundTripAndUniqueNames(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	u := &identity.User{Name: "Alice", Role: identity.RoleOperator, PasswordHash: testHash}
	if err := c.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == 0 || u.CreatedAt.IsZero() || !u.CreatedAt.Equal(u.UpdatedAt) || u.LastSignInAt != nil {
		t.Errorf("CreateUser set %+v", u)
	}
	got, err := c.FindUserByName(ctx, "alice")
	if err != nil {
		t.Fatalf("FindUserByName(alice): %v", err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("read back %+v, want %+v", got, u)
	}
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		wantCode(t, c.CreateUser(ctx, &identity.User{Name: name, Role: identity.RoleViewer, PasswordHash: testHash}), backup.ECONFLICT)
	}
	wantCode(t, c.CreateUser(ctx, &identity.User{Name: "bob", Role: "nurse", PasswordHash: testHash}), backup.EINVALID)
	wantCode(t, c.CreateUser(ctx, &identity.User{Name: "bob", Role: identity.RoleViewer, PasswordHash: "secret"}), backup.EINVALID)

	if err := c.SetUserDisabled(ctx, u.ID, true); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	if err := c.SetPasswordHash(ctx, u.ID, testHash+"x"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	if err := c.RecordSignIn(ctx, u.ID); err != nil {
		t.Fatalf("RecordSignIn: %v", err)
	}
	got, err = c.FindUserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("FindUserByID: %v", err)
	}
	if !got.Disabled || got.PasswordHash != testHash+"x" || got.LastSignInAt == nil || !got.UpdatedAt.After(u.UpdatedAt) {
		t.Errorf("after changes: %+v", got)
	}
	wantCode(t, c.SetUserDisabled(ctx, 999, true), backup.ENOTFOUND)
	_, err = c.FindUserByName(ctx, "nobody")
	wantCode(t, err, backup.ENOTFOUND)

	if err := c.CreateUser(ctx, &identity.User{Name: "aaron", Role: identity.RoleViewer, PasswordHash: testHash}); err != nil {
		t.Fatalf("CreateUser(aaron): %v", err)
	}
	us, err := c.Users(ctx)
	if err != nil || len(us) != 2 || us[0].Name != "aaron" || us[1].Name != "Alice" {
		t.Errorf("Users = %v, %v; want aaron, Alice", us, err)
	}
}

func TestCustomRoles(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	r := identity.Role{Name: "restorer", Permissions: []identity.Permission{identity.PermView, identity.PermRestore}}
	if err := c.CreateRole(ctx, r); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	got, err := c.FindRole(ctx, "restorer")
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("FindRole = %+v, %v; want %+v", got, err, r)
	}
	wantCode(t, c.CreateRole(ctx, identity.Role{Name: "Restorer"}), backup.ECONFLICT)
	if err := c.CreateUser(ctx, &identity.User{Name: "rita", Role: "restorer", PasswordHash: testHash}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	wantCode(t, c.DeleteRole(ctx, "restorer"), backup.EINVALID) // rita has it
	for _, b := range identity.BuiltinRoles() {
		wantCode(t, c.DeleteRole(ctx, b.Name), backup.EINVALID)
	}
	wantCode(t, c.DeleteRole(ctx, "nurse"), backup.ENOTFOUND)
	if err := c.CreateRole(ctx, identity.Role{Name: "empty"}); err != nil {
		t.Fatalf("CreateRole(empty): %v", err)
	}
	if err := c.DeleteRole(ctx, "empty"); err != nil {
		t.Fatalf("DeleteRole(empty): %v", err)
	}
	rs, _ := c.Roles(ctx)
	if len(rs) != 4 || rs[3].Name != "restorer" {
		t.Errorf("Roles = %+v; want the built-ins, then restorer", rs)
	}
}

// The schema itself refuses to delete or change a built-in role, whoever
// writes to the file.
func TestBuiltinRolesProtectedBySchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	db := rawDB(t, path)
	if _, err := db.ExecContext(t.Context(), `DELETE FROM roles WHERE name = 'admin'`); err == nil {
		t.Errorf("DELETE of the admin role was accepted")
	}
	if _, err := db.ExecContext(t.Context(), `UPDATE roles SET permissions = '[]' WHERE name = 'viewer'`); err == nil {
		t.Errorf("UPDATE of the viewer role was accepted")
	}
}

func TestTokenRoundTripAndRevoke(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	u := &identity.User{Name: "hms", Role: identity.RoleOperator, PasswordHash: testHash}
	if err := c.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	_, hash, err := identity.NewToken()
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	tok := &identity.Token{UserID: u.ID, Label: "nightly export", Hash: hash}
	if err := c.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if tok.ID == 0 || tok.UserName != "hms" || tok.CreatedAt.IsZero() {
		t.Errorf("CreateToken set %+v", tok)
	}
	got, err := c.FindTokenByHash(ctx, hash)
	if err != nil || !reflect.DeepEqual(got, tok) {
		t.Errorf("FindTokenByHash = %+v, %v; want %+v", got, err, tok)
	}
	wantCode(t, c.CreateToken(ctx, &identity.Token{UserID: u.ID, Hash: hash}), backup.ECONFLICT)
	wantCode(t, c.CreateToken(ctx, &identity.Token{UserID: u.ID, Hash: []byte("short")}), backup.EINVALID)
	wantCode(t, c.CreateToken(ctx, &identity.Token{UserID: 999, Hash: bytes.Repeat([]byte{1}, 32)}), backup.ENOTFOUND)

	if err := c.TouchToken(ctx, tok.ID); err != nil {
		t.Fatalf("TouchToken: %v", err)
	}
	r1, err := c.RevokeToken(ctx, tok.ID)
	if err != nil || r1.RevokedAt == nil || r1.LastUsedAt == nil {
		t.Fatalf("RevokeToken = %+v, %v", r1, err)
	}
	r2, err := c.RevokeToken(ctx, tok.ID)
	if err != nil || !r2.RevokedAt.Equal(*r1.RevokedAt) {
		t.Errorf("second RevokeToken = %+v, %v; want the first revocation time kept", r2, err)
	}
	_, err = c.RevokeToken(ctx, 999)
	wantCode(t, err, backup.ENOTFOUND)

	other := &identity.User{Name: "ops", Role: identity.RoleViewer, PasswordHash: testHash}
	if err := c.CreateUser(ctx, other); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := c.CreateToken(ctx, &identity.Token{UserID: other.ID, Hash: bytes.Repeat([]byte{2}, 32)}); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	all, err := c.Tokens(ctx, nil)
	if err != nil || len(all) != 2 {
		t.Errorf("Tokens(nil) = %d, %v; want 2", len(all), err)
	}
	mine, err := c.Tokens(ctx, &u.ID)
	if err != nil || len(mine) != 1 || mine[0].ID != tok.ID {
		t.Errorf("Tokens(hms) = %v, %v; want token %d only", mine, err, tok.ID)
	}
}

func TestAuditEntryKeepsSourceAddressAndUserAgent(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	e := &backup.AuditEntry{Actor: "alice", Action: backup.ActionSignIn, Outcome: "failure",
		SourceAddress: "192.0.2.7", UserAgent: "Mozilla/5.0"}
	if err := c.AddAuditEntry(ctx, e); err != nil {
		t.Fatalf("AddAuditEntry: %v", err)
	}
	cli := &backup.AuditEntry{Actor: "cli:root", Action: backup.ActionUserList, Outcome: "success"}
	if err := c.AddAuditEntry(ctx, cli); err != nil {
		t.Fatalf("AddAuditEntry: %v", err)
	}
	got, _, err := c.FindAuditEntries(ctx, backup.AuditFilter{})
	if err != nil || len(got) != 2 || !reflect.DeepEqual(got[1], e) || !reflect.DeepEqual(got[0], cli) {
		t.Errorf("FindAuditEntries = %s, %v", dump(got), err)
	}
}
