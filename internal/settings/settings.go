// Package settings checks and changes backup.Settings from text, keyed by
// the settings' JSON names ("schedule_time", "webhook_url", ...): one
// validation for the CLI's KEY=VALUE arguments and the web form. Errors
// name every invalid key and why; an invalid value changes nothing.
package settings

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/schedule"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
)

// Sealer seals a secret setting's value before it is stored
// (secret.Keyring and secret.Box do). label is the setting's key.
type Sealer interface {
	Seal(label string, plaintext []byte) ([]byte, error)
}

// Errors maps each invalid key to why it is invalid. Error lists them in
// the order of Keys; a key no setting has is listed last.
type Errors map[string]string

func (e Errors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	order := Keys()
	slices.SortFunc(keys, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e[k]
	}
	return strings.Join(parts, "; ")
}

// add records why key is invalid unless a reason is already recorded.
func (e Errors) add(key, reason string) {
	if _, ok := e[key]; !ok {
		e[key] = reason
	}
}

// field is one settable key: how to read it from text into Settings, how
// to check the stored value, and how to show it.
type field struct {
	key    string
	secret bool // shown as "set" or "not set", never its value
	// set parses text into s; an error's text is the reason (it never
	// repeats a secret value).
	set func(s *backup.Settings, text string, seal Sealer) error
	// check says what is wrong with the stored value, or "".
	check func(s backup.Settings) string
	show  func(s backup.Settings) string
}

