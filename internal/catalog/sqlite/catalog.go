// Package sqlite is hmsbackup's catalog on a SQLite file (modernc.org/sqlite,
// pure Go). Several processes, such as the CLI and the server, may use the
// same catalog file at once.
package sqlite

import (
	"log/slog"

	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ backup.Catalog = (*Catalog)(nil)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeout is how long a statement waits for another connection or
// process to release the database before it fails.
const busyTimeout = 10 * time.Second

// Catalog is a backup.Catalog on one SQLite file. It is safe for concurrent
// use by several goroutines, and by several processes that open the same
// file.
//
// A full disk does not leave a backup pending: the catalog keeps a reserve
// of room on its disk (the file PATH.reserve next to the catalog at PATH),
// which a write that fails for want of space gives up to be made after
// all, and it records a pending backup only while it has that reserve. A
// full or failing disk is EUNAVAILABLE, with a message saying so.
type Catalog struct {
	db   *sql.DB
	path string

	// Now returns the current time; it stamps CreatedAt and UpdatedAt. It
	// defaults to time.Now. Set it, if at all, before the Catalog is used.
	Now func() time.Time
}

// Open opens the catalog at path, creating the file (mode 0600) and its
// parent directory (mode 0700) if they do not exist, and brings its schema
// up to date. It returns an error if the file's schema is newer than this
// binary knows, or if the file is not a catalog it can read.
func Open(ctx context.Context, path string) (*Catalog, error) {
	if path == "" {
		return nil, backup.Errorf(backup.EINVALID, "catalog path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "resolve catalog path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, backup.Wrap(err, backup.EINTERNAL, "create catalog directory %s", filepath.Dir(abs))
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, backup.Wrap(err, backup.EINTERNAL, "create catalog file %s", abs)
	}
	if err := f.Close(); err != nil {
		return nil, backup.Wrap(err, backup.EINTERNAL, "create catalog file %s", abs)
	}

	db, err := sql.Open("sqlite", DSN(abs))
	if err != nil {
		return nil, backup.Wrap(err, backup.EINTERNAL, "open catalog %s", abs)
	}
	c := &Catalog{db: db, path: abs}
	if err := c.write(func() error { return c.connect(ctx) }); err != nil {
		db.Close()
		return nil, c.wrap(err, "open catalog %s", abs)
	}
	if err := c.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Without room for it, the catalog still reads and writes; only
	// CreateBackup of a pending backup needs it (and says so).
	_ = c.keepReserve("open catalog " + abs)
	return c, nil
}

// DSN returns the data source name of the catalog file at abs that gives
// every pooled connection the same settings: WAL (readers never block the
// writer), a busy timeout (a writer waits for another instead of failing),
// foreign keys, and write transactions that take the write lock when they
// begin. Other pools on the file (the job queue's) use it too.
func DSN(abs string) string {
	u := url.URL{Path: filepath.ToSlash(abs)}
	q := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)",
		"_txlock=immediate",
	}
	return "file:" + u.EscapedPath() + "?" + strings.Join(q, "&")
}

// connect makes the first connection, retrying while it fails with
// SQLITE_BUSY for up to busyTimeout. SQLite does not wait on its busy
// handler everywhere: a connection that switches a new file to WAL while
// another process does the same can fail at once.
func (c *Catalog) connect(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	wait := time.Millisecond
	for {
		err := c.db.PingContext(ctx)
		if err == nil || sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// Close closes the catalog's connections.
func (c *Catalog) Close() error {
	if err := c.db.Close(); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "close catalog %s", c.path)
	}
	return nil
}

// now returns the current time in UTC without a monotonic reading, so that
// it equals what is read back.
func (c *Catalog) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. Their names
// are NNNN_description.sql with versions 1, 2, 3, ... and no gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := filepath.Base(name)
		num, _, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name is not NNNN_description.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_description.sql", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations the file lacks, in one write transaction,
// so that two processes opening a new catalog at once apply each exactly
// once.
func (c *Catalog) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "read embedded catalog migrations")
	}
	return c.write(func() error { return c.applyMigrations(ctx, ms) })
}

// applyMigrations applies, in one write transaction, those of ms the file
// lacks.
func (c *Catalog) applyMigrations(ctx context.Context, ms []migration) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.wrap(err, "migrate catalog %s", c.path)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return c.wrap(err, "migrate catalog %s: create schema_migrations", c.path)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return c.wrap(err, "migrate catalog %s: read schema version", c.path)
	}
	if current > len(ms) {
		return backup.Errorf(backup.EINVALID,
			"catalog %s has schema version %d but this hmsbackup knows only up to %d: upgrade hmsbackup or use another catalog",
			c.path, current, len(ms))
	}
	now := formatTime(c.now())
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return c.wrap(err, "migrate catalog %s: apply %s", c.path, m.name)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, now); err != nil {
			return c.wrap(err, "migrate catalog %s: record %s", c.path, m.name)
		}
	}
	// The job queue's tables (River's) live in the catalog file too, and
	// come up to date in the same transaction.
	migrator, err := rivermigrate.New(riversqlite.New(c.db), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "migrate catalog %s: job queue tables", c.path)
	}
	if _, err := migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		return c.wrap(err, "migrate catalog %s: job queue tables", c.path)
	}
	if err := tx.Commit(); err != nil {
		return c.wrap(err, "migrate catalog %s: commit", c.path)
	}
	return nil
}

// timeFormat is RFC 3339 with a fixed nine-digit fraction: in UTC its text
// sorts as the times do.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime returns t as stored: UTC, timeFormat.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeFormat)
}

// checkTime returns EINVALID if t cannot be stored as sortable text.
func checkTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return backup.Errorf(backup.EINVALID, "%s %s is outside years 0-9999", field, t)
	}
	return nil
}

// parseTime reads a stored time back, in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// wrap returns err as a *backup.Error whose code says what went wrong:
// EUNAVAILABLE when the catalog's disk is full or failing (see diskError)
// or the database stayed locked, ECONFLICT for a unique constraint,
// EINVALID for other constraints, EINTERNAL otherwise. An err that already
// is a *backup.Error keeps its code.
func (c *Catalog) wrap(err error, format string, args ...any) error {
	var be *backup.Error
	if errors.As(err, &be) {
		return backup.Wrap(err, be.Code, format, args...)
	}
	if derr := c.diskError(err, fmt.Sprintf(format, args...)); derr != nil {
		return derr
	}
	code := backup.EINTERNAL
	switch rc := sqliteCode(err); {
	case rc == sqlite3.SQLITE_CONSTRAINT_UNIQUE, rc == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		code = backup.ECONFLICT
	case rc == sqlite3.SQLITE_CONSTRAINT_CHECK, rc == sqlite3.SQLITE_CONSTRAINT_NOTNULL,
		rc == sqlite3.SQLITE_CONSTRAINT_DATATYPE:
		code = backup.EINVALID
	case rc&0xff == sqlite3.SQLITE_BUSY, rc&0xff == sqlite3.SQLITE_LOCKED:
		code = backup.EUNAVAILABLE
	}
	return backup.Wrap(err, code, format, args...)
}

// sqliteCode returns the extended SQLite result code in err's chain, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}
