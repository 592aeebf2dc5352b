package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Actor is who asks for an operation, as the audit records it: the CLI's
// "cli:<os user>", or a signed-in user with the request's address and user
// agent.
type Actor struct {
	Name          string
	UserID        *int64
	SourceAddress string
	UserAgent     string
}

// Service manages users, roles and API tokens. Every change, every listing
// and every sign-in leaves one audit entry (outcome success or failure)
// that never holds a password or a token. Safe for concurrent use.
type Service struct {
	store  Store
	audit  Auditor
	params Params
	logger *slog.Logger

	// dummyHash is verified for sign-ins by unknown or disabled users, so
	// they take as long as a wrong password for a real one.
	dummyOnce sync.Once
	dummyHash string
	dummyErr  error
}

// New returns a Service on store that audits to audit and hashes new
// passwords with params (DefaultParams unless a test needs them cheap).
// logger gets audit write failures; nil discards them.
func New(store Store, audit Auditor, params Params, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, audit: audit, params: params, logger: logger}
}

// errBadCredentials is the one error for an unknown user, a wrong
// password, a disabled user and a bad token: the caller cannot tell which.
func errBadCredentials(what string) error {
	return backup.Errorf(backup.EUNAUTHORIZED, "wrong %s", what)
}

// record writes one audit entry; a failure to write it is logged, never
// returned (the operation is done).
func (s *Service) record(ctx context.Context, by Actor, action backup.Action, opErr error, details string) {
	e := &backup.AuditEntry{Actor: by.Name, UserID: by.UserID, Action: action, Outcome: "success", Details: details,
		SourceAddress: by.SourceAddress, UserAgent: by.UserAgent}
	if opErr != nil {
		e.Outcome = "failure"
		e.Details = details + ": " + opErr.Error()
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.audit.AddAuditEntry(actx, e); err != nil {
		s.logger.Error("cannot write audit entry", "action", action, "actor", by.Name, "err", err)
	}
}

// AddUser creates the user name with role and password, or with a
// generated password if password is "", which it returns (else ""): the
// only time it is seen. Returns EINVALID for a bad name, an unknown role, a
// password that breaks CheckPassword, or a name already taken (in any
// case).
func (s *Service) AddUser(ctx context.Context, by Actor, name, role, password string) (u *User, generated string, err error) {
	details := fmt.Sprintf("add user %q with role %q", name, role)
	defer func() { s.record(ctx, by, backup.ActionUserAdd, err, details) }()
	if err := CheckUserName(name); err != nil {
		return nil, "", err
	}
	r, err := s.store.FindRole(ctx, role)
	if errors.Is(err, backup.ErrNotFound) {
		return nil, "", backup.Errorf(backup.EINVALID, "no role %q: use one of %s (see hmsbackup role list)", role, s.roleNames(ctx))
	} else if err != nil {
		return nil, "", fmt.Errorf("add user %s: %w", name, err)
	}
	if password == "" {
		if generated, err = GeneratePassword(); err != nil {
			return nil, "", err
		}
		password = generated
	}
	if err := CheckPassword(name, password); err != nil {
		return nil, "", err
	}
	if _, err := s.store.FindUserByName(ctx, name); err == nil {
		return nil, "", userExists(name)
	} else if !errors.Is(err, backup.ErrNotFound) {
		return nil, "", fmt.Errorf("add user %s: %w", name, err)
	}
	hash, err := HashPassword(s.params, password)
	if err != nil {
		return nil, "", err
	}
	u = &User{Name: name, Role: r.Name, PasswordHash: hash}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if backup.ErrorCode(err) == backup.ECONFLICT {
			return nil, "", userExists(name)
		}
		return nil, "", fmt.Errorf("add user %s: %w", name, err)
	}
	return u, generated, nil
}

func userExists(name string) error {
	return backup.Errorf(backup.EINVALID, "a user named %q already exists (user names are case-insensitive)", name)
}