func fields() []field {
	return []field{
		{key: "schedule_enabled",
			set: func(s *backup.Settings, v string, _ Sealer) (err error) {
				s.ScheduleEnabled, err = parseBool(v)
				return err
			},
			show: func(s backup.Settings) string { return strconv.FormatBool(s.ScheduleEnabled) }},
		{key: "schedule_frequency",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				s.ScheduleFrequency = strings.ToLower(strings.TrimSpace(v))
				return reason(checkFrequency(*s))
			},
			check: checkFrequency,
			show:  func(s backup.Settings) string { return s.ScheduleFrequency }},
		{key: "schedule_time",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				if strings.TrimSpace(v) == "" {
					s.ScheduleTime = ""
					return nil
				}
				c, err := schedule.ParseClock(v)
				if err != nil {
					return err
				}
				s.ScheduleTime = c.String()
				return nil
			},
			check: checkTime,
			show:  func(s backup.Settings) string { return s.ScheduleTime }},
		{key: "schedule_day",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				d, err := parseWeekday(v)
				s.ScheduleDay = int(d)
				return err
			},
			check: func(s backup.Settings) string {
				if s.ScheduleDay < 0 || s.ScheduleDay > 6 {
					return fmt.Sprintf("%d is not a weekday 0-6 (0 = Sunday)", s.ScheduleDay)
				}
				return ""
			},
			show: func(s backup.Settings) string {
				if s.ScheduleDay < 0 || s.ScheduleDay > 6 {
					return strconv.Itoa(s.ScheduleDay)
				}
				return fmt.Sprintf("%d (%s)", s.ScheduleDay, time.Weekday(s.ScheduleDay))
			}},
		{key: "cron_expression",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				s.CronExpression = strings.Join(strings.Fields(v), " ")
				if s.CronExpression == "" {
					return nil
				}
				_, err := schedule.ParseCron(s.CronExpression, time.UTC)
				return err
			},
			check: checkCron,
			show:  func(s backup.Settings) string { return s.CronExpression }},
		retention("retention_daily", func(s *backup.Settings) *int { return &s.RetentionDaily }),
		retention("retention_weekly", func(s *backup.Settings) *int { return &s.RetentionWeekly }),
		retention("retention_monthly", func(s *backup.Settings) *int { return &s.RetentionMonthly }),
		{key: "notification_emails",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				s.NotificationEmails = nil
				for _, a := range strings.Split(v, ",") {
					if a = strings.TrimSpace(a); a != "" {
						s.NotificationEmails = append(s.NotificationEmails, a)
					}
				}
				return reason(checkEmails(*s))
			},
			check: checkEmails,
			show:  func(s backup.Settings) string { return strings.Join(s.NotificationEmails, ", ") }},
		{key: "google_drive_enabled",
			set: func(s *backup.Settings, v string, _ Sealer) (err error) {
				s.GoogleDriveEnabled, err = parseBool(v)
				return err
			},
			show: func(s backup.Settings) string { return strconv.FormatBool(s.GoogleDriveEnabled) }},
		{key: "google_drive_folder_id",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				s.GoogleDriveFolderID = strings.TrimSpace(v)
				return reason(checkFolderID(*s))
			},
			check: checkFolderID,
			show:  func(s backup.Settings) string { return s.GoogleDriveFolderID }},
		{key: "google_credentials", secret: true,
			set: func(s *backup.Settings, v string, seal Sealer) error {
				if strings.TrimSpace(v) == "" {
					s.GoogleCredentialsEnc = nil
					return nil
				}
				if _, err := gdrive.CredentialsType([]byte(v)); err != nil {
					return err // says what is wrong, never quoting the key
				}
				sealed, err := sealValue(seal, "google_credentials", v)
				s.GoogleCredentialsEnc = sealed
				return err
			},
			show: func(s backup.Settings) string { return setOrNot(len(s.GoogleCredentialsEnc) > 0) }},
		{key: "timezone",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				s.Timezone = strings.TrimSpace(v)
				return reason(checkTimezone(*s))
			},
			check: checkTimezone,
			show:  func(s backup.Settings) string { return s.Timezone }},
		{key: "max_backup_age",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				d, err := time.ParseDuration(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("%q is not a duration such as 26h, 90m or 1h30m (units s, m, h)", v)
				}
				s.MaxBackupAge = backup.Duration(d)
				return reason(checkMaxAge(*s))
			},
			check: checkMaxAge,
			show:  func(s backup.Settings) string { return time.Duration(s.MaxBackupAge).String() }},
		{key: "webhook_url", secret: true,
			set: func(s *backup.Settings, v string, seal Sealer) error {
				v = strings.TrimSpace(v)
				if v == "" {
					s.WebhookURLEnc = nil
					return nil
				}
				if err := checkWebhookURL(v); err != nil {
					return err
				}
				sealed, err := sealValue(seal, "webhook_url", v)
				s.WebhookURLEnc = sealed
				return err
			},
			show: func(s backup.Settings) string { return setOrNot(len(s.WebhookURLEnc) > 0) }},
		text("s3_endpoint", func(s *backup.Settings) *string { return &s.S3Endpoint }, checkS3Endpoint),
		text("s3_bucket", func(s *backup.Settings) *string { return &s.S3Bucket }, checkS3Bucket),
		{key: "s3_prefix",
			set: func(s *backup.Settings, v string, _ Sealer) error {
				s.S3Prefix = strings.TrimSpace(v)
				return reason(checkS3Prefix(*s))
			},
			check: checkS3Prefix,
			show:  func(s backup.Settings) string { return s.S3Prefix }},
		text("s3_region", func(s *backup.Settings) *string { return &s.S3Region }, checkS3Region),
		text("s3_access_key", func(s *backup.Settings) *string { return &s.S3AccessKey }, checkS3AccessKey),
		{key: "s3_secret_key", secret: true,
			set: func(s *backup.Settings, v string, seal Sealer) error {
				v = strings.TrimSpace(v)
				if v == "" {
					s.S3SecretKeyEnc = nil
					return nil
				}
				if len(v) > 256 || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
					return fmt.Errorf("is not an S3 secret key: at most 256 characters, no spaces or control characters (the value is not repeated here)")
				}
				sealed, err := sealValue(seal, "s3_secret_key", v)
				s.S3SecretKeyEnc = sealed
				return err
			},
			show: func(s backup.Settings) string { return setOrNot(len(s.S3SecretKeyEnc) > 0) }},
		{key: "s3_use_tls",
			set: func(s *backup.Settings, v string, _ Sealer) (err error) {
				s.S3UseTLS, err = parseBool(v)
				return err
			},
			show: func(s backup.Settings) string { return strconv.FormatBool(s.S3UseTLS) }},
		{key: "s3_sse",
			set: func(s *backup.Settings, v string, _ Sealer) (err error) {
				s.S3SSE, err = parseBool(v)
				return err
			},
			show: func(s backup.Settings) string { return strconv.FormatBool(s.S3SSE) }},
	}
}

// text is a plain text setting, trimmed, checked by check.
func text(key string, ptr func(*backup.Settings) *string, check func(backup.Settings) string) field {
	return field{key: key,
		set: func(s *backup.Settings, v string, _ Sealer) error {
			*ptr(s) = strings.TrimSpace(v)
			return reason(check(*s))
		},
		check: check,
		show:  func(s backup.Settings) string { return *ptr(&s) }}
}

// sealValue seals a secret setting's value.
func sealValue(seal Sealer, key, v string) ([]byte, error) {
	if seal == nil {
		return nil, fmt.Errorf("cannot be stored: no secret key to seal it with")
	}
	sealed, err := seal.Seal(key, []byte(v))
	if err != nil {
		return nil, fmt.Errorf("cannot be sealed: %w", err)
	}
	return sealed, nil
}

