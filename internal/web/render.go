package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// pages holds each page's template: the layout plus the page's own file.
type pages struct {
	byName map[string]*template.Template
}

// funcs are the helpers templates may call; time is shown in the
// configured zone (the view's Loc).
var funcs = template.FuncMap{
	"bytes": backup.HumanBytes,
	"ago":   ago,
	"lower": strings.ToLower,
	"join":  strings.Join,
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"seconds": func(ms int64) string {
		return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
	},
	"add":   func(a, b int) int { return a + b },
	"split": strings.Fields,
	"itoa":  strconv.Itoa,
	// secretField describes a write-only setting's input: never its value,
	// only whether it is set.
	"secretField": func(key, label, placeholder string, set map[string]bool, errs map[string]string) map[string]any {
		return map[string]any{"Key": key, "Label": label, "Placeholder": placeholder, "Set": set[key], "Err": errs[key]}
	},
	"sub": func(a, b int) int { return a - b },
}

func parsePages() (*pages, error) {
	layout, err := fs.ReadFile(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("read the layout template: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: make(map[string]*template.Template)}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		body, err := fs.ReadFile(templateFiles, n)
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err == nil {
			_, err = t.Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", n, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page's template gets.
type view struct {
	Title  string
	P      *principal // nil on the sign-in page
	Status *Status    // the status strip; nil if it could not be read
	Loc    *time.Location
	Flash  string
	Error  string
	Data   any
}

// Time formats t in the configured zone.
func (v view) Time(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.In(v.Loc).Format("2006-01-02 15:04:05 MST")
}

// T formats a time value in the configured zone.
func (v view) T(t time.Time) string { return v.Time(&t) }

const flashKey = "flash"

// render writes page name with data, status 200 unless code says
// otherwise. It renders into a buffer first, so a template error gives a
// clean 500, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name, title string, data any) {
	t := s.pages.byName[name]
	if t == nil {
		http.Error(w, "no such page template: "+name, http.StatusInternalServerError)
		return
	}
	v := view{Title: title, P: principalOf(r), Loc: s.location(), Data: data}
	if v.P != nil {
		v.Flash = s.sessions.PopString(r.Context(), flashKey)
		if st, err := s.cfg.Status(r.Context()); err == nil {
			v.Status = st
		} else {
			s.log.Warn("status strip", "err", err)
		}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "The page could not be drawn (a bug): see the server's log.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) location() *time.Location {
	if s.cfg.Engine != nil && s.cfg.Engine.Location != nil {
		return s.cfg.Engine.Location
	}
	return time.Local
}

// flash keeps a one-line message for the next page the user sees.
func (s *Server) flash(r *http.Request, format string, args ...any) {
	s.sessions.Put(r.Context(), flashKey, fmt.Sprintf(format, args...))
}

// errorPage shows err with the HTTP status its code maps to. An internal
// error's text goes to the log only.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, p *principal, err error) {
	code := httpStatus(err)
	msg := userMessage(err)
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if p == nil {
		http.Error(w, msg, code)
		return
	}
	s.render(w, r, code, "error", http.StatusText(code), msg)
}

// httpStatus maps an error's code to its HTTP status.
func httpStatus(err error) int {
	switch backup.ErrorCode(err) {
	case backup.EINVALID:
		return http.StatusUnprocessableEntity
	case backup.ENOTFOUND:
		return http.StatusNotFound
	case backup.EBUSY, backup.ECONFLICT:
		return http.StatusConflict
	case backup.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case backup.EFORBIDDEN:
		return http.StatusForbidden
	case backup.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case backup.ECORRUPT:
		return http.StatusConflict
	case backup.ENOTIMPLEMENTED:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// userMessage is what a person may read of err: the message of an
// hmsbackup error, never an internal one's details.
func userMessage(err error) string {
	var be *backup.Error
	if errors.As(err, &be) && be.Code != backup.EINTERNAL {
		return err.Error()
	}
	return "Something went wrong on the server; the details are in its log."
}

// ago says how long ago t was, roughly: "3 min", "2 h", "5 days".
func ago(t *time.Time) string {
	if t == nil {
		return "—"
	}
	d := time.Since(*t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
