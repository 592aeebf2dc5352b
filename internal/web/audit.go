package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/auditcsv"
	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

// Audit actions of reading the audit trail itself.
const (
	ActionAuditView   backup.Action = "audit.view"
	ActionAuditExport backup.Action = "audit.export"
)

var (
	canViewAudit   = route{perm: identity.PermView, action: ActionAuditView}
	canExportAudit = route{perm: identity.PermView, action: ActionAuditExport}
)

func (s *Server) auditRoutes(mux *http.ServeMux) {
	mux.Handle("GET /audit", s.page(canViewAudit, s.auditPage))
	mux.Handle("GET /audit.csv", s.page(canExportAudit, s.auditCSV))
}

// auditAPIRouteTable is the audit's part of apiRouteTable.
func (s *Server) auditAPIRouteTable() []apiRoute {
	return []apiRoute{{Method: "GET", Path: "/api/v1/audit", Route: canViewAudit, Handle: s.apiAudit}}
}

// auditList is GET /api/v1/audit.
type auditList struct {
	Entries []*backup.AuditEntry `json:"entries"`
	Total   int                  `json:"total"`
	Page    int                  `json:"page"`
	PerPage int                  `json:"per_page"`
}

// apiAudit lists audit entries as JSON, or with format=csv all of them
// the filter selects as CSV.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, p *principal) {
	aq, f, err := parseAuditQuery(r.URL.Query(), s.location())
	if err != nil {
		s.audit(r, p, ActionAuditView, nil, err, "view the audit log")
		writeError(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "csv":
		s.auditCSV(w, r, p)
		return
	case "", "json":
	default:
		s.audit(r, p, ActionAuditView, nil, backup.Errorf(backup.EINVALID, "bad format"), "view the audit log")
		writeError(w, &fieldError{Field: "format", Err: backup.Errorf(backup.EINVALID, "format must be json or csv")})
		return
	}
	f.Offset, f.Limit = (aq.Page-1)*auditPageSize, auditPageSize
	entries, total, err := s.cfg.Catalog.FindAuditEntries(r.Context(), f)
	s.audit(r, p, ActionAuditView, f.BackupID, err, "view the audit log: "+aq.describe())
	if err != nil {
		writeError(w, err)
		return
	}
	if entries == nil {
		entries = []*backup.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, auditList{Entries: entries, Total: total, Page: aq.Page, PerPage: auditPageSize})
}

// auditQuery is the audit filter as the page's form and the API's query
// string give it: user, action, backup, outcome, from and to (dates, in
// the configured zone, both days included), page.
type auditQuery struct {
	User, Action, Backup, Outcome, From, To string
	Page                                    int
}

// parseAuditQuery reads the filter from q. Every value is only ever a
// bound parameter of the catalog's query; a malformed one is EINVALID
// naming its field.
func parseAuditQuery(q url.Values, loc *time.Location) (auditQuery, backup.AuditFilter, error) {
	aq := auditQuery{User: strings.TrimSpace(q.Get("user")), Action: strings.TrimSpace(q.Get("action")), Backup: strings.TrimSpace(q.Get("backup")),
		Outcome: strings.TrimSpace(q.Get("outcome")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Page: 1}
	var f backup.AuditFilter
	bad := func(field, format string, args ...any) (auditQuery, backup.AuditFilter, error) {
		return aq, f, &fieldError{Field: field, Err: backup.Errorf(backup.EINVALID, format, args...)}
	}
	if len(aq.User) > 200 || len(aq.Action) > 100 {
		return bad("user", "the user or action filter is too long")
	}
	f.Actor = aq.User
	if aq.Action != "" {
		a := backup.Action(aq.Action)
		f.Action = &a
	}
	if aq.Backup != "" {
		id, err := strconv.ParseInt(aq.Backup, 10, 64)
		if err != nil || id < 1 {
			return bad("backup", "backup must be a backup's id, a whole number from 1")
		}
		f.BackupID = &id
	}
	switch aq.Outcome {
	case "", "success", "failure", "denied":
		f.Outcome = aq.Outcome
	default:
		return bad("outcome", "outcome must be success, failure or denied")
	}
	if aq.From != "" {
		t, err := time.ParseInLocation("2006-01-02", aq.From, loc)
		if err != nil {
			return bad("from", "from must be a date such as 2026-11-29")
		}
		f.Since = t.UTC()
	}
	if aq.To != "" {
		t, err := time.ParseInLocation("2006-01-02", aq.To, loc)
		if err != nil {
			return bad("to", "to must be a date such as 2026-11-29")
		}
		f.Until = t.AddDate(0, 0, 1).UTC() // the whole day
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			return bad("page", "page must be a whole number from 1")
		}
		aq.Page = n
	}
	return aq, f, nil
}