// Keys lists the settable keys, in the order settings are shown.
func Keys() []string {
	var keys []string
	for _, f := range fields() {
		keys = append(keys, f.key)
	}
	return keys
}

// IsSecret reports whether key's value is a secret: shown only as "set"
// or "not set", never logged or audited.
func IsSecret(key string) bool {
	for _, f := range fields() {
		if f.key == key {
			return f.secret
		}
	}
	return false
}

// Validate checks every setting of s and how they fit together (a custom
// schedule needs a cron expression, Drive needs a folder). It returns nil
// or Errors naming every invalid key. Secret settings are checked when
// set: their stored values are sealed.
func Validate(s backup.Settings) error { return ValidateWith(s, nil) }

// ValidateWith is Validate when the environment overrides some settings:
// overridden maps those keys to their variables (remotes.Overrides). A
// rule such as "an S3 bucket needs an endpoint" counts an overridden key
// as given.
func ValidateWith(s backup.Settings, overridden map[string]string) error {
	errs := Errors{}
	for _, f := range fields() {
		if f.check == nil {
			continue
		}
		if r := f.check(s); r != "" {
			errs.add(f.key, r)
		}
	}
	for k, r := range crossChecks(s, overridden) {
		errs.add(k, r)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// crossChecks says how the off-site settings do not fit together, where
// the environment does not make up for it.
func crossChecks(s backup.Settings, overridden map[string]string) Errors {
	errs := Errors{}
	given := func(key string, set bool) bool { return set || overridden[key] != "" }
	if s.GoogleDriveEnabled && !given("google_drive_folder_id", s.GoogleDriveFolderID != "") {
		errs.add("google_drive_folder_id", "is empty, but google_drive_enabled is true: give the folder id from the folder's URL")
	}
	if s.GoogleDriveEnabled && !given("google_credentials", len(s.GoogleCredentialsEnc) > 0) {
		errs.add("google_credentials", "is not set, but google_drive_enabled is true: give the service account's JSON key file")
	}
	if s.S3Bucket != "" && !given("s3_endpoint", s.S3Endpoint != "") {
		errs.add("s3_endpoint", "is empty, but s3_bucket is set: give the S3 endpoint, e.g. s3.eu-central-1.amazonaws.com or minio.hospital.example:9000")
	}
	access, secret := given("s3_access_key", s.S3AccessKey != ""), given("s3_secret_key", len(s.S3SecretKeyEnc) > 0)
	if access && !secret {
		errs.add("s3_secret_key", "is not set, but s3_access_key is: give both, or neither for a public bucket")
	}
	if secret && !access {
		errs.add("s3_access_key", "is empty, but s3_secret_key is set: give both, or neither for a public bucket")
	}
	return errs
}

// Set sets key from text (the form of KEY=VALUE), sealing secret values
// with seal (which may be nil when no secret is set). On error, an Errors
// naming key and why, s is unchanged. Set checks only key's value; Apply
// also checks how the settings fit together.
func Set(s *backup.Settings, key, text string, seal Sealer) error {
	for _, f := range fields() {
		if f.key != key {
			continue
		}
		next := *s
		if err := f.set(&next, text, seal); err != nil {
			return Errors{key: err.Error()}
		}
		*s = next
		return nil
	}
	return Errors{key: fmt.Sprintf("no such setting (the settings are %s)", strings.Join(Keys(), ", "))}
}

// Change is one setting a successful Apply changed. Old and New are the
// values as Show gives them: secrets are "set" or "not set".
type Change struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// Apply sets each "KEY=VALUE" of pairs on a copy of s, then validates the
// whole. All or nothing: on error it returns s unchanged and an Errors
// naming every bad key (or malformed pair) and why. Otherwise it returns
// the new settings and the keys given whose value changed, in the order
// given; a secret given is always reported, as it cannot be compared.
func Apply(s backup.Settings, pairs []string, seal Sealer) (backup.Settings, []Change, error) {
	return ApplyWith(s, pairs, Options{Seal: seal})
}

// Options says how ApplyWith and Update seal and check.
type Options struct {
	// Seal seals secret values; nil when no secret is set.
	Seal Sealer
	// Overridden maps the keys the environment overrides to their
	// variables (remotes.Overrides), for ValidateWith.
	Overridden map[string]string
}

// ApplyWith is Apply with Options.
func ApplyWith(s backup.Settings, pairs []string, opts Options) (backup.Settings, []Change, error) {
	next := s
	errs := Errors{}
	var given []string
	for i, p := range pairs {
		key, text, ok := strings.Cut(p, "=")
		key = strings.TrimSpace(key)
		switch {
		case !ok || !isName(key):
			// Not repeated: it may be a secret given without its key.
			errs.add(fmt.Sprintf("argument %d", i+1), "is not KEY=VALUE with a setting's name as KEY, e.g. schedule_time=02:30 (the argument is not repeated here: it may hold a secret)")
			continue
		case slices.Contains(given, key):
			errs.add(key, "given more than once")
			continue
		}
		given = append(given, key)
		if err := Set(&next, key, text, opts.Seal); err != nil {
			for k, r := range err.(Errors) {
				errs.add(k, r)
			}
		}
	}
	if err := ValidateWith(next, opts.Overridden); err != nil {
		for k, r := range err.(Errors) {
			errs.add(k, r)
		}
	}
	if len(errs) > 0 {
		return s, nil, errs
	}
	old, cur := Show(s), Show(next)
	var changes []Change
	for _, key := range given {
		if IsSecret(key) || old[key] != cur[key] {
			changes = append(changes, Change{Key: key, Old: old[key], New: cur[key]})
		}
	}
	return next, changes, nil
}

// Show returns every setting's value as text, secrets as "set" or "not
// set".
func Show(s backup.Settings) map[string]string {
	out := map[string]string{}
	for _, f := range fields() {
		out[f.key] = f.show(s)
	}
	return out
}

// Location returns the zone of s's schedules and retention: s.Timezone,
// or fallback (the process's zone) when it is "".
func Location(s backup.Settings, fallback *time.Location) (*time.Location, error) {
	if s.Timezone == "" {
		return fallback, nil
	}
	if r := checkTimezone(s); r != "" {
		return nil, Errors{"timezone": r}
	}
	return time.LoadLocation(s.Timezone)
}

func retention(key string, ptr func(*backup.Settings) *int) field {
	return field{key: key,
		set: func(s *backup.Settings, v string, _ Sealer) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%q is not a whole number (0 keeps nothing by this rule)", v)
			}
			*ptr(s) = n
			return reason(checkRetention(n))
		},
		check: func(s backup.Settings) string { return checkRetention(*ptr(&s)) },
		show:  func(s backup.Settings) string { return strconv.Itoa(*ptr(&s)) }}
}

