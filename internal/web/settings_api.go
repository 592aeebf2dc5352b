package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/settings"
)

func (s *Server) settingsAPIRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/settings", s.api(canManageSettings, s.apiSettings))
	mux.Handle("PUT /api/v1/settings", s.api(canManageSettings, s.apiPutSettings))
	mux.Handle("POST /api/v1/settings/test-google-drive", s.api(canManageSettings, s.apiTest(func(s *Server) TestFunc { return s.cfg.TestGoogleDrive })))
	mux.Handle("POST /api/v1/settings/test-notification", s.api(canManageSettings, s.apiTest(func(s *Server) TestFunc { return s.cfg.TestNotification })))
}

// settingsView is GET /api/v1/settings: the settings (never a secret's
// value) and which secrets are set.
type settingsView struct {
	backup.Settings
	Secrets map[string]bool `json:"secrets_set"`
}

func (s *Server) apiSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	cur, err := s.cfg.Catalog.Settings(r.Context())
	s.audit(r, p, "settings.view", nil, err, "view settings")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.settingsView(cur))
}

func (s *Server) settingsView(cur backup.Settings) settingsView {
	shown := settings.Show(cur)
	v := settingsView{Settings: cur, Secrets: map[string]bool{}}
	for _, k := range secretKeys() {
		v.Secrets[k] = shown[k] == "set"
	}
	return v
}

// apiPutSettings changes the settings named in the JSON object body, all
// or nothing; keys left out keep their values. A secret given as "" is
// removed.
func (s *Server) apiPutSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, maxSettingsForm)).Decode(&body); err != nil {
		s.audit(r, p, backup.ActionSettings, nil, err, "change settings")
		writeError(w, backup.Errorf(backup.EINVALID, "the body must be a JSON object of settings, e.g. {\"schedule_time\": \"03:00\"}: %v", err))
		return
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		text, err := settingText(body[k])
		if err != nil {
			s.audit(r, p, backup.ActionSettings, nil, err, "change settings")
			writeError(w, &fieldError{Field: k, Err: backup.Errorf(backup.EINVALID, "%s: %v", k, err)})
			return
		}
		pairs = append(pairs, k+"="+text)
	}
	saved, _, err := s.cfg.Engine.UpdateSettings(r.Context(), p.Actor(), pairs, s.cfg.Seal)
	var errs settings.Errors
	if errors.As(err, &errs) {
		s.audit(r, p, backup.ActionSettings, nil, err, "change settings")
		writeSettingsErrors(w, errs)
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.settingsView(saved))
}

// settingText is a JSON value as the settings' text: a string as it is,
// a number or boolean as written, a list of strings joined by commas.
func settingText(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case float64:
		return strings.TrimSpace(string(raw)), nil
	case nil:
		return "", nil
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			str, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("a list must hold strings")
			}
			parts[i] = str
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("must be a string, number, boolean or list of strings")
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
