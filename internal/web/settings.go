package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/hmsbackup/hmsbackup/internal/schedule"
	"github.com/hmsbackup/hmsbackup/internal/settings"
)

// Settings routes need backups.manage-settings.
var canManageSettings = route{perm: identity.PermManageSettings, action: backup.ActionSettings}

func (s *Server) settingsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /settings", s.page(canManageSettings, s.settingsPage))
	mux.Handle("POST /settings", s.page(canManageSettings, s.saveSettings))
	mux.Handle("POST /settings/test-notification", s.page(canManageSettings, s.testNotificationPage))
	mux.Handle("POST /settings/test-google-drive", s.page(canManageSettings, s.testDrivePage))
	mux.Handle("POST /settings/test-s3", s.page(canManageSettings, func(w http.ResponseWriter, r *http.Request, p *principal) {
		s.runTestPage(w, r, p, "S3 connection", s.cfg.TestS3)
	}))
}

// settingsData is the settings form: the values shown (the saved ones, or
// what was typed when it came back invalid), the errors by key, the
// next runs of the saved schedule, and a test's result.
type settingsData struct {
	Values     map[string]string // by settings key; secrets "set" / "not set"
	Errors     settings.Errors
	Secrets    map[string]bool   // secret key -> is set
	Overridden map[string]string // key -> the environment variable that overrides it
	NextRuns   []time.Time
	ScheduleOn bool
	Weekdays   []string
	Test       *testResult
}

type testResult struct {
	What   string
	OK     bool
	Report string
}

// secretKeys are the settings shown only as set / not set, in the form
// order.
func secretKeys() []string {
	var keys []string
	for _, k := range settings.Keys() {
		if settings.IsSecret(k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func (s *Server) settingsData(ctx context.Context) (settingsData, error) {
	cur, err := s.cfg.Catalog.Settings(ctx)
	if err != nil {
		return settingsData{}, err
	}
	d := settingsData{Values: formValues(cur), Secrets: settings.SecretsSet(cur), Overridden: s.cfg.Overridden, ScheduleOn: cur.ScheduleEnabled,
		Weekdays: []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}}
	if cur.ScheduleEnabled {
		if loc, err := settings.Location(cur, s.location()); err == nil {
			if sched, err := schedule.New(cur, loc); err == nil {
				d.NextRuns = sched.NextN(time.Now(), 5)
			}
		}
	}
	return d, nil
}

// formValues is s as the form's inputs hold it: Show's text, with the
// weekday as its number alone.
func formValues(s backup.Settings) map[string]string {
	v := settings.Show(s)
	if i := strings.IndexByte(v["schedule_day"], ' '); i > 0 {
		v["schedule_day"] = v["schedule_day"][:i]
	}
	for _, k := range secretKeys() {
		v[k] = "" // never sent back
	}
	return v
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.settingsData(r.Context())
	s.audit(r, p, "settings.view", nil, err, "view settings")
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	s.render(w, r, http.StatusOK, "settings", "Settings", d)
}

// maxSettingsForm bounds the settings form (a credentials file is a few KiB).
const maxSettingsForm = 1 << 20

// settingsForm turns the submitted form into a settings.Form: every key
// present (for a checkbox the last value wins: a hidden "false" precedes
// the box), a secret's "" keeping what is stored, the secrets whose
// "clear_<key>" box is ticked, and an uploaded Google credentials file.
func settingsForm(r *http.Request) (settings.Form, error) {
	f := settings.Form{Values: map[string]string{}}
	for _, k := range settings.Keys() {
		if vals := r.PostForm[k]; len(vals) > 0 {
			f.Values[k] = vals[len(vals)-1]
		}
		if r.PostForm.Get("clear_"+k) != "" {
			f.Clear = append(f.Clear, k)
			delete(f.Values, k)
		}
	}
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["google_credentials_file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			file, err := fhs[0].Open()
			if err != nil {
				return f, fmt.Errorf("read the uploaded credentials file: %w", err)
			}
			defer file.Close()
			data, err := io.ReadAll(io.LimitReader(file, maxSettingsForm))
			if err != nil {
				return f, fmt.Errorf("read the uploaded credentials file: %w", err)
			}
			f.Values["google_credentials"] = string(data)
		}
	}
	return f, nil
}

// settingsOptions are how the web layer seals and checks settings.
func (s *Server) settingsOptions() settings.Options {
	return settings.Options{Seal: s.cfg.Seal, Overridden: s.cfg.Overridden}
}

func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSettingsForm)
	// The form is multipart (it may carry a credentials file); scripts may
	// post it url-encoded.
	if err := r.ParseMultipartForm(maxSettingsForm); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		s.errorPage(w, r, p, backup.Errorf(backup.EINVALID, "the settings form could not be read: %v", err))
		return
	}
	form, err := settingsForm(r)
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	_, changes, err := s.cfg.Engine.ApplySettings(r.Context(), p.Actor(), form, s.settingsOptions())
	var errs settings.Errors
	if errors.As(err, &errs) {
		// Nothing saved: the form comes back as typed (never a secret), with
		// each message next to its field; the try is audited.
		s.audit(r, p, backup.ActionSettings, nil, errs, "change settings")
		d, derr := s.settingsData(r.Context())
		if derr != nil {
			s.errorPage(w, r, p, derr)
			return
		}
		for _, k := range settings.Keys() {
			if !settings.IsSecret(k) {
				if v, ok := r.PostForm[k]; ok && len(v) > 0 {
					d.Values[k] = v[len(v)-1]
				}
			}
		}
		d.Errors = errs
		s.render(w, r, http.StatusUnprocessableEntity, "settings", "Settings", d)
		return
	}
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	if len(changes) == 0 {
		s.audit(r, p, backup.ActionSettings, nil, nil, "save settings: nothing changed")
		s.flash(r, "Nothing changed.")
	} else {
		keys := make([]string, len(changes))
		for i, c := range changes {
			keys[i] = c.Key
		}
		s.flash(r, "Saved: %s.", strings.Join(keys, ", "))
	}
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// TestFunc runs a connection or notification test for actor and returns
// a report, one line per thing tried; an error says what failed.
type TestFunc func(ctx context.Context, actor engine.Actor) (report string, err error)

func (s *Server) testNotificationPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.runTestPage(w, r, p, "Test notification", s.cfg.TestNotification)
}

func (s *Server) testDrivePage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.runTestPage(w, r, p, "Google Drive connection", s.cfg.TestGoogleDrive)
}

// runTestPage runs test and shows the settings page with its result. The
// test audits itself.
func (s *Server) runTestPage(w http.ResponseWriter, r *http.Request, p *principal, what string, test TestFunc) {
	d, err := s.settingsData(r.Context())
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	res := &testResult{What: what}
	if test == nil {
		res.Report = "This server cannot run this test."
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
		defer cancel()
		report, err := test(ctx, p.Actor())
		res.OK, res.Report = err == nil, strings.TrimSpace(report)
		if err != nil {
			res.Report = strings.TrimSpace(res.Report + "\n" + userMessage(err))
		}
	}
	d.Test = res
	s.render(w, r, http.StatusOK, "settings", "Settings", d)
}
