package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	dumpmysql "github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/replay"
	dumpsqlite "github.com/hmsbackup/hmsbackup/internal/dump/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/lock"
	"github.com/hmsbackup/hmsbackup/internal/notify"
	"github.com/hmsbackup/hmsbackup/internal/queue"
	"github.com/hmsbackup/hmsbackup/internal/remotes"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"github.com/hmsbackup/hmsbackup/internal/settings"
	"github.com/hmsbackup/hmsbackup/internal/storage/local"
	"github.com/hmsbackup/hmsbackup/internal/tempfile"
	"github.com/hmsbackup/hmsbackup/internal/web"
)

// app is the composed program: every concrete type is chosen here.
type app struct {
	cfg     config
	catalog backup.Catalog
	engine  *engine.Engine
	actor   engine.Actor
	// webhookURL reads the webhook's URL at each send ("" means none).
	webhookURL func(context.Context) (string, error)
	notifier   *cliNotifier
	// progress is where serve's running jobs stand (web UI, API).
	progress *web.Progress
	queue    *queue.Queue // serve's job queue, nil for other commands
	// keys seals and opens secret settings.
	keys *secret.Keyring
	// remotes makes the off-site storages of each operation from the
	// settings and the environment (the engine's RemoteSource), shows the
	// settings for the UI, and tests connections.
	remotes *remotes.Provider
}

// settingsOptions are how this process seals and checks settings changes:
// with its secret key, counting the settings the environment overrides as
// given.
func (a *app) settingsOptions() settings.Options {
	return settings.Options{Seal: a.keys, Overridden: a.cfg.Remotes.Overrides()}
}

func (a *app) Close() error { return a.catalog.Close() }

// openApp wires the engine from the configuration and recovers backups
// interrupted by a crash.
func (c *cli) openApp(ctx context.Context) (*app, error) {
	cfg, err := loadConfig(c.getenv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	tmp := filepath.Join(cfg.DataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create temp directory: %w", err)
	}
	// A run killed before it could clean up may have left a snapshot of the
	// database or a credentials file there.
	if n, err := tempfile.RemoveStale(tmp); err != nil {
		fmt.Fprintf(c.stderr, "hmsbackup: warning: %s\n", oneLine(err.Error()))
	} else if n > 0 {
		fmt.Fprintf(c.stderr, "hmsbackup: removed %d temporary file(s) left in %s by a killed run\n", n, tmp)
	}
	// The CLI prints each command's outcome itself; the engine's log lines
	// would only repeat it.
	logger := slog.New(slog.DiscardHandler)
	if c.logger != nil {
		logger = c.logger
	}

	var dumper backup.Dumper
	switch cfg.Driver {
	case "mysql":
		// A restore that falls back from the replayer to the client says
		// why, on stderr too when nothing else logs.
		dumperLog := c.logger
		if dumperLog == nil {
			dumperLog = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
		if dumper, err = dumpmysql.New(dumpmysql.Config{DSN: cfg.DSN, TempDir: tmp, DumpCommand: cfg.DumpCommand, ClientCommand: cfg.ClientCommand, LockTimeout: cfg.RestoreLockTimeout,
			RestoreMethod: cfg.RestoreMethod, Logger: dumperLog,
			Replay: replay.Options{Parallel: cfg.RestoreParallel, CommitBytes: cfg.RestoreCommitBytes, CommitStatements: cfg.RestoreCommitStatements}}); err != nil {
			return nil, err
		}
	default:
		if cfg.DSNDefault {
			if err := c.ensureSample(ctx, cfg.DSN); err != nil {
				return nil, err
			}
		}
		dumper = dumpsqlite.New(cfg.DSN, tmp)
	}

	cat, err := catalogsqlite.Open(ctx, filepath.Join(cfg.DataDir, "catalog.db"))
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	// One zone for file names, schedules and retention: the settings'
	// timezone when set, else HMSBACKUP_TIMEZONE, else the server's.
	if s, err := cat.Settings(ctx); err == nil {
		if loc, err := settings.Location(s, cfg.Location); err == nil {
			cfg.Location = loc
		}
	}
	store, err := local.New(filepath.Join(cfg.DataDir, "backups"))
	if err != nil {
		cat.Close()
		return nil, err
	}
	locker, err := lock.New(filepath.Join(cfg.DataDir, "locks"))
	if err != nil {
		cat.Close()
		return nil, err
	}
	eng := &engine.Engine{
		Catalog:          cat,
		Dumper:           dumper,
		Storage:          store,
		Locker:           locker,
		Compression:      cfg.Compression,
		Location:         cfg.Location,
		Logger:           logger,
		LockWait:         cfg.LockWait,
		DumpStallTimeout: cfg.DumpStallTimeout,
		StateDir:         cfg.DataDir,
	}
	keys := secret.NewKeyring(c.getenv(secret.EnvKey), cfg.DataDir)
	// Off-site storages are made per operation from the settings as they
	// are then, so a change made while serve runs applies at once.
	provider := remotes.NewProvider(cat, cfg.Remotes, keys)
	eng.RemoteSource = provider.Remotes
	hookURL := webhookURL(cfg, cat, keys)
	notifier := c.notifier(cfg, cat, hookURL, logger)
	eng.Notifier = notifier
	if n, err := eng.Recover(ctx); err != nil {
		fmt.Fprintf(c.stderr, "hmsbackup: warning: could not check for backups interrupted by a crash: %s\n", oneLine(err.Error()))
	} else if n > 0 {
		fmt.Fprintf(c.stderr, "hmsbackup: marked %d backup(s) interrupted by a crash as failed and removed their partial files\n", n)
	}
	if m, err := eng.InterruptedRestore(); err != nil {
		fmt.Fprintf(c.stderr, "hmsbackup: warning: %s\n", oneLine(err.Error()))
	} else if m != nil && m.Running {
		fmt.Fprintf(c.stderr, "hmsbackup: note: a restore of backup %d (%s) into %s is running (pid %d, since %s)\n",
			m.BackupID, m.BackupFilename, m.Database, m.PID, m.StartedAt.In(cfg.Location).Format(time.RFC3339))
	} else if m != nil {
		fmt.Fprintf(c.stderr, "hmsbackup: WARNING: the restore of backup %d (%s) into %s started at %s did not finish (the process was killed or its rollback failed), so the database may be incomplete; the data from before it is in pre-restore backup %d (%s): run `hmsbackup restore %d --force`, or restore another backup\n",
			m.BackupID, m.BackupFilename, m.Database, m.StartedAt.In(cfg.Location).Format(time.RFC3339), m.PreRestoreID, m.PreRestoreFilename, m.PreRestoreID)
	}
	return &app{cfg: cfg, catalog: cat, engine: eng, actor: osActor(), webhookURL: hookURL, notifier: notifier, keys: keys, remotes: provider}, nil
}

// notifier is where notifications go: the log, mail to the settings'
// notification_emails (read at each send, so a settings change applies
// at once), the webhook; and, for commands, the terminal.
func (c *cli) notifier(cfg config, cat backup.Catalog, hookURL func(context.Context) (string, error), logger *slog.Logger) *cliNotifier {
	origin := notify.Origin{Host: cfg.NotifyHost, Location: cfg.Location}
	d := &notify.Dispatcher{Channels: []notify.Channel{
		&notify.Log{Logger: logger},
		&notify.Mail{SMTP: cfg.SMTP, Recipients: settingsRecipients(cat), Origin: origin},
		&notify.Webhook{URL: hookURL, Origin: origin},
	}}
	return &cliNotifier{next: d, dispatcher: d, stderr: c.stderr, command: c.logger == nil}
}

// settingsRecipients reads the settings' notification_emails.
func settingsRecipients(cat backup.Catalog) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		s, err := cat.Settings(ctx)
		if err != nil {
			return nil, err
		}
		return s.NotificationEmails, nil
	}
}

