package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

// apiRoute is one route of the JSON API: its method and path pattern, the
// permission it needs, and its handler. Public routes (the OpenAPI
// description) need no token.
type apiRoute struct {
	Method string
	Path   string // a http.ServeMux path pattern: /api/v1/backups/{id}
	Route  route
	Handle func(http.ResponseWriter, *http.Request, *principal)
	// Public, if set, serves the route without a token (Route and Handle
	// are then unused).
	Public http.Handler
}

// Pattern is r as a http.ServeMux pattern.
func (r apiRoute) Pattern() string { return r.Method + " " + r.Path }

// What the job and status routes need: view. Reading them is not audited
// (they hold no patient data; a page polls a job every second); a denied
// attempt is.
var (
	canViewJob    = route{perm: identity.PermView, action: "job.view"}
	canViewStatus = route{perm: identity.PermView, action: "status"}
	canUnprotect  = route{perm: identity.PermDelete, action: "unprotect"}
)

// apiRouteTable is every route of the API, the one list apiRoutes
// registers and the OpenAPI test checks openapi.json against: the
// backups' here, the settings' and the audit's from their files.
func (s *Server) apiRouteTable() []apiRoute {
	backups := []apiRoute{
		{Method: "GET", Path: "/api/v1/openapi.json", Public: http.HandlerFunc(serveOpenAPI)},
		{Method: "GET", Path: "/api/v1/backups", Route: canList, Handle: s.apiListBackups},
		{Method: "POST", Path: "/api/v1/backups", Route: canCreate, Handle: s.apiCreateBackup},
		{Method: "GET", Path: "/api/v1/backups/{id}", Route: canView, Handle: s.apiShowBackup},
		{Method: "DELETE", Path: "/api/v1/backups/{id}", Route: canDelete, Handle: s.apiDeleteBackup},
		{Method: "GET", Path: "/api/v1/backups/{id}/download", Route: canDownload, Handle: s.apiDownload},
		{Method: "POST", Path: "/api/v1/backups/{id}/restore", Route: canRestore, Handle: s.apiRestore},
		{Method: "POST", Path: "/api/v1/backups/{id}/protect", Route: canProtect, Handle: s.apiProtect(true)},
		{Method: "POST", Path: "/api/v1/backups/{id}/unprotect", Route: canUnprotect, Handle: s.apiProtect(false)},
		{Method: "GET", Path: "/api/v1/jobs/{id}", Route: canViewJob, Handle: s.apiJob},
		{Method: "GET", Path: "/api/v1/status", Route: canViewStatus, Handle: s.apiStatus},
	}
	return slices.Concat(backups, s.settingsAPIRouteTable(), s.auditAPIRouteTable())
}

// apiRoutes registers the JSON API under /api/v1 from apiRouteTable.
// Every route but the OpenAPI description needs an API token
// (Authorization: Bearer TOKEN) and a permission; errors are
// {"error": {"code", "message"[, "field"]}}.
func (s *Server) apiRoutes(mux *http.ServeMux) {
	for _, rt := range s.apiRouteTable() {
		if rt.Public != nil {
			mux.Handle(rt.Pattern(), rt.Public)
			continue
		}
		mux.Handle(rt.Pattern(), s.api(rt.Route, rt.Handle))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, backup.Errorf(backup.ENOTFOUND, "no API route %s %s (see GET /api/v1/openapi.json)", r.Method, r.URL.Path))
	}))
}

// apiError is the body of every API error.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"` // the invalid input, with 422
	// Fields names every invalid input and why (settings).
	Fields map[string]string `json:"fields,omitempty"`
}

// writeError writes err as the API's JSON error with its HTTP status.
func writeError(w http.ResponseWriter, err error) {
	code := backup.ErrorCode(err)
	if code == "" {
		code = backup.EINTERNAL
	}
	body := apiErrorBody{Code: code, Message: userMessage(err)}
	var fe *fieldError
	if errors.As(err, &fe) {
		body.Field = fe.Field
	}
	if code == backup.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hmsbackup"`)
	}
	writeJSON(w, httpStatus(err), apiError{Error: body})
}

// fieldError is invalid input in one field (422 with the field's name).
type fieldError struct {
	Field string
	Err   error
}

func (e *fieldError) Error() string { return e.Err.Error() }
func (e *fieldError) Unwrap() error { return e.Err }

// api wraps an API handler: a valid API token (else 401) whose user has
// rt's permission (else 403, audited).
func (s *Server) api(rt route, h func(http.ResponseWriter, *http.Request, *principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			writeError(w, backup.Errorf(backup.EUNAUTHORIZED, "send an API token: Authorization: Bearer TOKEN (hmsbackup token create --user NAME)"))
			return
		}
		u, _, err := s.cfg.Identity.AuthenticateToken(r.Context(), token)
		if err != nil {
			if backup.ErrorCode(err) == backup.EUNAUTHORIZED {
				s.auditDenied(r, nil, "API request with a bad token: "+r.Method+" "+r.URL.Path, rt.action)
			} else {
				s.log.Error("check API token", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
			return
		}
		p, err := s.principalFor(r, u, true)
		if err != nil {
			s.log.Error("read the token user's permissions", "user", u.Name, "err", err)
			writeError(w, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if !rt.allowed(p) {
			s.auditDenied(r, p, fmt.Sprintf("%s %s needs %s; role %s", r.Method, r.URL.Path, rt.needs(), p.User.Role), rt.action)
			writeError(w, backup.Errorf(backup.EFORBIDDEN, "this needs %s; the token's user %s (role %s) does not have it", rt.needs(), u.Name, u.Role))
			return
		}
		h(w, r, p)
	})
}

// bearer returns the request's API token.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// backupList is GET /api/v1/backups.
type backupList struct {
	Backups []*backup.Backup `json:"backups"`
	Total   int              `json:"total"`
	Page    int              `json:"page"`
	PerPage int              `json:"per_page"`
}

func (s *Server) apiListBackups(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	page, per := 1, pageSize
	var bad error
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			bad = &fieldError{Field: "page", Err: backup.Errorf(backup.EINVALID, "page must be a whole number from 1 to 1000000")}
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" && bad == nil {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			bad = &fieldError{Field: "per_page", Err: backup.Errorf(backup.EINVALID, "per_page must be a whole number from 1 to 500")}
		}
		per = n
	}
	if bad != nil {
		s.audit(r, p, ActionList, nil, bad, "list backups")
		writeError(w, bad)
		return
	}
	list, total, err := s.cfg.Catalog.FindBackups(r.Context(), backup.BackupFilter{Offset: (page - 1) * per, Limit: per})
	s.audit(r, p, ActionList, nil, err, fmt.Sprintf("list backups, page %d", page))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if list == nil {
		list = []*backup.Backup{}
	}
	writeJSON(w, http.StatusOK, backupList{Backups: list, Total: total, Page: page, PerPage: per})
}

func (s *Server) apiShowBackup(w http.ResponseWriter, r *http.Request, p *principal) {
	b, ok := s.apiFindBackup(w, r, p, ActionView)
	if !ok {
		return
	}
	s.audit(r, p, ActionView, &b.ID, nil, "view "+b.Filename)
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) apiJob(w http.ResponseWriter, r *http.Request, p *principal) {
	j, err := s.jobView(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request, p *principal) {
	st, err := s.cfg.Status(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
