package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

var _ identity.Store = (*Catalog)(nil)

// userColumns are read by scanUser, in its order.
const userColumns = `id, name, password_hash, role, disabled, created_at, updated_at, last_sign_in_at`

// CreateUser inserts u and sets its ID, CreatedAt and UpdatedAt. Returns
// ECONFLICT if the name is taken in any case, EINVALID if u.Role is not a
// role or u.PasswordHash is not an argon2id hash.
func (c *Catalog) CreateUser(ctx context.Context, u *identity.User) error {
	if _, err := c.FindRole(ctx, u.Role); errors.Is(err, backup.ErrNotFound) {
		return backup.Errorf(backup.EINVALID, "add user %q: no role %q", u.Name, u.Role)
	} else if err != nil {
		return err
	}
	now := c.now()
	var id int64
	err := c.write(func() error {
		return c.db.QueryRowContext(ctx, `
			INSERT INTO users (name, password_hash, role, disabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Name, u.PasswordHash, u.Role, u.Disabled, formatTime(now), formatTime(now)).Scan(&id)
	})
	if err != nil {
		return c.wrap(err, "add user %q", u.Name)
	}
	u.ID, u.CreatedAt, u.UpdatedAt, u.LastSignInAt = id, now, now, nil
	return nil
}

// FindUserByName returns the user named name in any case, or ENOTFOUND.
func (c *Catalog) FindUserByName(ctx context.Context, name string) (*identity.User, error) {
	u, err := scanUser(c.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, backup.Errorf(backup.ENOTFOUND, "no user %q", name)
	}
	if err != nil {
		return nil, c.wrap(err, "find user %q", name)
	}
	return u, nil
}

// FindUserByID returns the user id, or ENOTFOUND.
func (c *Catalog) FindUserByID(ctx context.Context, id int64) (*identity.User, error) {
	u, err := scanUser(c.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, backup.Errorf(backup.ENOTFOUND, "no user %d", id)
	}
	if err != nil {
		return nil, c.wrap(err, "find user %d", id)
	}
	return u, nil
}

// Users returns every user, by name regardless of case.
func (c *Catalog) Users(ctx context.Context) ([]*identity.User, error) {
	us, err := collect(scanUser)(c.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name, id`))
	if err != nil {
		return nil, c.wrap(err, "list users")
	}
	return us, nil
}

// SetUserDisabled sets the user's Disabled and UpdatedAt, or returns
// ENOTFOUND.
func (c *Catalog) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	return c.updateUser(ctx, id, "set disabled of user", `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, disabled)
}

// SetPasswordHash replaces the user's hash and sets UpdatedAt, or returns
// ENOTFOUND.
func (c *Catalog) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	return c.updateUser(ctx, id, "set password hash of user", `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash)
}

// RecordSignIn sets the user's LastSignInAt to now, or returns ENOTFOUND.
func (c *Catalog) RecordSignIn(ctx context.Context, id int64) error {
	return c.updateUser(ctx, id, "record sign-in of user", `UPDATE users SET last_sign_in_at = ? WHERE id = ?`)
}

// updateUser runs query with arg (if any), the current time and id, and
// returns ENOTFOUND if it changed no row.
func (c *Catalog) updateUser(ctx context.Context, id int64, doing, query string, arg ...any) error {
	args := append(arg, formatTime(c.now()), id)
	var n int64
	err := c.write(func() error {
		res, err := c.db.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return c.wrap(err, "%s %d", doing, id)
	}
	if n == 0 {
		return backup.Errorf(backup.ENOTFOUND, "%s %d: no such user", doing, id)
	}
	return nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (*identity.User, error) {
	var (
		u                    identity.User
		createdAt, updatedAt string
		lastSignIn           sql.NullString
	)
	if err := r.Scan(&u.ID, &u.Name, &u.PasswordHash, &u.Role, &u.Disabled, &createdAt, &updatedAt, &lastSignIn); err != nil {
		return nil, err
	}
	var err error
	if u.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, err
	}
	if u.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return nil, err
	}
	if u.LastSignInAt, err = parseNullTime(lastSignIn); err != nil {
		return nil, err
	}
	return &u, nil
}

