package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/notify"
	"github.com/hmsbackup/hmsbackup/internal/remotes"
)

// config is the environment's settings (PRODUCT.md, "Interfaces that must
// stay stable"). Secrets in it (the DSN's password) are never printed.
type config struct {
	DataDir     string
	Driver      string // "sqlite" or "mysql"
	DSN         string
	DSNDefault  bool // no DSN was given: the embedded SQLite default
	Compression backup.Compression
	Location    *time.Location
	LockWait    time.Duration
	// DumpStallTimeout stops a dump tool silent for that long
	// (HMSBACKUP_DUMP_STALL_TIMEOUT, default 30m, 0: never).
	DumpStallTimeout time.Duration
	// RestoreLockTimeout bounds a MySQL restore's wait for other sessions
	// to let go of the tables (0: the dumper's default).
	RestoreLockTimeout time.Duration
	// DumpCommand and ClientCommand override the MySQL tools (default:
	// mariadb-dump/mariadb if installed, else mysqldump/mysql).
	DumpCommand   string
	ClientCommand string
	// How a MySQL restore runs the dump: HMSBACKUP_RESTORE_METHOD (replay,
	// the default, or client), HMSBACKUP_RESTORE_PARALLEL (data
	// connections, default the number of CPUs, at least 2),
	// HMSBACKUP_RESTORE_COMMIT_MB and HMSBACKUP_RESTORE_COMMIT_STATEMENTS
	// (a data transaction's size, default 64 MiB or 10000 statements).
	RestoreMethod           string
	RestoreParallel         int
	RestoreCommitBytes      int64
	RestoreCommitStatements int
	// The server (serve): where it listens, how a queued backup is retried,
	// how long a shutdown waits for a running backup.
	Listen          string        // HMSBACKUP_LISTEN, default 127.0.0.1:8080
	JobAttempts     int           // HMSBACKUP_JOB_ATTEMPTS, default 3
	JobRetryDelay   time.Duration // HMSBACKUP_JOB_RETRY_DELAY, default 60s
	ShutdownTimeout time.Duration // HMSBACKUP_SHUTDOWN_TIMEOUT, default 60s
	// TLS: serve HTTPS with this certificate and key (HMSBACKUP_TLS_CERT,
	// HMSBACKUP_TLS_KEY; both or neither). BehindTLSProxy
	// (HMSBACKUP_BEHIND_TLS_PROXY=1) says a reverse proxy in front speaks
	// TLS and sets X-Forwarded-For: cookies are then Secure and the audit
	// takes the client's address from that header.
	TLSCert, TLSKey string
	BehindTLSProxy  bool
	// Off-site copies: the HMSBACKUP_GDRIVE_* and HMSBACKUP_S3_* variables,
	// which override the catalog's settings field by field
	// (internal/remotes).
	Remotes remotes.Env
	// Notifications: SMTP (off unless HMSBACKUP_SMTP_HOST is set; the
	// password is never printed), the webhook URL (it holds a token: never
	// printed) and the host name subjects give.
	SMTP       notify.SMTPConfig
	WebhookURL string
	NotifyHost string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{DataDir: getenv("HMSBACKUP_DATA_DIR")}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, fmt.Errorf("HMSBACKUP_DATA_DIR: %w", err)
	}
	c.DataDir = abs

	c.Driver = strings.ToLower(strings.TrimSpace(getenv("HMSBACKUP_DB_DRIVER")))
	switch c.Driver {
	case "":
		c.Driver = "sqlite"
	case "sqlite", "mysql":
	case "mariadb":
		c.Driver = "mysql"
	default:
		return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_DB_DRIVER=%q is not supported: use sqlite or mysql", c.Driver)
	}

	c.DSN = getenv("HMSBACKUP_DB_DSN")
	if c.DSN == "" {
		if c.Driver == "mysql" {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_DB_DSN is not set: give the MySQL/MariaDB DSN, e.g. user:pass@tcp(127.0.0.1:3306)/hms")
		}
		c.DSN = filepath.Join(c.DataDir, "hms.db")
		c.DSNDefault = true
	}

	if c.Compression, err = backup.ParseCompression(getenv("HMSBACKUP_COMPRESSION")); err != nil {
		return c, fmt.Errorf("HMSBACKUP_COMPRESSION: %w", err)
	}

	c.Location = time.Local
	if tz := getenv("HMSBACKUP_TIMEZONE"); tz != "" {
		if c.Location, err = time.LoadLocation(tz); err != nil {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_TIMEZONE=%q is not a time zone: use an IANA name such as Europe/Berlin", tz)
		}
	}

	if s := getenv("HMSBACKUP_RESTORE_LOCK_TIMEOUT"); s != "" {
		if c.RestoreLockTimeout, err = time.ParseDuration(s); err != nil || c.RestoreLockTimeout <= 0 {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_RESTORE_LOCK_TIMEOUT=%q is not a positive duration such as 60s or 5m", s)
		}
	}
	if s := getenv("HMSBACKUP_LOCK_WAIT"); s != "" {
		if c.LockWait, err = time.ParseDuration(s); err != nil || c.LockWait < 0 {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_LOCK_WAIT=%q is not a duration such as 30s or 10m", s)
		}
	}
	c.DumpStallTimeout = 30 * time.Minute
	if s := getenv("HMSBACKUP_DUMP_STALL_TIMEOUT"); s != "" {
		if c.DumpStallTimeout, err = time.ParseDuration(s); err != nil || c.DumpStallTimeout < 0 {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_DUMP_STALL_TIMEOUT=%q is not a duration such as 30m (0: never stop a silent dump)", s)
		}
	}
	// Whether Drive and S3 are complete is known only with the catalog's
	// settings: remotes.Resolve says what is missing.
	c.Remotes = remotes.EnvFrom(getenv)
	switch c.RestoreMethod = strings.ToLower(strings.TrimSpace(getenv("HMSBACKUP_RESTORE_METHOD"))); c.RestoreMethod {
	case "", "replay", "client":
	default:
		return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_RESTORE_METHOD=%q is not a restore method: use replay (the default) or client", c.RestoreMethod)
	}
	for _, v := range []struct {
		name string
		max  int
		dst  func(int)
	}{
		{"HMSBACKUP_RESTORE_PARALLEL", 64, func(n int) { c.RestoreParallel = n }},
		{"HMSBACKUP_RESTORE_COMMIT_MB", 4096, func(n int) { c.RestoreCommitBytes = int64(n) << 20 }},
		{"HMSBACKUP_RESTORE_COMMIT_STATEMENTS", 10_000_000, func(n int) { c.RestoreCommitStatements = n }},
	} {
		if s := strings.TrimSpace(getenv(v.name)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > v.max {
				return c, backup.Errorf(backup.EINVALID, "%s=%q is not a number from 1 to %d", v.name, s, v.max)
			}
			v.dst(n)
		}
	}
	c.DumpCommand = getenv("HMSBACKUP_MYSQLDUMP")
	c.ClientCommand = getenv("HMSBACKUP_MYSQL")
	if c.SMTP, err = loadSMTP(getenv); err != nil {
		return c, err
	}
	if c.WebhookURL = strings.TrimSpace(getenv("HMSBACKUP_WEBHOOK_URL")); c.WebhookURL != "" {
		if notify.CheckWebhookURL(c.WebhookURL) != nil {
			// The URL holds a token: the message does not quote it.
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_WEBHOOK_URL is not an http:// or https:// URL")
		}
	}
	c.NotifyHost = strings.TrimSpace(getenv("HMSBACKUP_NOTIFY_HOST"))
	if c.NotifyHost == "" {
		c.NotifyHost, _ = os.Hostname()
	}
	c.Listen = cmp.Or(getenv("HMSBACKUP_LISTEN"), "127.0.0.1:8080")
	c.TLSCert, c.TLSKey = strings.TrimSpace(getenv("HMSBACKUP_TLS_CERT")), strings.TrimSpace(getenv("HMSBACKUP_TLS_KEY"))
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, backup.Errorf(backup.EINVALID, "set both HMSBACKUP_TLS_CERT and HMSBACKUP_TLS_KEY (the certificate and its key, PEM files), or neither")
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("HMSBACKUP_BEHIND_TLS_PROXY"))); v {
	case "", "0", "false", "no":
	case "1", "true", "yes":
		c.BehindTLSProxy = true
	default:
		return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_BEHIND_TLS_PROXY=%q: use 1 (a TLS proxy is in front) or 0", v)
	}
	c.JobAttempts = 3
	if s := getenv("HMSBACKUP_JOB_ATTEMPTS"); s != "" {
		if c.JobAttempts, err = strconv.Atoi(s); err != nil || c.JobAttempts < 1 || c.JobAttempts > 100 {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_JOB_ATTEMPTS=%q is not a number of tries from 1 to 100", s)
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"HMSBACKUP_JOB_RETRY_DELAY", &c.JobRetryDelay, 60 * time.Second},
		{"HMSBACKUP_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 60 * time.Second},
	} {
		*d.dst = d.def
		if s := getenv(d.name); s != "" {
			if *d.dst, err = time.ParseDuration(s); err != nil || *d.dst <= 0 {
				return c, backup.Errorf(backup.EINVALID, "%s=%q is not a positive duration such as 30s or 5m", d.name, s)
			}
		}
	}
	return c, nil
}