func checkRetention(n int) string {
	if n < 0 {
		return fmt.Sprintf("%d is negative: give 0 or more", n)
	}
	return ""
}

func checkFrequency(s backup.Settings) string {
	switch s.ScheduleFrequency {
	case schedule.Daily, schedule.Weekly, schedule.Custom:
		return ""
	}
	return fmt.Sprintf("%q is not daily, weekly or custom", s.ScheduleFrequency)
}

func checkTime(s backup.Settings) string {
	if s.ScheduleTime == "" {
		if s.ScheduleFrequency == schedule.Daily || s.ScheduleFrequency == schedule.Weekly {
			return fmt.Sprintf("is empty, but a %s schedule needs a time HH:MM", s.ScheduleFrequency)
		}
		return ""
	}
	if c, err := schedule.ParseClock(s.ScheduleTime); err != nil || c.String() != s.ScheduleTime {
		return fmt.Sprintf("%q is not a time of day HH:MM (00:00 to 23:59)", s.ScheduleTime)
	}
	return ""
}

func checkCron(s backup.Settings) string {
	if s.CronExpression == "" {
		if s.ScheduleFrequency == schedule.Custom {
			return "is empty, but a custom schedule needs a 5-field cron expression such as \"0 2 * * *\""
		}
		return ""
	}
	if _, err := schedule.ParseCron(s.CronExpression, time.UTC); err != nil {
		return err.Error()
	}
	return ""
}

func checkEmails(s backup.Settings) string {
	var bad []string
	seen := map[string]bool{}
	for _, a := range s.NotificationEmails {
		addr, err := mail.ParseAddress(a)
		switch {
		case err != nil || addr.Address != a:
			bad = append(bad, fmt.Sprintf("%q is not an e-mail address (give bare addresses such as it@hospital.example, comma separated)", a))
		case seen[strings.ToLower(a)]:
			bad = append(bad, fmt.Sprintf("%q is listed twice", a))
		}
		seen[strings.ToLower(a)] = true
	}
	return strings.Join(bad, ", ")
}

func checkFolderID(s backup.Settings) string {
	id := s.GoogleDriveFolderID
	if id == "" {
		return "" // whether one is needed: crossChecks
	}
	if len(id) > 200 || strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return fmt.Sprintf("%q is not a Drive folder id (letters, digits, - and _, as in the folder's URL)", id)
	}
	return ""
}

