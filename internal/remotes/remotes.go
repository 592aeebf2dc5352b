// Package remotes makes the off-site storages (Google Drive, S3) from
// their effective configuration: the catalog's settings, each overridden
// by its environment variable when that is set (not empty). A Provider
// builds them anew when the configuration changes, so a long-running
// serve uses a change made in the web UI from the next operation on.
//
// The fields and their variables (a variable set to a non-empty value
// wins over the setting):
//
//	google_drive_enabled    HMSBACKUP_GDRIVE_FOLDER_ID (set: Drive is on)
//	google_drive_folder_id  HMSBACKUP_GDRIVE_FOLDER_ID
//	google_credentials      HMSBACKUP_GDRIVE_CREDENTIALS_FILE (a file's path; the setting is the JSON itself)
//	s3_endpoint             HMSBACKUP_S3_ENDPOINT
//	s3_bucket               HMSBACKUP_S3_BUCKET (S3 is on when the effective bucket is not empty)
//	s3_prefix               HMSBACKUP_S3_PREFIX
//	s3_region               HMSBACKUP_S3_REGION
//	s3_access_key           HMSBACKUP_S3_ACCESS_KEY
//	s3_secret_key           HMSBACKUP_S3_SECRET_KEY
//	s3_use_tls              HMSBACKUP_S3_INSECURE (set: plain HTTP)
//	s3_sse                  HMSBACKUP_S3_SSE (set: server-side encryption on)
//	webhook_url             HMSBACKUP_WEBHOOK_URL (not a remote; reported by Overrides for the form)
//
// HMSBACKUP_GDRIVE_ENDPOINT (the Drive API's base URL, for tests and
// gateways) has no setting.
package remotes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/settings"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/s3"
)

// Env is the environment's off-site settings. Secrets in it are never
// printed.
type Env struct {
	GDriveFolderID        string // HMSBACKUP_GDRIVE_FOLDER_ID
	GDriveCredentialsFile string // HMSBACKUP_GDRIVE_CREDENTIALS_FILE
	GDriveEndpoint        string // HMSBACKUP_GDRIVE_ENDPOINT
	S3Endpoint            string // HMSBACKUP_S3_ENDPOINT
	S3Bucket              string // HMSBACKUP_S3_BUCKET
	S3Prefix              string // HMSBACKUP_S3_PREFIX
	S3Region              string // HMSBACKUP_S3_REGION
	S3AccessKey           string // HMSBACKUP_S3_ACCESS_KEY
	S3SecretKey           string // HMSBACKUP_S3_SECRET_KEY
	S3Insecure            string // HMSBACKUP_S3_INSECURE: set means plain HTTP
	S3SSE                 string // HMSBACKUP_S3_SSE: set means SSE-S3
	WebhookURL            string // HMSBACKUP_WEBHOOK_URL
}

// EnvFrom reads Env with getenv (os.Getenv).
func EnvFrom(getenv func(string) string) Env {
	return Env{
		GDriveFolderID:        getenv("HMSBACKUP_GDRIVE_FOLDER_ID"),
		GDriveCredentialsFile: getenv("HMSBACKUP_GDRIVE_CREDENTIALS_FILE"),
		GDriveEndpoint:        getenv("HMSBACKUP_GDRIVE_ENDPOINT"),
		S3Endpoint:            getenv("HMSBACKUP_S3_ENDPOINT"),
		S3Bucket:              getenv("HMSBACKUP_S3_BUCKET"),
		S3Prefix:              getenv("HMSBACKUP_S3_PREFIX"),
		S3Region:              getenv("HMSBACKUP_S3_REGION"),
		S3AccessKey:           getenv("HMSBACKUP_S3_ACCESS_KEY"),
		S3SecretKey:           getenv("HMSBACKUP_S3_SECRET_KEY"),
		S3Insecure:            getenv("HMSBACKUP_S3_INSECURE"),
		S3SSE:                 getenv("HMSBACKUP_S3_SSE"),
		WebhookURL:            getenv("HMSBACKUP_WEBHOOK_URL"),
	}
}

// String describes e without its secrets.
func (e Env) String() string {
	e.S3SecretKey = redact(e.S3SecretKey)
	e.WebhookURL = redact(e.WebhookURL)
	type plain Env
	return fmt.Sprintf("%+v", plain(e))
}

