package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// cli holds the process's streams and environment for the subcommands.
type cli struct {
	getenv     func(string) string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	isTerminal func(any) bool
	// stderrIsTerminal is decided before stderr is wrapped for progress bars.
	stderrIsTerminal bool
	// logger, if set (serve), gets the engine's log lines; commands print
	// their own outcome instead.
	logger *slog.Logger
	// now is the clock (time.Now if nil): schedule show's "next runs" start from it.
	now func() time.Time
}

func (c *cli) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

func (c *cli) execute(ctx context.Context, args []string) error {
	c.stderrIsTerminal = c.isTerminal(c.stderr)
	c.stderr = &lockedWriter{w: c.stderr}
	root := &cobra.Command{
		Use:           "hmsbackup",
		Short:         "Back up and restore the hospital management system's database",
		SilenceUsage:  true,
		SilenceErrors: true,
		Long: `hmsbackup takes, verifies and restores backups of the HMS database.

Environment:
  HMSBACKUP_DATA_DIR     catalog and local backups (default ./data)
  HMSBACKUP_DB_DRIVER    sqlite (default) or mysql
  HMSBACKUP_DB_DSN       SQLite file path (default $HMSBACKUP_DATA_DIR/hms.db), or a
                         MySQL DSN such as user:pass@tcp(127.0.0.1:3306)/hms
  HMSBACKUP_COMPRESSION  gzip (default) or zstd
  HMSBACKUP_TIMEZONE     time zone of file names, and of schedules unless the timezone
                         setting names one (default: the server's)
  HMSBACKUP_SECRET_KEY   base64 of 32 bytes sealing secret settings (default: the key in
                         $HMSBACKUP_DATA_DIR/secret.key, made when first needed)
  HMSBACKUP_LOCK_WAIT    how long to wait for a running backup/restore (default 0: refuse)
  HMSBACKUP_MYSQLDUMP    dump tool (default mariadb-dump, else mysqldump)
  HMSBACKUP_MYSQL        client used to restore (default mariadb, else mysql)
  HMSBACKUP_SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _FROM, _TLS (starttls, tls, none)
                         mail notifications to the settings' notification_emails
  HMSBACKUP_WEBHOOK_URL  a Slack/Mattermost-compatible webhook for the same events
  HMSBACKUP_NOTIFY_HOST  the host name notifications give (default: the system's)`,
	}
	root.SetArgs(args)
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return backup.Wrap(err, backup.EINVALID, "bad usage (see hmsbackup --help)")
	})
	root.AddCommand(
		c.createCommand(),
		c.listCommand(),
		c.showCommand(),
		c.restoreCommand(),
		c.verifyCommand(),
		c.deleteCommand(),
		c.cleanupCommand(),
		c.downloadCommand(),
		c.protectCommand(true),
		c.protectCommand(false),
		c.auditCommand(),
		c.checkCommand(),
		c.syncCommand(),
		c.gdriveCommand(),
		c.remoteCommand(),
		c.settingsCommand(),
		c.scheduleCommand(),
		c.serveCommand(),
		c.statusCommand(),
		c.notifyCommand(),
		c.userCommand(),
		c.roleCommand(),
		c.tokenCommand(),
	)
	return root.ExecuteContext(ctx)
}

// withApp opens the app for one command and closes it afterwards.
func (c *cli) withApp(ctx context.Context, fn func(*app) error) error {
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, backup.Errorf(backup.EINVALID, "%q is not a backup ID: use the number shown by hmsbackup list", s)
	}
	return id, nil
}

// exitCode maps error codes to the process's exit status (see README).
func exitCode(err error) int {
	var broken *brokenReferencesError
	if errors.As(err, &broken) {
		return 7
	}
	var stale *staleBackupsError
	if errors.As(err, &stale) {
		return 1
	}
	switch backup.ErrorCode(err) {
	case backup.EINVALID:
		return 2
	case backup.ENOTFOUND:
		return 3
	case backup.EBUSY:
		return 4
	case backup.ECORRUPT:
		return 5
	case backup.EUNAVAILABLE:
		return 6
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return 1
}

// oneLine folds a multi-line message (a tool's stderr) into one line.
func oneLine(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, " | ")
}