// roleNames lists the roles for an error message.
func (s *Service) roleNames(ctx context.Context) string {
	roles, err := s.store.Roles(ctx)
	if err != nil {
		return "admin, operator, viewer"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// Users returns every user, by name, audited as a listing by by.
func (s *Service) Users(ctx context.Context, by Actor) (us []*User, err error) {
	defer func() { s.record(ctx, by, backup.ActionUserList, err, "list users") }()
	return s.store.Users(ctx)
}

// SetDisabled disables or enables the user name and returns its record.
// A disabled user cannot sign in and its API tokens stop working, until it
// is enabled again. Returns ENOTFOUND for an unknown user.
func (s *Service) SetDisabled(ctx context.Context, by Actor, name string, disabled bool) (u *User, err error) {
	action, verb := backup.ActionUserEnable, "enable"
	if disabled {
		action, verb = backup.ActionUserDisable, "disable"
	}
	details := fmt.Sprintf("%s user %q", verb, name)
	defer func() { s.record(ctx, by, action, err, details) }()
	u, err = s.findUser(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetUserDisabled(ctx, u.ID, disabled); err != nil {
		return nil, fmt.Errorf("%s user %s: %w", verb, u.Name, err)
	}
	return s.store.FindUserByID(ctx, u.ID)
}

// SetPassword replaces the password of the user name with password, or
// with a generated one if password is "", which it returns (else "").
// Returns ENOTFOUND for an unknown user, EINVALID for a password that
// breaks CheckPassword.
func (s *Service) SetPassword(ctx context.Context, by Actor, name, password string) (generated string, err error) {
	details := fmt.Sprintf("set the password of user %q", name)
	defer func() { s.record(ctx, by, backup.ActionUserPassword, err, details) }()
	u, err := s.findUser(ctx, name)
	if err != nil {
		return "", err
	}
	if password == "" {
		if generated, err = GeneratePassword(); err != nil {
			return "", err
		}
		password = generated
	}
	if err := CheckPassword(u.Name, password); err != nil {
		return "", err
	}
	hash, err := HashPassword(s.params, password)
	if err != nil {
		return "", err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return "", fmt.Errorf("set the password of user %s: %w", u.Name, err)
	}
	return generated, nil
}

// findUser returns the user name, or ENOTFOUND saying how to list them.
func (s *Service) findUser(ctx context.Context, name string) (*User, error) {
	u, err := s.store.FindUserByName(ctx, name)
	if errors.Is(err, backup.ErrNotFound) {
		return nil, backup.Errorf(backup.ENOTFOUND, "no user %q (see hmsbackup user list)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", name, err)
	}
	return u, nil
}

// SignIn checks name and password and returns the user, recording the
// sign-in time. An unknown user, a disabled one and a wrong password all
// give the same EUNAUTHORIZED error and take the same time (a hash is
// verified in every case). Each attempt is audited under the name tried
// (only if it is a valid user name: a password typed into the name field
// stays out of the audit) with from's address and user agent.
func (s *Service) SignIn(ctx context.Context, from Actor, name, password string) (u *User, err error) {
	by := from
	by.Name = "(invalid user name)"
	if CheckUserName(name) == nil {
		by.Name = name
	}
	reason := ""
	defer func() {
		if u != nil {
			by.UserID = &u.ID
		}
		details := "sign in"
		if reason != "" {
			details += " (" + reason + ")"
		}
		s.record(ctx, by, backup.ActionSignIn, err, details)
	}()
	found, ferr := s.store.FindUserByName(ctx, name)
	if ferr != nil && !errors.Is(ferr, backup.ErrNotFound) {
		return nil, fmt.Errorf("sign in: %w", ferr)
	}
	hash := ""
	if found != nil {
		hash = found.PasswordHash
	} else {
		if hash, err = s.dummy(); err != nil {
			return nil, err
		}
	}
	ok, verr := VerifyPassword(hash, password)
	switch {
	case found == nil:
		reason = "unknown user"
	case verr != nil:
		reason = "stored hash unreadable"
		s.logger.Error("stored password hash is unreadable", "user", found.Name, "err", verr)
	case !ok:
		reason = "wrong password"
	case found.Disabled:
		reason = "user disabled"
	}
	if reason != "" {
		return nil, errBadCredentials("user name or password")
	}
	if err := s.store.RecordSignIn(ctx, found.ID); err != nil {
		return nil, fmt.Errorf("sign in %s: %w", found.Name, err)
	}
	return s.store.FindUserByID(ctx, found.ID)
}

// dummy returns a hash of a random password with the service's params,
// made once.
func (s *Service) dummy() (string, error) {
	s.dummyOnce.Do(func() {
		var pw string
		if pw, s.dummyErr = GeneratePassword(); s.dummyErr == nil {
			s.dummyHash, s.dummyErr = HashPassword(s.params, pw)
		}
	})
	return s.dummyHash, s.dummyErr
}

// Roles returns every role, built-in first, audited as a listing by by.
func (s *Service) Roles(ctx context.Context, by Actor) (rs []Role, err error) {
	defer func() { s.record(ctx, by, backup.ActionRoleList, err, "list roles") }()
	return s.store.Roles(ctx)
}

// AddRole creates a custom role granting perms. Returns EINVALID for a bad
// name, an unknown permission, or a name already taken.
func (s *Service) AddRole(ctx context.Context, by Actor, name string, perms []Permission) (r Role, err error) {
	details := fmt.Sprintf("add role %q with %s", name, joinPermissions(perms))
	defer func() { s.record(ctx, by, backup.ActionRoleAdd, err, details) }()
	if err := CheckRoleName(name); err != nil {
		return Role{}, err
	}
	norm, err := normalizePermissions(perms)
	if err != nil {
		return Role{}, err
	}
	r = Role{Name: name, Permissions: norm}
	if err := s.store.CreateRole(ctx, r); err != nil {
		if backup.ErrorCode(err) == backup.ECONFLICT {
			return Role{}, backup.Errorf(backup.EINVALID, "a role named %q already exists", name)
		}
		return Role{}, fmt.Errorf("add role %s: %w", name, err)
	}
	return r, nil
}

// DeleteRole deletes a custom role. Returns EINVALID for a built-in role
// or one some user has, ENOTFOUND for an unknown one.
func (s *Service) DeleteRole(ctx context.Context, by Actor, name string) (err error) {
	defer func() { s.record(ctx, by, backup.ActionRoleDelete, err, fmt.Sprintf("delete role %q", name)) }()
	return s.store.DeleteRole(ctx, name)
}

// Permissions returns what the role of u grants; none for a disabled user.
func (s *Service) Permissions(ctx context.Context, u *User) ([]Permission, error) {
	if u.Disabled {
		return nil, nil
	}
	r, err := s.store.FindRole(ctx, u.Role)
	if err != nil {
		return nil, fmt.Errorf("permissions of user %s: %w", u.Name, err)
	}
	return r.Permissions, nil
}

// CreateToken creates an API token for the user userName and returns its
// record and the token, which is never seen again: only its hash is
// stored. Returns ENOTFOUND for an unknown user, EINVALID for a disabled
// one or a label over 100 characters.
func (s *Service) CreateToken(ctx context.Context, by Actor, userName, label string) (t *Token, token string, err error) {
	details := fmt.Sprintf("create an API token for user %q", userName)
	defer func() {
		if t != nil {
			details = fmt.Sprintf("create API token %d (%q) for user %q", t.ID, label, userName)
		}
		s.record(ctx, by, backup.ActionTokenCreate, err, details)
	}()
	if len(label) > 100 || strings.ContainsAny(label, "\r\n") {
		return nil, "", backup.Errorf(backup.EINVALID, "the token label must be one line of at most 100 characters")
	}
	u, err := s.findUser(ctx, userName)
	if err != nil {
		return nil, "", err
	}
	if u.Disabled {
		return nil, "", backup.Errorf(backup.EINVALID, "user %q is disabled: enable it first (hmsbackup user enable %s)", u.Name, u.Name)
	}
	token, hash, err := NewToken()
	if err != nil {
		return nil, "", err
	}
	t = &Token{UserID: u.ID, UserName: u.Name, Label: label, Hash: hash}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return nil, "", fmt.Errorf("create API token for user %s: %w", u.Name, err)
	}
	return t, token, nil
}

// Tokens returns the API tokens of the user userName, or of every user if
// it is "", by ID, audited as a listing by by. Returns ENOTFOUND for an
// unknown user.
func (s *Service) Tokens(ctx context.Context, by Actor, userName string) (ts []*Token, err error) {
	details := "list API tokens"
	if userName != "" {
		details += fmt.Sprintf(" of user %q", userName)
	}
	defer func() { s.record(ctx, by, backup.ActionTokenList, err, details) }()
	var userID *int64
	if userName != "" {
		u, err := s.findUser(ctx, userName)
		if err != nil {
			return nil, err
		}
		userID = &u.ID
	}
	return s.store.Tokens(ctx, userID)
}

// RevokeToken revokes the API token id for good and returns its record;
// revoking a revoked token changes nothing. Returns ENOTFOUND for an
// unknown id.
func (s *Service) RevokeToken(ctx context.Context, by Actor, id int64) (t *Token, err error) {
	defer func() { s.record(ctx, by, backup.ActionTokenRevoke, err, fmt.Sprintf("revoke API token %d", id)) }()
	t, err = s.store.RevokeToken(ctx, id)
	if errors.Is(err, backup.ErrNotFound) {
		return nil, backup.Errorf(backup.ENOTFOUND, "no API token %d (see hmsbackup token list)", id)
	}
	return t, err
}

// RevokeOwnToken revokes the API token id if it belongs to the user
// userID, as RevokeToken does. A token of another user gives the same
// ENOTFOUND as an unknown id, so that no one learns which ids exist.
func (s *Service) RevokeOwnToken(ctx context.Context, by Actor, userID, id int64) (t *Token, err error) {
	defer func() {
		s.record(ctx, by, backup.ActionTokenRevoke, err, fmt.Sprintf("revoke own API token %d", id))
	}()
	t, err = s.store.FindTokenByID(ctx, id)
	if errors.Is(err, backup.ErrNotFound) || (err == nil && t.UserID != userID) {
		return nil, backup.Errorf(backup.ENOTFOUND, "no API token %d of yours", id)
	}
	if err != nil {
		return nil, fmt.Errorf("revoke API token %d: %w", id, err)
	}
	if t, err = s.store.RevokeToken(ctx, id); err != nil {
		return nil, fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return t, nil
}

// AuthenticateToken returns the user of token and the token's record, and
// records the use, if token is a token CreateToken made, not revoked, of a
// user not disabled. Otherwise it returns EUNAUTHORIZED, the same for
// every reason. The caller audits what the request then does.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*User, *Token, error) {
	if !wellFormedToken(token) {
		return nil, nil, errBadCredentials("API token")
	}
	t, err := s.store.FindTokenByHash(ctx, HashToken(token))
	if errors.Is(err, backup.ErrNotFound) {
		return nil, nil, errBadCredentials("API token")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("check API token: %w", err)
	}
	if t.Revoked() {
		return nil, nil, errBadCredentials("API token")
	}
	u, err := s.store.FindUserByID(ctx, t.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("check API token %d: %w", t.ID, err)
	}
	if u.Disabled {
		return nil, nil, errBadCredentials("API token")
	}
	if err := s.store.TouchToken(ctx, t.ID); err != nil {
		return nil, nil, fmt.Errorf("check API token %d: %w", t.ID, err)
	}
	if t, err = s.store.FindTokenByID(ctx, t.ID); err != nil {
		return nil, nil, fmt.Errorf("check API token: %w", err)
	}
	return u, t, nil
}

// ActiveUser returns the user id for a signed-in session, or
// EUNAUTHORIZED if it is gone or disabled: the session ends at once.
func (s *Service) ActiveUser(ctx context.Context, id int64) (*User, error) {
	u, err := s.store.FindUserByID(ctx, id)
	if errors.Is(err, backup.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, backup.Errorf(backup.EUNAUTHORIZED, "the user of this session is gone or disabled: sign in again")
	}
	if err != nil {
		return nil, fmt.Errorf("find the session's user: %w", err)
	}
	return u, nil
}