// parseNullTime reads a nullable stored time.
func parseNullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Roles returns every role, built-in ones first, then by name.
func (c *Catalog) Roles(ctx context.Context) ([]identity.Role, error) {
	rs, err := collect(scanRole)(c.db.QueryContext(ctx, `SELECT name, permissions, built_in FROM roles
		ORDER BY built_in DESC, CASE name WHEN 'admin' THEN 1 WHEN 'operator' THEN 2 WHEN 'viewer' THEN 3 ELSE 4 END, name`))
	if err != nil {
		return nil, c.wrap(err, "list roles")
	}
	return rs, nil
}

// FindRole returns the role named name in any case, or ENOTFOUND.
func (c *Catalog) FindRole(ctx context.Context, name string) (identity.Role, error) {
	r, err := scanRole(c.db.QueryRowContext(ctx, `SELECT name, permissions, built_in FROM roles WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return identity.Role{}, backup.Errorf(backup.ENOTFOUND, "no role %q", name)
	}
	if err != nil {
		return identity.Role{}, c.wrap(err, "find role %q", name)
	}
	return r, nil
}

func scanRole(r rowScanner) (identity.Role, error) {
	var (
		role  identity.Role
		perms string
	)
	if err := r.Scan(&role.Name, &perms, &role.BuiltIn); err != nil {
		return identity.Role{}, err
	}
	if err := json.Unmarshal([]byte(perms), &role.Permissions); err != nil {
		return identity.Role{}, backup.Wrap(err, backup.EINTERNAL, "role %q: permissions", role.Name)
	}
	if role.Permissions == nil {
		role.Permissions = []identity.Permission{}
	}
	return role, nil
}

// CreateRole inserts the custom role r (never built-in). Returns ECONFLICT
// if the name is taken in any case.
func (c *Catalog) CreateRole(ctx context.Context, r identity.Role) error {
	perms := r.Permissions
	if perms == nil {
		perms = []identity.Permission{}
	}
	b, err := json.Marshal(perms)
	if err != nil {
		return backup.Wrap(err, backup.EINVALID, "add role %q: permissions", r.Name)
	}
	err = c.write(func() error {
		_, err := c.db.ExecContext(ctx, `INSERT INTO roles (name, permissions, built_in) VALUES (?, ?, 0)`, r.Name, string(b))
		return err
	})
	if err != nil {
		return c.wrap(err, "add role %q", r.Name)
	}
	return nil
}

// DeleteRole removes a custom role. Returns EINVALID for a built-in role or
// one users have, ENOTFOUND if there is no such role.
func (c *Catalog) DeleteRole(ctx context.Context, name string) error {
	r, err := c.FindRole(ctx, name)
	if err != nil {
		return err
	}
	if r.BuiltIn {
		return backup.Errorf(backup.EINVALID, "role %q is built in and cannot be deleted", r.Name)
	}
	var users int
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = ?`, r.Name).Scan(&users); err != nil {
		return c.wrap(err, "delete role %q", r.Name)
	}
	if users > 0 {
		return backup.Errorf(backup.EINVALID, "role %q is the role of %d user(s): give them another role first", r.Name, users)
	}
	err = c.write(func() error {
		_, err := c.db.ExecContext(ctx, `DELETE FROM roles WHERE name = ? AND built_in = 0`, r.Name)
		return err
	})
	if err != nil {
		return c.wrap(err, "delete role %q", r.Name)
	}
	return nil
}

// tokenColumns are read by scanToken, in its order.
const tokenColumns = `t.id, t.user_id, u.name, t.label, t.token_hash, t.created_at, t.last_used_at, t.revoked_at`

const tokenFrom = ` FROM api_tokens t JOIN users u ON u.id = t.user_id`

// CreateToken inserts t, its Hash and never a token, and sets its ID and
// CreatedAt. Returns ENOTFOUND if there is no user t.UserID, EINVALID if
// t.Hash is not 32 bytes.
func (c *Catalog) CreateToken(ctx context.Context, t *identity.Token) error {
	u, err := c.FindUserByID(ctx, t.UserID)
	if err != nil {
		return err
	}
	now := c.now()
	var id int64
	err = c.write(func() error {
		return c.db.QueryRowContext(ctx, `
			INSERT INTO api_tokens (user_id, label, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			t.UserID, t.Label, t.Hash, formatTime(now)).Scan(&id)
	})
	if err != nil {
		return c.wrap(err, "add API token for user %q", u.Name)
	}
	t.ID, t.UserName, t.CreatedAt, t.LastUsedAt, t.RevokedAt = id, u.Name, now, nil, nil
	return nil
}

// FindTokenByHash returns the token with hash, revoked or not, or
// ENOTFOUND.
func (c *Catalog) FindTokenByHash(ctx context.Context, hash []byte) (*identity.Token, error) {
	t, err := scanToken(c.db.QueryRowContext(ctx, `SELECT `+tokenColumns+tokenFrom+` WHERE t.token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, backup.Errorf(backup.ENOTFOUND, "no such API token")
	}
	if err != nil {
		return nil, c.wrap(err, "find API token")
	}
	return t, nil
}

// FindTokenByID returns the token id, or ENOTFOUND.
func (c *Catalog) FindTokenByID(ctx context.Context, id int64) (*identity.Token, error) {
	t, err := scanToken(c.db.QueryRowContext(ctx, `SELECT `+tokenColumns+tokenFrom+` WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, backup.Errorf(backup.ENOTFOUND, "no API token %d", id)
	}
	if err != nil {
		return nil, c.wrap(err, "find API token %d", id)
	}
	return t, nil
}

// Tokens returns the tokens of the user userID, or of all if nil, by ID.
func (c *Catalog) Tokens(ctx context.Context, userID *int64) ([]*identity.Token, error) {
	q, args := `SELECT `+tokenColumns+tokenFrom, []any{}
	if userID != nil {
		q, args = q+` WHERE t.user_id = ?`, append(args, *userID)
	}
	ts, err := collect(scanToken)(c.db.QueryContext(ctx, q+` ORDER BY t.id`, args...))
	if err != nil {
		return nil, c.wrap(err, "list API tokens")
	}
	return ts, nil
}

// TouchToken sets the token's LastUsedAt to now, or returns ENOTFOUND.
func (c *Catalog) TouchToken(ctx context.Context, id int64) error {
	return c.updateToken(ctx, id, "record use of API token", `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`)
}

// RevokeToken sets the token's RevokedAt to now unless it is set already,
// and returns the stored record, or ENOTFOUND.
func (c *Catalog) RevokeToken(ctx context.Context, id int64) (*identity.Token, error) {
	if err := c.updateToken(ctx, id, "revoke API token", `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`); err != nil {
		return nil, err
	}
	return c.FindTokenByID(ctx, id)
}

func (c *Catalog) updateToken(ctx context.Context, id int64, doing, query string) error {
	var n int64
	err := c.write(func() error {
		res, err := c.db.ExecContext(ctx, query, formatTime(c.now()), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return c.wrap(err, "%s %d", doing, id)
	}
	if n == 0 {
		return backup.Errorf(backup.ENOTFOUND, "%s %d: no such token", doing, id)
	}
	return nil
}

func scanToken(r rowScanner) (*identity.Token, error) {
	var (
		t                 identity.Token
		createdAt         string
		lastUsed, revoked sql.NullString
	)
	if err := r.Scan(&t.ID, &t.UserID, &t.UserName, &t.Label, &t.Hash, &createdAt, &lastUsed, &revoked); err != nil {
		return nil, err
	}
	var err error
	if t.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, err
	}
	if t.LastUsedAt, err = parseNullTime(lastUsed); err != nil {
		return nil, err
	}
	if t.RevokedAt, err = parseNullTime(revoked); err != nil {
		return nil, err
	}
	return &t, nil
}

// collect returns a function that takes a query's result and scans every
// row with scan, closing the rows: collect(scanUser)(db.QueryContext(...)).
func collect[T any](scan func(rowScanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []T{}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}
