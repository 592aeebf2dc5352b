// Package mysql is the backup.Dumper for MySQL and MariaDB: it dumps with
// mysqldump (or mariadb-dump) and restores with the mysql (or mariadb)
// client. Credentials reach the tools through a 0600 option file made for
// each run and removed afterwards, never through argv or the environment.
package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/replay"
)

var _ backup.Dumper = (*Dumper)(nil)

// unavailableHint ends every EUNAVAILABLE message: what an operator should
// check.
const unavailableHint = "check HMSBACKUP_DB_DSN, that the server is running, and the user, password and privileges"

// installHint says how to get the command-line tools.
const installHint = "install the MariaDB/MySQL client tools (apt-get install mariadb-client)"

// defaultDialTimeout bounds connecting when the DSN sets no timeout.
const defaultDialTimeout = 10 * time.Second

// Config configures a Dumper. The zero values of the optional fields pick
// sensible defaults.
type Config struct {
	// DSN is a go-sql-driver DSN naming the database to back up, over TCP or
	// a unix socket: "user:pass@tcp(127.0.0.1:3306)/hms",
	// "user@unix(/run/mysqld/mysqld.sock)/hms". Its tls parameter may be
	// "true", "skip-verify", "preferred" or "false".
	DSN string
	// TempDir is where each run's credentials file is made; default
	// os.TempDir().
	TempDir string
	// DumpCommand is the dump tool; default mariadb-dump if it is on PATH,
	// otherwise mysqldump.
	DumpCommand string
	// ClientCommand is the client that restores; default mariadb if it is on
	// PATH, otherwise mysql.
	ClientCommand string
	// RestoreMethod is how Restore runs a dump: MethodReplay (the default)
	// or MethodClient.
	RestoreMethod string
	// Replay tunes the replayer (MethodReplay).
	Replay replay.Options
	// Logger is told when a restore falls back from the replayer to the
	// client, and why; default: discarded.
	Logger *slog.Logger
	// LockTimeout bounds how long a restore waits for other sessions to
	// let go of the tables before it changes anything; then it gives up,
	// naming them, with the database untouched. Zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

// DefaultLockTimeout is Config.LockTimeout's default.
const DefaultLockTimeout = time.Minute

// String describes c with the DSN's password replaced by "xxxxx".
func (c Config) String() string {
	return fmt.Sprintf("mysql.Config{DSN: %s, TempDir: %q, DumpCommand: %q, ClientCommand: %q, RestoreMethod: %q, Replay: %+v, LockTimeout: %v}",
		redactDSN(c.DSN), c.TempDir, c.DumpCommand, c.ClientCommand, c.RestoreMethod, c.Replay, c.LockTimeout)
}

// GoString is String, so %#v does not print the password either.
func (c Config) GoString() string { return c.String() }

// redactDSN returns dsn with its password hidden, or a placeholder if dsn
// does not parse (then the password's position is unknown).
func redactDSN(dsn string) string {
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		return "(invalid DSN, hidden)"
	}
	if cfg.Passwd != "" {
		cfg.Passwd = "xxxxx"
	}
	return cfg.FormatDSN()
}

// Dumper backs up and restores one MySQL/MariaDB database with the
// command-line tools. It is safe for concurrent use; each call runs its own
// processes with its own credentials file.
type Dumper struct {
	conn      *mysqldrv.Config // parsed DSN; holds the password
	db        string
	addr      string // host:port or socket path, for messages and Key
	tempDir   string
	dumpCmd   string
	clientCmd string
	lockWait  time.Duration
	method    string
	replay    replay.Options
	logger    *slog.Logger

	historyMu    sync.Mutex
	historyKnown bool // the dump tool was asked
	history      bool // the dump tool has --dump-history
}

