package web

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/settings"
)

// settingsAPIRouteTable is the settings' part of apiRouteTable.
func (s *Server) settingsAPIRouteTable() []apiRoute {
	return []apiRoute{
		{Method: "GET", Path: "/api/v1/settings", Route: canManageSettings, Handle: s.apiSettings},
		{Method: "PUT", Path: "/api/v1/settings", Route: canManageSettings, Handle: s.apiPutSettings},
		{Method: "POST", Path: "/api/v1/settings/test-google-drive", Route: canManageSettings, Handle: s.apiTest(func(s *Server) TestFunc { return s.cfg.TestGoogleDrive })},
		{Method: "POST", Path: "/api/v1/settings/test-s3", Route: canManageSettings, Handle: s.apiTest(func(s *Server) TestFunc { return s.cfg.TestS3 })},
		{Method: "POST", Path: "/api/v1/settings/test-notification", Route: canManageSettings, Handle: s.apiTest(func(s *Server) TestFunc { return s.cfg.TestNotification })},
	}
}

func (s *Server) apiSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	cur, err := s.cfg.Catalog.Settings(r.Context())
	s.audit(r, p, "settings.view", nil, err, "view settings")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, settings.NewView(cur, s.cfg.Overridden))
}

// apiPutSettings changes the settings named in the JSON object body, all
// or nothing (settings.ParseJSON): keys left out keep their values; a
// secret given as "" or null is removed.
func (s *Server) apiPutSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxSettingsForm))
	var form settings.Form
	if err == nil {
		form, err = settings.ParseJSON(data)
	}
	var errs settings.Errors
	if err == nil {
		var saved backup.Settings
		var changes []settings.Change
		saved, changes, err = s.cfg.Engine.ApplySettings(r.Context(), p.Actor(), form, s.settingsOptions())
		if err == nil {
			if len(changes) == 0 {
				s.audit(r, p, backup.ActionSettings, nil, nil, "save settings: nothing changed")
			}
			writeJSON(w, http.StatusOK, settings.NewView(saved, s.cfg.Overridden))
			return
		}
	}
	if errors.As(err, &errs) {
		// Nothing was saved, so the engine audited nothing: record the try.
		s.audit(r, p, backup.ActionSettings, nil, errs, "change settings")
		writeSettingsErrors(w, errs)
		return
	}
	s.audit(r, p, backup.ActionSettings, nil, err, "change settings")
	writeError(w, err)
}

// writeSettingsErrors is 422 naming the first bad field, with every bad
// field's message in "fields".
func writeSettingsErrors(w http.ResponseWriter, errs settings.Errors) {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: apiErrorBody{Code: backup.EINVALID,
		Message: "settings not changed: " + errs.Error(), Field: keys[0], Fields: errs}})
}

// apiTest runs one of the settings' tests; 200 with the report when it
// works, 502 with it when it does not.
func (s *Server) apiTest(test func(*Server) TestFunc) func(http.ResponseWriter, *http.Request, *principal) {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		f := test(s)
		if f == nil {
			writeError(w, backup.Errorf(backup.ENOTIMPLEMENTED, "this server cannot run this test"))
			return
		}
		report, err := f(r.Context(), p.Actor())
		out := map[string]any{"ok": err == nil, "report": strings.TrimSpace(report)}
		code := http.StatusOK
		if err != nil {
			out["error"] = userMessage(err)
			code = http.StatusBadGateway
		}
		writeJSON(w, code, out)
	}
}