// smtpVars are the SMTP settings' variables.
var smtpVars = []string{"HMSBACKUP_SMTP_HOST", "HMSBACKUP_SMTP_PORT", "HMSBACKUP_SMTP_USERNAME",
	"HMSBACKUP_SMTP_PASSWORD", "HMSBACKUP_SMTP_FROM", "HMSBACKUP_SMTP_TLS"}

// loadSMTP reads the SMTP settings: none at all means mail is off. Errors
// name the variable and never quote the password.
func loadSMTP(getenv func(string) string) (notify.SMTPConfig, error) {
	s := notify.SMTPConfig{
		Host:     strings.TrimSpace(getenv("HMSBACKUP_SMTP_HOST")),
		Username: getenv("HMSBACKUP_SMTP_USERNAME"),
		Password: getenv("HMSBACKUP_SMTP_PASSWORD"),
		From:     strings.TrimSpace(getenv("HMSBACKUP_SMTP_FROM")),
	}
	if s.Host == "" {
		for _, v := range smtpVars[1:] {
			if getenv(v) != "" {
				return s, backup.Errorf(backup.EINVALID, "%s is set but HMSBACKUP_SMTP_HOST is not: give the mail server's host name, or unset the HMSBACKUP_SMTP_* variables", v)
			}
		}
		return s, nil
	}
	if notify.CheckHost(s.Host) != nil {
		return s, backup.Errorf(backup.EINVALID, "HMSBACKUP_SMTP_HOST=%q is not a host name or IP address: give the port in HMSBACKUP_SMTP_PORT", s.Host)
	}
	var err error
	if s.TLS, err = notify.ParseTLSMode(getenv("HMSBACKUP_SMTP_TLS")); err != nil {
		return s, backup.Errorf(backup.EINVALID, "HMSBACKUP_SMTP_TLS=%q is not a TLS mode: use starttls (the default), tls or none", getenv("HMSBACKUP_SMTP_TLS"))
	}
	if p := strings.TrimSpace(getenv("HMSBACKUP_SMTP_PORT")); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return s, backup.Errorf(backup.EINVALID, "HMSBACKUP_SMTP_PORT=%q is not a port number (1-65535)", p)
		}
	}
	switch {
	case s.From == "":
		return s, backup.Errorf(backup.EINVALID, "HMSBACKUP_SMTP_HOST is set but HMSBACKUP_SMTP_FROM is not: give the sender address, e.g. hmsbackup@hospital.example")
	case notify.ValidAddress(s.From) != nil:
		return s, backup.Errorf(backup.EINVALID, "HMSBACKUP_SMTP_FROM=%q is not an e-mail address", s.From)
	case s.Password != "" && s.Username == "":
		return s, backup.Errorf(backup.EINVALID, "HMSBACKUP_SMTP_PASSWORD is set but HMSBACKUP_SMTP_USERNAME is not")
	}
	if err := s.Validate(); err != nil {
		return s, backup.Errorf(backup.EINVALID, "SMTP settings (HMSBACKUP_SMTP_*): %v", err)
	}
	return s, nil
}
