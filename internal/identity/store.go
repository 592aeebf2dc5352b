package identity

import (
	"context"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// User is a person who signs in to the web UI or uses the API. Its
// PasswordHash never leaves the process: it is not in its JSON.
type User struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Role         string     `json:"role"`
	Disabled     bool       `json:"disabled"`
	PasswordHash string     `json:"-"` // argon2id, PHC form
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	LastSignInAt *time.Time `json:"last_sign_in_at"`
}

// Token is an API token's record: never the token itself, only its hash
// (not in its JSON either).
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	UserName   string     `json:"user"`
	Label      string     `json:"label"`
	Hash       []byte     `json:"-"` // HashToken of the token
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Revoked reports whether the token can no longer be used.
func (t *Token) Revoked() bool { return t.RevokedAt != nil }

// Store keeps users, roles and API tokens. Names of users and roles match
// regardless of case. Times are stamped by the store, in UTC. Errors are
// *backup.Error: ENOTFOUND for a missing record, ECONFLICT for a taken
// name, EINVALID for a constraint broken. Safe for concurrent use.
type Store interface {
	// CreateUser inserts u and sets its ID, CreatedAt and UpdatedAt.
	// Returns ECONFLICT if the name is taken, EINVALID if u.Role is not a
	// role.
	CreateUser(ctx context.Context, u *User) error
	// FindUserByName returns ENOTFOUND if there is no such user.
	FindUserByName(ctx context.Context, name string) (*User, error)
	// FindUserByID returns ENOTFOUND if there is no such user.
	FindUserByID(ctx context.Context, id int64) (*User, error)
	// Users returns every user, by name.
	Users(ctx context.Context) ([]*User, error)
	// SetUserDisabled sets the user's Disabled and UpdatedAt.
	SetUserDisabled(ctx context.Context, id int64, disabled bool) error
	// SetPasswordHash replaces the user's password hash and sets UpdatedAt.
	SetPasswordHash(ctx context.Context, id int64, hash string) error
	// RecordSignIn sets the user's LastSignInAt to now.
	RecordSignIn(ctx context.Context, id int64) error

	// Roles returns every role, built-in ones first, then by name.
	Roles(ctx context.Context) ([]Role, error)
	// FindRole returns ENOTFOUND if there is no such role.
	FindRole(ctx context.Context, name string) (Role, error)
	// CreateRole inserts a custom role (r.BuiltIn is ignored). Returns
	// ECONFLICT if the name is taken.
	CreateRole(ctx context.Context, r Role) error
	// DeleteRole removes a custom role. Returns EINVALID for a built-in
	// role or one that users have, ENOTFOUND if there is no such role.
	DeleteRole(ctx context.Context, name string) error

	// CreateToken inserts t (its Hash, never the token) and sets its ID
	// and CreatedAt. Returns ENOTFOUND if there is no such user.
	CreateToken(ctx context.Context, t *Token) error
	// FindTokenByHash returns the token whose Hash is hash, revoked or
	// not, or ENOTFOUND.
	FindTokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// FindTokenByID returns ENOTFOUND if there is no such token.
	FindTokenByID(ctx context.Context, id int64) (*Token, error)
	// Tokens returns the tokens of the user userID, or of all users if
	// userID is nil, by ID.
	Tokens(ctx context.Context, userID *int64) ([]*Token, error)
	// TouchToken sets the token's LastUsedAt to now.
	TouchToken(ctx context.Context, id int64) error
	// RevokeToken sets the token's RevokedAt to now unless it is already
	// revoked, and returns the record as stored. ENOTFOUND if there is no
	// such token.
	RevokeToken(ctx context.Context, id int64) (*Token, error)
}

// Auditor records audit entries; the catalog is one.
type Auditor interface {
	AddAuditEntry(ctx context.Context, e *backup.AuditEntry) error
}
