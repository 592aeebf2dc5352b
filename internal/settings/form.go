package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Form is a whole update of the settings, from the web form or the API:
// the keys given and their values as text (as in KEY=VALUE). Keys not
// given keep their values.
//
// Secrets are write-only, so a form never holds their stored value: in
// Values, a secret's "" keeps what is stored, any other text replaces it.
// Clear lists the secrets to remove.
type Form struct {
	Values map[string]string
	Clear  []string
}

// Update applies f to cur, all or nothing, like Apply: on error it returns
// cur and an Errors mapping each bad key to why (a form shows each message
// next to its field), and nothing must be saved. Otherwise it returns the
// new settings and the changes, in the order of Keys.
func Update(cur backup.Settings, f Form, opts Options) (backup.Settings, []Change, error) {
	errs := Errors{}
	var pairs []string
	for _, key := range formKeys(f) {
		v, given := f.Values[key]
		clear := slices.Contains(f.Clear, key)
		switch {
		case !slices.Contains(Keys(), key):
			errs.add(key, "no such setting")
		case clear && !IsSecret(key):
			errs.add(key, "only a secret setting can be cleared this way: give it an empty value")
		case clear && given && v != "":
			errs.add(key, "given a value and asked to be cleared: do one or the other")
		case clear:
			pairs = append(pairs, key+"=")
		case IsSecret(key) && v == "":
			// Left empty on the form: keep the stored secret.
		default:
			pairs = append(pairs, key+"="+v)
		}
	}
	if len(errs) > 0 {
		// Report the values' problems as well, so the form shows them all.
		if _, _, err := ApplyWith(cur, pairs, opts); err != nil {
			for k, r := range err.(Errors) {
				errs.add(k, r)
			}
		}
		return cur, nil, errs
	}
	return ApplyWith(cur, pairs, opts)
}

// formKeys lists the keys f names: the settings' keys in their order, then
// unknown ones sorted.
func formKeys(f Form) []string {
	var keys, unknown []string
	for _, k := range Keys() {
		if _, ok := f.Values[k]; ok || slices.Contains(f.Clear, k) {
			keys = append(keys, k)
		}
	}
	for k := range f.Values {
		if !slices.Contains(Keys(), k) {
			unknown = append(unknown, k)
		}
	}
	for _, k := range f.Clear {
		if !slices.Contains(Keys(), k) && !slices.Contains(unknown, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	return append(keys, unknown...)
}

// readOnlyKeys are the JSON fields View adds or that are not settable;
// ParseJSON ignores them, so a client may send back what it read.
var readOnlyKeys = []string{"updated_at", "secrets_set", "overridden_by", "effective_timezone"}

// ParseJSON reads an API update (PUT /api/v1/settings): a JSON object with
// the settings' JSON names. Booleans, numbers, strings and, for
// notification_emails, an array of strings are accepted. A secret
// (webhook_url, google_credentials, s3_secret_key) given as a string sets
// it, as "" or null clears it; left out, it is kept. Keys left out keep
// their values. Errors name each bad key.
func ParseJSON(data []byte) (Form, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return Form{}, Errors{"body": "is not a JSON object of settings, such as {\"schedule_time\": \"02:30\"}"}
	}
	if dec.More() {
		return Form{}, Errors{"body": "has more than one JSON value: send one object"}
	}
	f := Form{Values: map[string]string{}}
	errs := Errors{}
	for key, v := range raw {
		if slices.Contains(readOnlyKeys, key) {
			continue
		}
		v = bytes.TrimSpace(v)
		var text string
		switch {
		case string(v) == "null":
			if IsSecret(key) {
				f.Clear = append(f.Clear, key)
			} else {
				errs.add(key, "is null: give a value")
			}
			continue
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &text); err != nil {
				errs.add(key, "is not a valid JSON string")
				continue
			}
			if IsSecret(key) && text == "" {
				f.Clear = append(f.Clear, key)
				continue
			}
		case string(v) == "true" || string(v) == "false":
			text = string(v)
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			var n json.Number
			if err := json.Unmarshal(v, &n); err != nil {
				errs.add(key, "is not a number")
				continue
			}
			if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
				errs.add(key, fmt.Sprintf("%s is not a whole number", n))
				continue
			}
			text = n.String()
		case len(v) > 0 && v[0] == '[' && key == "notification_emails":
			var list []string
			if err := json.Unmarshal(v, &list); err != nil {
				errs.add(key, "is not an array of e-mail addresses (strings)")
				continue
			}
			bad := false
			for _, a := range list {
				bad = bad || strings.Contains(a, ",")
			}
			if bad {
				errs.add(key, "has an address with a comma: give bare addresses such as it@hospital.example")
				continue
			}
			text = strings.Join(list, ",")
		default:
			errs.add(key, "has a value of the wrong type: give a string, number or true/false")
			continue
		}
		f.Values[key] = text
	}
	if len(errs) > 0 {
		return f, errs
	}
	return f, nil
}

// View is the settings as the UI and the API show them: every value but
// the secrets (backup.Settings' JSON has none), whether each secret is
// set, and which settings an environment variable overrides. Its JSON is
// backup.Settings' fields plus "secrets_set" and "overridden_by".
type View struct {
	backup.Settings
	// SecretsSet says, for each secret key, whether a value is stored.
	SecretsSet map[string]bool `json:"secrets_set"`
	// OverriddenBy maps each key the environment overrides to the
	// variable, e.g. "s3_bucket": "HMSBACKUP_S3_BUCKET": the form shows
	// "set by HMSBACKUP_S3_BUCKET" and the effective value is the
	// variable's.
	OverriddenBy map[string]string `json:"overridden_by"`
}

// NewView returns s's View; overridden is remotes.Overrides' map (nil:
// none).
func NewView(s backup.Settings, overridden map[string]string) View {
	if s.NotificationEmails == nil {
		s.NotificationEmails = []string{}
	}
	o := map[string]string{}
	for k, v := range overridden {
		o[k] = v
	}
	return View{Settings: s, SecretsSet: SecretsSet(s), OverriddenBy: o}
}

// SecretsSet says, for each secret key, whether s holds a value.
func SecretsSet(s backup.Settings) map[string]bool {
	shown := Show(s)
	out := map[string]bool{}
	for _, k := range Keys() {
		if IsSecret(k) {
			out[k] = shown[k] == "set"
		}
	}
	return out
}