// webhookURL is where the webhook's URL comes from, read at each send:
// HMSBACKUP_WEBHOOK_URL if set (the environment wins), else the settings'
// sealed webhook_url, opened with the secret key; "" means no webhook.
// Its errors never hold the URL.
func webhookURL(cfg config, cat backup.Catalog, keys *secret.Keyring) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if cfg.WebhookURL != "" {
			return cfg.WebhookURL, nil
		}
		s, err := cat.Settings(ctx)
		if err != nil {
			return "", err
		}
		if len(s.WebhookURLEnc) == 0 {
			return "", nil
		}
		u, err := keys.Open("webhook_url", s.WebhookURLEnc)
		if err != nil {
			return "", fmt.Errorf("the webhook_url setting cannot be opened with this secret key (HMSBACKUP_SECRET_KEY or secret.key in the data directory): %w", err)
		}
		return string(u), nil
	}
}

// cliNotifier passes notifications on, and for a command (not serve,
// which logs) shows on stderr what the command does not report as its
// own outcome: a failed off-site upload of a completed backup, and a
// notification that could not be sent.
type cliNotifier struct {
	next       backup.Notifier
	dispatcher *notify.Dispatcher
	stderr     io.Writer
	command    bool
	// retry, if set (serve), queues the channels that failed for another
	// try.
	retry func(ctx context.Context, note backup.Notification, channels []string)
}

func (n *cliNotifier) Notify(ctx context.Context, note backup.Notification) error {
	if n.command && note.Kind == backup.NotifyUploadFailed {
		fmt.Fprintln(n.stderr, "hmsbackup: warning: "+oneLine(note.Message))
	}
	err := n.next.Notify(ctx, note)
	if failed := notify.FailedChannels(err); len(failed) > 0 && n.retry != nil {
		if note.Time.IsZero() {
			note.Time = time.Now()
		}
		n.retry(ctx, note, failed)
	}
	if err != nil && n.command {
		fmt.Fprintf(n.stderr, "hmsbackup: warning: the %s notification could not be sent (recorded in the audit trail): %s\n", note.Kind, oneLine(err.Error()))
	}
	return err
}

// ensureSample creates the sample HMS database on a first run with no
// database configured, so a newcomer's first backup backs up something.
func (c *cli) ensureSample(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := dumpsqlite.CreateSampleDatabase(ctx, path); err != nil {
		return fmt.Errorf("create sample database: %w", err)
	}
	fmt.Fprintf(c.stderr, "hmsbackup: no database configured, so created a SAMPLE hospital database with fictional data at %s; set HMSBACKUP_DB_DRIVER and HMSBACKUP_DB_DSN to back up your real database\n", path)
	return nil
}

// osActor names the operating-system user running the CLI, for the audit.
func osActor() engine.Actor {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid%d", os.Getuid())
	}
	return engine.Actor{Name: "cli:" + name}
}