// GoString is String, so %#v does not print the secrets either.
func (e Env) GoString() string { return e.String() }

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Overrides maps each setting key an environment variable overrides (it
// is set) to the variable's name, e.g. "s3_bucket": "HMSBACKUP_S3_BUCKET".
func (e Env) Overrides() map[string]string {
	out := map[string]string{}
	for _, o := range []struct{ key, env, v string }{
		{"google_drive_enabled", "HMSBACKUP_GDRIVE_FOLDER_ID", e.GDriveFolderID},
		{"google_drive_folder_id", "HMSBACKUP_GDRIVE_FOLDER_ID", e.GDriveFolderID},
		{"google_credentials", "HMSBACKUP_GDRIVE_CREDENTIALS_FILE", e.GDriveCredentialsFile},
		{"s3_endpoint", "HMSBACKUP_S3_ENDPOINT", e.S3Endpoint},
		{"s3_bucket", "HMSBACKUP_S3_BUCKET", e.S3Bucket},
		{"s3_prefix", "HMSBACKUP_S3_PREFIX", e.S3Prefix},
		{"s3_region", "HMSBACKUP_S3_REGION", e.S3Region},
		{"s3_access_key", "HMSBACKUP_S3_ACCESS_KEY", e.S3AccessKey},
		{"s3_secret_key", "HMSBACKUP_S3_SECRET_KEY", e.S3SecretKey},
		{"s3_use_tls", "HMSBACKUP_S3_INSECURE", e.S3Insecure},
		{"s3_sse", "HMSBACKUP_S3_SSE", e.S3SSE},
		{"webhook_url", "HMSBACKUP_WEBHOOK_URL", e.WebhookURL},
	} {
		if o.v != "" {
			out[o.key] = o.env
		}
	}
	return out
}

// Opener opens sealed settings (secret.Keyring does).
type Opener interface {
	Open(label string, sealed []byte) ([]byte, error)
}

// Effective is the off-site configuration in force: the settings with
// the environment's overrides. A nil config is off; an error says why a
// remote that is on cannot be configured (it then fails every use with
// that error, and backups stay local with a warning).
type Effective struct {
	Drive    *gdrive.Config
	DriveErr error
	S3       *s3.Config
	S3Err    error
}

// Resolve computes the effective configuration of s with env's overrides,
// opening sealed secrets with keys. Its errors never hold a secret.
func Resolve(s backup.Settings, env Env, keys Opener) Effective {
	var eff Effective
	if env.GDriveFolderID != "" || s.GoogleDriveEnabled {
		cfg := &gdrive.Config{FolderID: or(env.GDriveFolderID, s.GoogleDriveFolderID), Endpoint: env.GDriveEndpoint}
		switch {
		case env.GDriveCredentialsFile != "":
			cfg.CredentialsFile = env.GDriveCredentialsFile
		case len(s.GoogleCredentialsEnc) > 0:
			if keys == nil {
				eff.DriveErr = backup.Errorf(backup.EINVALID, "Google Drive: the google_credentials setting cannot be opened: no secret key (HMSBACKUP_SECRET_KEY or secret.key in the data directory)")
				break
			}
			creds, err := keys.Open("google_credentials", s.GoogleCredentialsEnc)
			if err != nil {
				eff.DriveErr = backup.Wrap(err, backup.EINVALID, "Google Drive: the google_credentials setting cannot be opened with this secret key (HMSBACKUP_SECRET_KEY or secret.key in the data directory); set it again")
				break
			}
			cfg.CredentialsJSON = creds
		default:
			eff.DriveErr = backup.Errorf(backup.EINVALID, "Google Drive is on but has no credentials: upload the service account's JSON key (setting google_credentials) or set HMSBACKUP_GDRIVE_CREDENTIALS_FILE")
		}
		if cfg.FolderID == "" && eff.DriveErr == nil {
			eff.DriveErr = backup.Errorf(backup.EINVALID, "Google Drive is on but has no folder: set google_drive_folder_id or HMSBACKUP_GDRIVE_FOLDER_ID")
		}
		eff.Drive = cfg
	}
	if bucket := or(env.S3Bucket, s.S3Bucket); bucket != "" {
		cfg := &s3.Config{
			Endpoint:             or(env.S3Endpoint, s.S3Endpoint),
			Bucket:               bucket,
			Prefix:               or(env.S3Prefix, s.S3Prefix),
			Region:               or(env.S3Region, s.S3Region),
			AccessKey:            or(env.S3AccessKey, s.S3AccessKey),
			SecretKey:            env.S3SecretKey,
			UseTLS:               s.S3UseTLS && env.S3Insecure == "",
			ServerSideEncryption: s.S3SSE || env.S3SSE != "",
		}
		if cfg.SecretKey == "" && len(s.S3SecretKeyEnc) > 0 {
			var sk []byte
			var err error
			if keys == nil {
				err = errors.New("no secret key")
			} else {
				sk, err = keys.Open("s3_secret_key", s.S3SecretKeyEnc)
			}
			if err != nil {
				eff.S3Err = backup.Wrap(err, backup.EINVALID, "S3: the s3_secret_key setting cannot be opened with this secret key (HMSBACKUP_SECRET_KEY or secret.key in the data directory); set it again")
			}
			cfg.SecretKey = string(sk)
		}
		if cfg.Endpoint == "" && eff.S3Err == nil {
			eff.S3Err = backup.Errorf(backup.EINVALID, "S3 has a bucket but no endpoint: set s3_endpoint or HMSBACKUP_S3_ENDPOINT, e.g. s3.eu-central-1.amazonaws.com")
		}
		eff.S3 = cfg
	}
	return eff
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// SettingsReader reads the saved settings (backup.Catalog does).
type SettingsReader interface {
	Settings(ctx context.Context) (backup.Settings, error)
}

// Provider makes the remotes of each operation from the effective
// configuration, read from the catalog each time it is asked. It keeps the
// storages it made while their configuration stays the same, makes them
// anew when it changes, and tries again a storage that could not be opened
// once RetryOpenAfter has passed. It is safe for concurrent use.
type Provider struct {
	catalog SettingsReader
	env     Env
	keys    Opener
	// RetryOpenAfter is how long a storage that could not be opened (S3
	// down) is reported as such before it is tried again; default 15s.
	RetryOpenAfter time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu     sync.Mutex
	cached map[engine.RemoteKind]cachedRemote
	last   []engine.Remote
}

type cachedRemote struct {
	fingerprint string
	remote      engine.Remote
	at          time.Time
}

// NewProvider returns a Provider reading settings from cat, with env's
// overrides and keys to open sealed secrets.
func NewProvider(cat SettingsReader, env Env, keys Opener) *Provider {
	return &Provider{catalog: cat, env: env, keys: keys, cached: map[engine.RemoteKind]cachedRemote{}}
}

// Env returns the environment's overrides the Provider applies.
func (p *Provider) Env() Env { return p.env }

// Remotes returns the remotes an operation starting now uses
// (engine.Engine.RemoteSource). When the settings cannot be read, it
// returns the remotes it returned last.
func (p *Provider) Remotes(ctx context.Context) []engine.Remote {
	s, err := p.catalog.Settings(ctx)
	if err != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.last
	}
	eff := Resolve(s, p.env, p.keys)
	var out []engine.Remote
	if eff.Drive != nil {
		out = append(out, p.remote(engine.RemoteGoogleDrive, driveFingerprint(eff), func() engine.Remote { return openDrive(ctx, eff) }))
	}
	if eff.S3 != nil {
		out = append(out, p.remote(engine.RemoteS3, s3Fingerprint(eff), func() engine.Remote { return openS3(ctx, eff) }))
	}
	p.mu.Lock()
	p.last = out
	p.mu.Unlock()
	return out
}

// remote returns the cached remote of kind if its configuration is the
// same (and it opened, or failed less than RetryOpenAfter ago), else opens
// it anew. Opening (S3 asks the server) runs without the lock, so a slow
// server does not hold up the other remote or other callers; two callers
// may then open the same configuration at once, and the last one is kept.
func (p *Provider) remote(kind engine.RemoteKind, fingerprint string, open func() engine.Remote) engine.Remote {
	retry := p.RetryOpenAfter
	if retry == 0 {
		retry = 15 * time.Second
	}
	p.mu.Lock()
	c, ok := p.cached[kind]
	p.mu.Unlock()
	if ok && c.fingerprint == fingerprint && (c.remote.OpenErr == nil || p.now().Sub(c.at) < retry) {
		return c.remote
	}
	r := open()
	p.mu.Lock()
	p.cached[kind] = cachedRemote{fingerprint: fingerprint, remote: r, at: p.now()}
	p.mu.Unlock()
	return r
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// View returns the settings as the UI and API show them (secrets only as
// set or not set) with the keys the environment overrides.
func (p *Provider) View(ctx context.Context) (settings.View, error) {
	s, err := p.catalog.Settings(ctx)
	if err != nil {
		return settings.View{}, fmt.Errorf("read the settings to show them: %w", err)
	}
	return settings.NewView(s, p.env.Overrides()), nil
}

// Status is one remote's state in the effective configuration, for the
// settings page: whether it is on and what keeps it from working, found
// without contacting it.
type Status struct {
	Kind    engine.RemoteKind `json:"kind"`
	On      bool              `json:"on"`
	Problem string            `json:"problem,omitempty"`
}

// Statuses returns the state of Google Drive and S3, in that order.
func (p *Provider) Statuses(ctx context.Context) ([]Status, error) {
	s, err := p.catalog.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the settings: %w", err)
	}
	eff := Resolve(s, p.env, p.keys)
	problem := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	return []Status{
		{Kind: engine.RemoteGoogleDrive, On: eff.Drive != nil, Problem: problem(eff.DriveErr)},
		{Kind: engine.RemoteS3, On: eff.S3 != nil, Problem: problem(eff.S3Err)},
	}, nil
}

func openDrive(ctx context.Context, eff Effective) engine.Remote {
	if eff.DriveErr != nil {
		return engine.Remote{Kind: engine.RemoteGoogleDrive, OpenErr: eff.DriveErr}
	}
	s, err := gdrive.New(ctx, *eff.Drive)
	if err != nil {
		return engine.Remote{Kind: engine.RemoteGoogleDrive, OpenErr: fmt.Errorf("Google Drive: %w", err)}
	}
	return engine.Remote{Kind: engine.RemoteGoogleDrive, Storage: s}
}

func openS3(ctx context.Context, eff Effective) engine.Remote {
	if eff.S3Err != nil {
		return engine.Remote{Kind: engine.RemoteS3, OpenErr: eff.S3Err}
	}
	s, err := s3.New(ctx, *eff.S3)
	if err != nil {
		return engine.Remote{Kind: engine.RemoteS3, OpenErr: fmt.Errorf("S3: %w", err)}
	}
	return engine.Remote{Kind: engine.RemoteS3, Storage: s}
}

// driveFingerprint and s3Fingerprint identify a configuration, secrets
// included, by a hash: equal fingerprints need no new storage.
func driveFingerprint(eff Effective) string {
	h := sha256.New()
	c := eff.Drive
	for _, f := range []string{c.FolderID, c.Endpoint, c.CredentialsFile, string(c.CredentialsJSON), errText(eff.DriveErr)} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func s3Fingerprint(eff Effective) string {
	h := sha256.New()
	c := eff.S3
	for _, f := range []string{c.Endpoint, c.Bucket, c.Prefix, c.Region, c.AccessKey, c.SecretKey,
		strconv.FormatBool(c.UseTLS), strconv.FormatBool(c.ServerSideEncryption), errText(eff.S3Err)} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestStep is one step of a connection test.
type TestStep struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// TestResult is the outcome of a connection test: Message is one line for
// people ("Google Drive works: ..." or which step failed and why). Err is
// nil when it worked; its code is EINVALID when the remote is not
// configured, the storage's own (EUNAVAILABLE, ...) otherwise.
type TestResult struct {
	Remote  engine.RemoteKind `json:"remote"`
	OK      bool              `json:"ok"`
	Message string            `json:"message"`
	Steps   []TestStep        `json:"steps"`
	Err     error             `json:"-"`
}

// TestGoogleDrive tests the Google Drive connection of the effective
// configuration as saved now (6.2): it opens a new storage, authenticates
// and lists the folder, writes a probe file, reads it back, deletes it and
// checks it is gone. It never changes a backup.
func (p *Provider) TestGoogleDrive(ctx context.Context) TestResult {
	res := TestResult{Remote: engine.RemoteGoogleDrive}
	s, err := p.catalog.Settings(ctx)
	if err != nil {
		return res.fail("read the settings", fmt.Errorf("read the settings: %w", err))
	}
	eff := Resolve(s, p.env, p.keys)
	if eff.Drive == nil {
		return res.fail("configure Google Drive", backup.Errorf(backup.EINVALID,
			"Google Drive is not configured: set google_drive_enabled, google_drive_folder_id and google_credentials (or HMSBACKUP_GDRIVE_FOLDER_ID and HMSBACKUP_GDRIVE_CREDENTIALS_FILE)"))
	}
	r := openDrive(ctx, eff)
	if r.OpenErr != nil {
		return res.fail("configure Google Drive", r.OpenErr)
	}
	res.ok("configure Google Drive")
	return res.probe(ctx, "Google Drive", "the folder", r.Storage)
}

// TestS3 is TestGoogleDrive for S3: opening checks the endpoint, the
// credentials and that the bucket exists.
func (p *Provider) TestS3(ctx context.Context) TestResult {
	res := TestResult{Remote: engine.RemoteS3}
	s, err := p.catalog.Settings(ctx)
	if err != nil {
		return res.fail("read the settings", fmt.Errorf("read the settings: %w", err))
	}
	eff := Resolve(s, p.env, p.keys)
	if eff.S3 == nil {
		return res.fail("configure S3", backup.Errorf(backup.EINVALID,
			"S3 is not configured: set s3_endpoint and s3_bucket (and the keys), or HMSBACKUP_S3_ENDPOINT and HMSBACKUP_S3_BUCKET"))
	}
	if eff.S3Err != nil {
		return res.fail("configure S3", eff.S3Err)
	}
	res.ok("configure S3")
	st, err := s3.New(ctx, *eff.S3)
	if err != nil {
		return res.fail("connect, sign in and find the bucket", err)
	}
	res.ok("connect, sign in and find the bucket")
	return res.probe(ctx, "S3", "the bucket", st)
}

// Report is the result for people: one line per step ("write a probe
// file  ok" or "FAILED: why"), then Message. The web page shows it as is.
func (r TestResult) Report() string {
	var b strings.Builder
	for _, s := range r.Steps {
		if s.OK {
			fmt.Fprintf(&b, "%-40s ok\n", s.Name)
		} else {
			fmt.Fprintf(&b, "%-40s FAILED: %s\n", s.Name, s.Error)
		}
	}
	b.WriteString(r.Message)
	return b.String()
}

// ok records a step that worked.
func (r *TestResult) ok(step string) {
	r.Steps = append(r.Steps, TestStep{Name: step, OK: true})
}

// probe lists, writes, reads back and deletes a probe file on st.
func (r TestResult) probe(ctx context.Context, label, place string, st backup.Storage) TestResult {
	list, err := st.List(ctx, "hms_backup_")
	if err != nil {
		return r.fail("authenticate and read "+place, err)
	}
	r.ok("authenticate and read " + place)
	probe := fmt.Sprintf("hmsbackup-probe-%d", time.Now().UnixNano())
	if _, err := st.Put(ctx, probe, bytes.NewReader([]byte("hmsbackup connection test; safe to delete\n"))); err != nil {
		return r.fail("write a probe file", err)
	}
	r.ok("write a probe file")
	if _, err := st.Stat(ctx, probe); err != nil {
		_ = st.Delete(context.WithoutCancel(ctx), probe)
		return r.fail("read the probe file back", err)
	}
	r.ok("read the probe file back")
	if err := st.Delete(ctx, probe); err != nil {
		return r.fail("delete the probe file", err)
	}
	r.ok("delete the probe file")
	if _, err := st.Stat(ctx, probe); !errors.Is(err, backup.ErrNotFound) {
		return r.fail("check the probe file is gone", fmt.Errorf("it is still there (%v)", err))
	}
	r.ok("check the probe file is gone")
	r.OK = true
	r.Message = fmt.Sprintf("%s works: %s holds %d backup files", label, place, len(list))
	return r
}

func (r TestResult) fail(step string, err error) TestResult {
	r.Steps = append(r.Steps, TestStep{Name: step, Error: err.Error()})
	label := "Google Drive"
	if r.Remote == engine.RemoteS3 {
		label = "S3"
	}
	r.Message = fmt.Sprintf("%s test failed at %q: %s", label, step, err.Error())
	r.Err = fmt.Errorf("%s test failed at %q: %w", label, step, err)
	return r
}