// describe is the filter in the audit entry of a look at the trail.
func (aq auditQuery) describe() string {
	var parts []string
	for _, kv := range [][2]string{{"user", aq.User}, {"action", aq.Action}, {"backup", aq.Backup}, {"outcome", aq.Outcome}, {"from", aq.From}, {"to", aq.To}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+strconv.Quote(truncate(kv[1], 60)))
		}
	}
	if len(parts) == 0 {
		return "all entries"
	}
	return strings.Join(parts, " ")
}

// query is the filter as a URL query (for the pager and the CSV link).
func (aq auditQuery) query(page int) string {
	v := url.Values{}
	for _, kv := range [][2]string{{"user", aq.User}, {"action", aq.Action}, {"backup", aq.Backup}, {"outcome", aq.Outcome}, {"from", aq.From}, {"to", aq.To}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v.Encode()
}

type auditData struct {
	Q                    auditQuery
	Entries              []*backup.AuditEntry
	Total, Page, Last    int
	PrevQuery, NextQuery string
	CSVQuery             string
	FieldErr             *fieldError
	Actions              []string
}

// auditPageSize is how many entries a page of the audit log shows.
const auditPageSize = 100

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, p *principal) {
	aq, f, err := parseAuditQuery(r.URL.Query(), s.location())
	d := auditData{Q: aq, Page: aq.Page, Actions: knownActions()}
	code := http.StatusOK
	if err != nil {
		fe, _ := err.(*fieldError)
		d.FieldErr, code = fe, http.StatusUnprocessableEntity
		s.audit(r, p, ActionAuditView, nil, err, "view the audit log")
	} else {
		f.Offset, f.Limit = (aq.Page-1)*auditPageSize, auditPageSize
		d.Entries, d.Total, err = s.cfg.Catalog.FindAuditEntries(r.Context(), f)
		s.audit(r, p, ActionAuditView, f.BackupID, err, "view the audit log: "+aq.describe())
		if err != nil {
			s.errorPage(w, r, p, err)
			return
		}
	}
	d.Last = max(1, (d.Total+auditPageSize-1)/auditPageSize)
	d.PrevQuery, d.NextQuery, d.CSVQuery = aq.query(aq.Page-1), aq.query(aq.Page+1), aq.query(1)
	s.render(w, r, code, "audit", "Audit log", d)
}

// auditCSV exports every entry the filter selects, streamed page by page.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, p *principal) {
	aq, f, err := parseAuditQuery(r.URL.Query(), s.location())
	if err != nil {
		s.audit(r, p, ActionAuditExport, nil, err, "export the audit log")
		s.errorPage(w, r, p, err)
		return
	}
	s.audit(r, p, ActionAuditExport, f.BackupID, nil, "export the audit log as CSV: "+aq.describe())
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hmsbackup-audit-%s.csv"`, time.Now().In(s.location()).Format("20060102-150405")))
	w.Header().Set("Cache-Control", "no-store")
	if _, err := auditcsv.Export(r.Context(), s.cfg.Catalog, f, w); err != nil {
		s.log.Warn("audit export cut short", "err", err)
	}
}

// knownActions are offered in the action filter's list.
func knownActions() []string {
	return []string{"create", "restore", "delete", "download", "protect", "unprotect", "verify", "settings", "cleanup", "notify",
		"list", "view", "audit.view", "audit.export", "settings.view", "sign-in", "sign-out", "access",
		"user.add", "user.disable", "user.enable", "user.password", "role.add", "role.delete", "token.create", "token.revoke"}
}
