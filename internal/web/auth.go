package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

// principal is who a request is from: a signed-in user (session or API
// token) with its role's permissions, and where the request came from.
type principal struct {
	User  *identity.User
	Perms []identity.Permission
	Addr  string
	Agent string
	API   bool // authenticated by an API token
}

func (p *principal) Can(perm identity.Permission) bool { return slices.Contains(p.Perms, perm) }

// Admin reports whether p may manage users, roles and other users' tokens:
// the built-in admin role only.
func (p *principal) Admin() bool { return p.User.Role == identity.RoleAdmin }

// Actor is p as the engine and the audit name it.
func (p *principal) Actor() engine.Actor {
	id := p.User.ID
	return engine.Actor{Name: p.User.Name, UserID: &id, SourceAddress: p.Addr, UserAgent: p.Agent}
}

// IdentityActor is p as the identity service names it.
func (p *principal) IdentityActor() identity.Actor {
	id := p.User.ID
	return identity.Actor{Name: p.User.Name, UserID: &id, SourceAddress: p.Addr, UserAgent: p.Agent}
}

type principalKey struct{}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey{}).(*principal)
	return p
}

// clientAddr is the request's source address: the connection's peer, or
// with TrustProxy the last address of X-Forwarded-For (the one the proxy
// added).
func (s *Server) clientAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if a := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(a) != nil {
				return a
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// agent is the request's User-Agent, cut to a sane length for the audit.
func agent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return ua
}

const (
	sessionUserKey  = "user_id"
	sessionSinceKey = "signed_in_at" // Unix nanoseconds
)

// sessionPrincipal returns the signed-in user of the request's session,
// or nil.
func (s *Server) sessionPrincipal(r *http.Request) (*principal, error) {
	id := s.sessions.GetInt64(r.Context(), sessionUserKey)
	if id == 0 {
		return nil, nil
	}
	u, err := s.cfg.Identity.ActiveUser(r.Context(), id)
	if err == nil && u.UpdatedAt.UnixNano() > s.sessions.GetInt64(r.Context(), sessionSinceKey) {
		// The password was reset (or the user disabled and enabled) after
		// this session began: every session of the user ends.
		err = backup.Errorf(backup.EUNAUTHORIZED, "the user changed since this session began")
	}
	if backup.ErrorCode(err) == backup.EUNAUTHORIZED {
		// Disabled or deleted since: the session ends now.
		_ = s.sessions.Destroy(r.Context())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.principalFor(r, u, false)
}

func (s *Server) principalFor(r *http.Request, u *identity.User, api bool) (*principal, error) {
	perms, err := s.cfg.Identity.Permissions(r.Context(), u)
	if err != nil {
		return nil, err
	}
	return &principal{User: u, Perms: perms, Addr: s.clientAddr(r), Agent: agent(r), API: api}, nil
}

// route is what a protected route needs: a permission (or admin), and the
// audit action a denied attempt is recorded as.
type route struct {
	perm   identity.Permission // "" with admin: the admin role
	admin  bool
	any    bool // every signed-in user (their own API tokens)
	action backup.Action
}

// anyUser is a route every signed-in user may use.
var anyUser = route{any: true}

// allowed reports whether p may use rt.
func (rt route) allowed(p *principal) bool {
	if rt.any {
		return true
	}
	if rt.admin {
		return p.Admin()
	}
	return p.Can(rt.perm)
}

func (rt route) needs() string {
	if rt.admin {
		return "the admin role"
	}
	return "the permission " + string(rt.perm)
}

// page wraps a UI handler: it needs a session (else the sign-in page) and
// rt's permission (else 403, audited as a denied attempt).
func (s *Server) page(rt route, h func(http.ResponseWriter, *http.Request, *principal)) http.Handler {
	return s.sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.sessionPrincipal(r)
		if err != nil {
			s.errorPage(w, r, nil, err)
			return
		}
		if p == nil {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/sign-in?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if !rt.allowed(p) {
			s.auditDenied(r, p, fmt.Sprintf("%s %s needs %s; role %s", r.Method, r.URL.Path, rt.needs(), p.User.Role), rt.action)
			s.errorPage(w, r, p, backup.Errorf(backup.EFORBIDDEN, "You may not do this: it needs %s, and your role (%s) does not have it. Ask an administrator.", rt.needs(), p.User.Role))
			return
		}
		h(w, r, p)
	}))
}

// auditDenied records a refused request: who (if known), what it tried,
// from where. actions, if given, names the operation tried (its first).
func (s *Server) auditDenied(r *http.Request, p *principal, details string, actions ...backup.Action) {
	action := backup.Action("access")
	if len(actions) > 0 && actions[0] != "" {
		action = actions[0]
	}
	e := &backup.AuditEntry{Actor: "(not signed in)", Action: action, Outcome: "denied", Details: details,
		SourceAddress: s.clientAddr(r), UserAgent: agent(r)}
	if p != nil {
		id := p.User.ID
		e.Actor, e.UserID = p.User.Name, &id
	}
	if id, err := pathID(r); err == nil {
		e.BackupID = &id
	}
	ctx := context.WithoutCancel(r.Context())
	if err := s.cfg.Catalog.AddAuditEntry(ctx, e); err != nil {
		s.log.Error("cannot write audit entry", "action", action, "err", err)
	}
}

// audit records an operation the engine or the identity service does not
// record itself (looking at a list, a backup, the audit log).
func (s *Server) audit(r *http.Request, p *principal, action backup.Action, backupID *int64, opErr error, details string) {
	e := &backup.AuditEntry{Actor: p.User.Name, Action: action, Outcome: "success", Details: details, BackupID: backupID,
		SourceAddress: p.Addr, UserAgent: p.Agent}
	id := p.User.ID
	e.UserID = &id
	if opErr != nil {
		e.Outcome = "failure"
		e.Details += ": " + opErr.Error()
	}
	if err := s.cfg.Catalog.AddAuditEntry(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("cannot write audit entry", "action", action, "err", err)
	}
}

// pathID is the request's {id}: a positive decimal number, else
// EINVALID (never a path, never a query).
func pathID(r *http.Request) (int64, error) {
	raw := r.PathValue("id")
	if raw == "" {
		return 0, backup.Errorf(backup.EINVALID, "no id in the path")
	}
	var id int64
	for _, c := range raw {
		if c < '0' || c > '9' || id > (1<<62)/10 {
			return 0, backup.Errorf(backup.EINVALID, "%q is not an id: ids are positive whole numbers", truncate(raw, 40))
		}
		id = id*10 + int64(c-'0')
	}
	if id == 0 {
		return 0, backup.Errorf(backup.EINVALID, "0 is not an id: ids start at 1")
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