func checkTimezone(s backup.Settings) string {
	switch s.Timezone {
	case "":
		return ""
	case "Local":
		return `"Local" is not an IANA zone: give "" for the server's zone, or a name such as Europe/Berlin`
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return fmt.Sprintf("%q is not an IANA time zone such as Europe/Berlin or America/New_York", s.Timezone)
	}
	return ""
}

func checkMaxAge(s backup.Settings) string {
	d := time.Duration(s.MaxBackupAge)
	switch {
	case d < time.Second:
		return fmt.Sprintf("%v is too short: give at least 1s, e.g. 26h for a daily schedule", d)
	case d%time.Second != 0:
		return fmt.Sprintf("%v has a fraction of a second: give whole seconds", d)
	}
	return ""
}

// checkWebhookURL says why v is not a usable webhook URL, without
// repeating v: it holds a token.
func checkWebhookURL(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil || strings.ContainsAny(v, " \t\r\n"):
		return fmt.Errorf("is not a URL (the value is not repeated here: it may hold a token)")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("is not an http or https URL (it starts %q)", u.Scheme+":")
	case u.Host == "":
		return fmt.Errorf("has no host: give a full URL such as https://hooks.slack.com/services/...")
	case len(v) > 2048:
		return fmt.Errorf("is %d characters long: at most 2048", len(v))
	}
	return nil
}

// isName reports whether key looks like a setting's name: lower-case
// letters, digits and underscores.
func isName(key string) bool {
	return key != "" && strings.Trim(key, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func parseWeekday(v string) (time.Weekday, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 6 {
		return time.Weekday(n), nil
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if name := d.String(); strings.EqualFold(v, name) || strings.EqualFold(v, name[:3]) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%q is not a weekday 0-6 (0 = Sunday) or a day name such as sunday", v)
}

func setOrNot(set bool) string {
	if set {
		return "set"
	}
	return "not set"
}

// reason turns a check's text into an error (nil for "").
func reason(r string) error {
	if r == "" {
		return nil
	}
	return fmt.Errorf("%s", r)
}

func checkS3Endpoint(s backup.Settings) string {
	v := s.S3Endpoint
	if v == "" {
		return "" // whether one is needed: crossChecks
	}
	if len(v) > 255 || strings.ContainsAny(v, " \t\r\n") {
		return fmt.Sprintf("%q is not an endpoint: give host:port or a URL such as https://s3.eu-central-1.amazonaws.com", v)
	}
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		switch {
		case err != nil || u.Host == "":
			return fmt.Sprintf("%q is not a URL with a host, such as https://minio.hospital.example:9000", v)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Sprintf("%q: the scheme must be http or https", v)
		case u.Path != "" && u.Path != "/", u.RawQuery != "", u.User != nil:
			return fmt.Sprintf("%q has a path, query or user: give only the scheme, host and port (the bucket is s3_bucket)", v)
		}
		return ""
	}
	if strings.ContainsAny(v, "/?#@") {
		return fmt.Sprintf("%q is not host:port: give the host and port only, e.g. s3.amazonaws.com or minio:9000", v)
	}
	return ""
}

func checkS3Bucket(s backup.Settings) string {
	b := s.S3Bucket
	if b == "" {
		return ""
	}
	ok := len(b) >= 3 && len(b) <= 63 && strings.IndexFunc(b, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	}) < 0 && isAlnum(b[0]) && isAlnum(b[len(b)-1])
	if !ok {
		return fmt.Sprintf("%q is not a bucket name: 3-63 lower-case letters, digits, '.', '-' or '_', starting and ending with a letter or digit", b)
	}
	return ""
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func checkS3Prefix(s backup.Settings) string {
	p := s.S3Prefix
	switch {
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q starts with '/': remove it (e.g. hospital/)", p)
	case len(p) > 512:
		return fmt.Sprintf("is %d characters long: at most 512", len(p))
	case strings.IndexFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
		return "has control characters: give letters, digits and / such as hospital/"
	}
	return ""
}

func checkS3Region(s backup.Settings) string {
	r := s.S3Region
	if len(r) > 64 || strings.IndexFunc(r, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
	}) >= 0 {
		return fmt.Sprintf("%q is not a region such as eu-central-1 (empty: ask the server)", r)
	}
	return ""
}

func checkS3AccessKey(s backup.Settings) string {
	k := s.S3AccessKey
	if len(k) > 128 || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "is not an access key id: at most 128 characters, no spaces or control characters"
	}
	return ""
}
