// Package web is hmsbackup's admin web UI and JSON API: server-rendered
// pages (html/template, assets embedded), sign-in with catalog-backed
// sessions, the five permissions enforced on every route, and an audit
// entry for every operation, allowed or denied.
package web

import (
	"cmp"
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/hmsbackup/hmsbackup/internal/queue"
	"github.com/hmsbackup/hmsbackup/internal/settings"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Jobs queues backups and restores and tells where they stand: the
// River queue (internal/queue).
type Jobs interface {
	EnqueueBackup(ctx context.Context, args queue.BackupArgs) (id int64, duplicate bool, err error)
	EnqueueRestore(ctx context.Context, args queue.RestoreArgs) (int64, error)
	Job(ctx context.Context, id int64) (queue.JobState, error)
}

// StatusFunc reports the state a status strip and GET /api/v1/status show.
type StatusFunc func(ctx context.Context) (*Status, error)

// Config is what a Server needs. Every field but Logger and Now is required.
type Config struct {
	Engine   *engine.Engine
	Catalog  backup.Catalog
	Identity *identity.Service
	Jobs     Jobs
	Progress *Progress
	Status   StatusFunc
	// Sessions stores sign-in sessions (the catalog's).
	Sessions scs.CtxStore
	// Secure marks cookies Secure and sends HSTS: the server speaks TLS,
	// or sits behind a proxy that does (HMSBACKUP_TLS_CERT, or
	// HMSBACKUP_BEHIND_TLS_PROXY).
	Secure bool
	// TrustProxy takes the client's address from X-Forwarded-For (set by
	// the reverse proxy in front of hmsbackup); otherwise the connection's.
	TrustProxy bool
	// Seal seals secret settings (webhook URL, credentials) before they
	// are stored: the secret.Keyring of the data directory.
	Seal settings.Sealer
	// Overridden maps the settings the environment overrides to their
	// variables (remotes.Env.Overrides): the form shows them as set there.
	Overridden map[string]string
	// TestNotification and TestGoogleDrive run the settings page's test
	// buttons; nil: the button says the server cannot.
	TestNotification TestFunc
	TestGoogleDrive  TestFunc
	TestS3           TestFunc
	// SessionIdle and SessionLifetime end a session after that long
	// without a request, and that long after sign-in; defaults 30 min and
	// 12 h.
	SessionIdle, SessionLifetime time.Duration
	Logger                       *slog.Logger
	// Now is the clock of the sign-in rate limit (tests); default time.Now.
	Now func() time.Time
}

// Server serves the web UI and the API.
type Server struct {
	cfg      Config
	sessions *scs.SessionManager
	pages    *pages
	limiter  *signInLimiter
	log      *slog.Logger
}

// New builds a Server; its templates are parsed now, so a broken one
// fails here, not on a request.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Progress == nil {
		cfg.Progress = NewProgress()
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	sm := scs.New()
	sm.Store = cfg.Sessions
	sm.Lifetime = cmp.Or(cfg.SessionLifetime, 12*time.Hour)  // absolute: sign in again after 12 h
	sm.IdleTimeout = cmp.Or(cfg.SessionIdle, 30*time.Minute) // idle: sign in again after 30 min without a request
	sm.Cookie.Name = "hmsbackup_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.Secure
	sm.Cookie.Path = "/"
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		cfg.Logger.Error("session store", "err", err)
		http.Error(w, "The session store is unavailable; try again in a moment.", http.StatusServiceUnavailable)
	}
	return &Server{cfg: cfg, sessions: sm, pages: p, limiter: newSignInLimiter(cfg.Now), log: cfg.Logger}, nil
}

// Handler returns every route of the UI and the API, behind the security
// headers and the cross-origin protection of state-changing requests.
// health, if set, answers the routes it registers itself (/healthz,
// /readyz, /wake), which need no sign-in.
func (s *Server) Handler(health http.Handler) http.Handler {
	mux := http.NewServeMux()
	if health != nil {
		mux.Handle("GET /healthz", health)
		mux.Handle("GET /readyz", health)
		mux.Handle("POST /wake", health)
	}
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheForever(http.FileServerFS(static))))
	s.routes(mux)
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.auditDenied(r, nil, "cross-origin request refused")
		http.Error(w, "Cross-origin request refused: use the form on this site.", http.StatusForbidden)
	}))
	return securityHeaders(s.cfg.Secure, csrf.Handler(mux))
}

// routes registers every route of the UI and the API on mux (the tests
// check the OpenAPI description and the permissions against the same).
func (s *Server) routes(mux *http.ServeMux) {
	s.pageRoutes(mux)
	s.settingsRoutes(mux)
	s.auditRoutes(mux)
	s.apiRoutes(mux)
}

// securityHeaders sets what every response carries: a CSP allowing only
// this site's own scripts and styles (no inline script), no framing, no
// MIME sniffing, no referrer to other sites.
func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func cacheForever(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// CleanSessions deletes expired sessions every interval until ctx ends.
func (s *Server) CleanSessions(ctx context.Context, interval time.Duration, deleteExpired func(context.Context) (int64, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := deleteExpired(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("cannot delete expired sessions", "err", err)
			}
		}
	}
}
