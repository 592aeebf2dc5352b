// Package identity is who may use hmsbackup through the web UI and the API:
// users with argon2id password hashes, roles that grant some of the five
// permissions, and per-user API tokens stored only as hashes. It keeps its
// records behind Store (implemented by the SQLite catalog) and audits every
// change through Auditor.
package identity

import (
	"regexp"
	"slices"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Permission is one of the five things a role may allow (PRODUCT.md 8.3).
type Permission string

// The permissions. View alone sees lists and details, nothing else (8.2).
const (
	PermView           Permission = "backups.view"
	PermCreate         Permission = "backups.create"
	PermDelete         Permission = "backups.delete"
	PermRestore        Permission = "backups.restore"
	PermManageSettings Permission = "backups.manage-settings"
)

// Permissions returns the five permissions, in the order above.
func Permissions() []Permission {
	return []Permission{PermView, PermCreate, PermDelete, PermRestore, PermManageSettings}
}

// ParsePermission returns the permission named s, or EINVALID naming the
// five.
func ParsePermission(s string) (Permission, error) {
	p := Permission(strings.TrimSpace(s))
	if slices.Contains(Permissions(), p) {
		return p, nil
	}
	return "", backup.Errorf(backup.EINVALID, "%q is not a permission: use %s", s, joinPermissions(Permissions()))
}

// Names of the built-in roles.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// Role is a named set of permissions. Built-in roles can be neither
// changed nor deleted.
type Role struct {
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
	BuiltIn     bool         `json:"built_in"`
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool { return Can(r.Permissions, p) }

// Can reports whether perms grants p. Only the five known permissions are
// ever granted: an unknown p is always false.
func Can(perms []Permission, p Permission) bool {
	return slices.Contains(Permissions(), p) && slices.Contains(perms, p)
}

// BuiltinRoles returns the built-in roles: admin (all five permissions),
// operator (view, create) and viewer (view). The catalog's migration
// creates the same.
func BuiltinRoles() []Role {
	return []Role{
		{Name: RoleAdmin, Permissions: Permissions(), BuiltIn: true},
		{Name: RoleOperator, Permissions: []Permission{PermView, PermCreate}, BuiltIn: true},
		{Name: RoleViewer, Permissions: []Permission{PermView}, BuiltIn: true},
	}
}

var roleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// CheckRoleName returns EINVALID unless name is 1-32 of a-z, 0-9, _ and -,
// starting with a letter.
func CheckRoleName(name string) error {
	if !roleNameRE.MatchString(name) {
		return backup.Errorf(backup.EINVALID, "role name %q is not valid: use 1-32 lowercase letters, digits, _ and -, starting with a letter", name)
	}
	return nil
}

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckUserName returns EINVALID unless name is 1-64 ASCII letters,
// digits, '.', '_', '@' and '-', starting with a letter or digit. Names
// are unique regardless of case.
func CheckUserName(name string) error {
	if !userNameRE.MatchString(name) {
		return backup.Errorf(backup.EINVALID, "user name %q is not valid: use 1-64 letters, digits, '.', '_', '@' and '-', starting with a letter or digit", name)
	}
	return nil
}

// normalizePermissions returns perms checked, without duplicates, in the
// order of Permissions.
func normalizePermissions(perms []Permission) ([]Permission, error) {
	out := []Permission{}
	for _, p := range perms {
		if _, err := ParsePermission(string(p)); err != nil {
			return nil, err
		}
	}
	for _, p := range Permissions() {
		if slices.Contains(perms, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func joinPermissions(perms []Permission) string {
	s := make([]string, len(perms))
	for i, p := range perms {
		s[i] = string(p)
	}
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}