// New checks cfg and returns a Dumper. It does no network I/O. Returns
// EINVALID if the DSN does not parse, names no database, or uses a network
// or TLS setting the command-line tools cannot be given.
func New(cfg Config) (*Dumper, error) {
	conn, err := mysqldrv.ParseDSN(cfg.DSN)
	if err != nil {
		const msg = "invalid MySQL DSN in HMSBACKUP_DB_DSN (want user:pass@tcp(host:3306)/dbname)"
		if strings.ContainsAny(err.Error(), `"'`) {
			// The driver quotes a piece of the DSN, which in a malformed
			// DSN may be part of the password: leave it out.
			return nil, backup.Errorf(backup.EINVALID, "%s", msg)
		}
		return nil, backup.Wrap(err, backup.EINVALID, "%s", msg)
	}
	if conn.DBName == "" {
		return nil, backup.Errorf(backup.EINVALID, "the MySQL DSN names no database: put it after the slash, as in user:pass@tcp(host:3306)/hms")
	}
	switch conn.Net {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, backup.Errorf(backup.EINVALID, "the MySQL DSN uses network %q: use tcp(host:port) or unix(/path/to/socket)", conn.Net)
	}
	switch conn.TLSConfig {
	case "", "false", "preferred", "true", "skip-verify":
	default:
		return nil, backup.Errorf(backup.EINVALID, "the MySQL DSN uses tls=%s, a TLS configuration the dump tools cannot be given: use tls=true or tls=skip-verify", conn.TLSConfig)
	}
	for _, f := range []struct{ name, value string }{
		{"user name", conn.User}, {"password", conn.Passwd}, {"address", conn.Addr},
	} {
		if err := checkOptionValue(f.value); err != nil {
			return nil, backup.Wrap(err, backup.EINVALID, "the MySQL DSN's %s cannot be passed to the dump tools", f.name)
		}
	}
	if conn.Timeout == 0 {
		conn.Timeout = defaultDialTimeout
	}

	d := &Dumper{
		conn:      conn,
		db:        conn.DBName,
		addr:      conn.Addr,
		tempDir:   cfg.TempDir,
		dumpCmd:   cfg.DumpCommand,
		clientCmd: cfg.ClientCommand,
		lockWait:  cmp.Or(cfg.LockTimeout, DefaultLockTimeout),
		method:    cmp.Or(cfg.RestoreMethod, MethodReplay),
		replay:    cfg.Replay,
		logger:    cfg.Logger,
	}
	if d.method != MethodReplay && d.method != MethodClient {
		return nil, backup.Errorf(backup.EINVALID, "unknown restore method %q: use %s or %s", cfg.RestoreMethod, MethodReplay, MethodClient)
	}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LockTimeout < 0 {
		return nil, backup.Errorf(backup.EINVALID, "the restore lock timeout %v is negative", cfg.LockTimeout)
	}
	if d.tempDir == "" {
		d.tempDir = os.TempDir()
	}
	if d.dumpCmd == "" {
		d.dumpCmd = firstOnPath("mariadb-dump", "mysqldump")
	}
	if d.clientCmd == "" {
		d.clientCmd = firstOnPath("mariadb", "mysql")
	}
	return d, nil
}

// firstOnPath returns the first of names found on PATH, or the first name
// (so a later run fails with a clear "not found").
func firstOnPath(names ...string) string {
	for _, n := range names {
		if _, err := exec.LookPath(n); err == nil {
			return n
		}
	}
	return names[0]
}

// String names the source without credentials.
func (d *Dumper) String() string { return "mysql dumper for " + d.Info().Key }

// GoString is String, so %#v does not print the password.
func (d *Dumper) GoString() string { return d.String() }

// Info describes the database. Key is "mysql:" + address + "/" + database,
// for example "mysql:127.0.0.1:3306/hms"; it holds no user or password.
func (d *Dumper) Info() backup.SourceInfo {
	return backup.SourceInfo{
		Engine:   "mysql",
		Database: d.db,
		Format:   "sql",
		Key:      "mysql:" + d.addr + "/" + d.db,
	}
}

// Ping connects with the configured credentials and runs SELECT 1. Returns
// EUNAVAILABLE, saying what to check, if that fails.
func (d *Dumper) Ping(ctx context.Context) error {
	db, err := d.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return d.unavailable(err)
	}
	return nil
}

// openDB opens a pool for the configured DSN. It does not connect yet.
func (d *Dumper) openDB() (*sql.DB, error) {
	return d.openDBIn(d.db)
}

// openDBIn is openDB with database db as the connections' default ("" for
// none: such sessions do not show as using the database).
func (d *Dumper) openDBIn(db string) (*sql.DB, error) {
	cfg := d.conn.Clone()
	cfg.DBName = db
	connector, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "invalid MySQL connection settings")
	}
	return sql.OpenDB(connector), nil
}

// unavailable wraps a connection failure as EUNAVAILABLE.
func (d *Dumper) unavailable(err error) error {
	return backup.Wrap(err, backup.EUNAVAILABLE, "cannot use MySQL database %q at %s; %s", d.db, d.addr, unavailableHint)
}

// redact hides the password in text that came from a tool. The tools do not
// print it, but their messages are shown to people and stored.
func (d *Dumper) redact(s string) string {
	if len(d.conn.Passwd) >= 4 {
		s = strings.ReplaceAll(s, d.conn.Passwd, "xxxxx")
	}
	return s
}

// hostPort splits a TCP address for the option file.
func hostPort(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", backup.Wrap(err, backup.EINVALID, "invalid MySQL address %q in the DSN", addr)
	}
	return host, port, nil
}
