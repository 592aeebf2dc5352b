package identity

import (
	"testing"

	"pgregory.net/rapid"
)

// roleTable is PRODUCT.md's and the table, written out by hand:
// which built-in role has which permission.
var roleTable = map[string]map[Permission]bool{
	RoleAdmin:    {PermView: true, PermCreate: true, PermDelete: true, PermRestore: true, PermManageSettings: true},
	RoleOperator: {PermView: true, PermCreate: true},
	RoleViewer:   {PermView: true},
}

// Property: for every built-in role and every permission, Can says what
// the table says.
func TestCanMatchesRoleTable(t *testing.T) {
	roles := BuiltinRoles()
	rapid.Check(t, func(t *rapid.T) {
		r := rapid.SampledFrom(roles).Draw(t, "role")
		p := rapid.SampledFrom(Permissions()).Draw(t, "permission")
		if got, want := r.Can(p), roleTable[r.Name][p]; got != want {
			t.Fatalf("role %s Can(%s) = %v, want %v", r.Name, p, got, want)
		}
		if got := Can(r.Permissions, p); got != roleTable[r.Name][p] {
			t.Fatalf("Can(%v, %s) = %v", r.Permissions, p, got)
		}
	})
	// And exhaustively, since the table is small.
	for _, r := range roles {
		for _, p := range Permissions() {
			if r.Can(p) != roleTable[r.Name][p] {
				t.Errorf("role %s Can(%s) = %v", r.Name, p, r.Can(p))
			}
		}
	}
}

// Property: a custom role (any subset of the permissions) grants exactly
// its own permissions, and nothing grants an unknown permission.
func TestCanCustomRoles(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		perms := rapid.SliceOfDistinct(rapid.SampledFrom(Permissions()), func(p Permission) Permission { return p }).Draw(t, "permissions")
		r := Role{Name: "custom", Permissions: perms}
		for _, p := range Permissions() {
			want := false
			for _, q := range perms {
				want = want || q == p
			}
			if r.Can(p) != want {
				t.Fatalf("custom %v Can(%s) = %v", perms, p, !want)
			}
		}
		unknown := Permission(rapid.StringMatching(`backups\.[a-z-]{1,12}`).Draw(t, "unknown"))
		if _, err := ParsePermission(string(unknown)); err != nil && Can(append(perms, unknown), unknown) {
			t.Fatalf("unknown permission %q granted", unknown)
		}
	})
}

func TestNames(t *testing.T) {
	for name, ok := range map[string]bool{"alice": true, "dr.okafor@hms": true, "A1": true, "": false, "-x": false,
		"has space": false, "ünïcode": false, string(make([]byte, 65)): false} {
		if (CheckUserName(name) == nil) != ok {
			t.Errorf("CheckUserName(%q) ok = %v, want %v", name, !ok, ok)
		}
	}
	for name, ok := range map[string]bool{"auditor": true, "night-shift_2": true, "Admin": false, "2x": false, "": false} {
		if (CheckRoleName(name) == nil) != ok {
			t.Errorf("CheckRoleName(%q) ok = %v, want %v", name, !ok, ok)
		}
	}
}
