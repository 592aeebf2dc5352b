// Package sqlite backs up and restores an SQLite database file, the HMS
// database when the product runs on its embedded default. Dump takes an
// online, consistent snapshot while other connections keep writing; Restore
// validates a snapshot and swaps it into place atomically.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/tempfile"
)

const (
	// busyTimeout is how long a statement waits for another connection's
	// lock before failing, so concurrent writers do not make a dump fail.
	busyTimeout = 30 * time.Second

	// copyBufferSize is the chunk size used to stream snapshots.
	copyBufferSize = 1 << 20

	// header is the first 16 bytes of every SQLite database file.
	header = "SQLite format 3\x00"

	// headerSize is the size of the SQLite database header.
	headerSize = 100
)

var _ backup.Dumper = (*Dumper)(nil)

// Dumper is a backup.Dumper for one SQLite database file. It is safe for
// concurrent use; callers lock the source (Info().Key) so that a restore
// never runs while another dump or restore of the same file does.
type Dumper struct {
	path    string // absolute path of the database file
	tempDir string // absolute directory where Dump stages snapshots
}

// New returns a Dumper for the SQLite database file at path. Dump stages
// its snapshots in tempDir (created if missing; os.TempDir() if empty),
// which should be on the same file system as the data directory. Restore
// stages its file next to the database instead, so that its final rename
// is atomic.
func New(path, tempDir string) *Dumper {
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	return &Dumper{path: absPath(path), tempDir: absPath(tempDir)}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// Info describes the database file: engine and format "sqlite", the file's
// base name without extension as the database, and "sqlite:" followed by
// its absolute path as the key.
func (d *Dumper) Info() backup.SourceInfo {
	base := filepath.Base(d.path)
	return backup.SourceInfo{
		Engine:   "sqlite",
		Database: strings.TrimSuffix(base, filepath.Ext(base)),
		Format:   "sqlite",
		Key:      "sqlite:" + d.path,
	}
}

// Ping checks that the file exists and opens as an SQLite database. It
// returns EUNAVAILABLE, naming the path, if not. It never creates the file.
func (d *Dumper) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return cancelled("checking", d.path, err)
	}
	if err := d.checkExists(); err != nil {
		return err
	}
	db, err := openDB(d.path, "rw")
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot open the SQLite database %s", d.path)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		if ctx.Err() != nil {
			return cancelled("checking", d.path, ctx.Err())
		}
		if isNotADatabase(err) {
			return backup.Wrap(err, backup.EUNAVAILABLE, "%s is not a readable SQLite database", d.path)
		}
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot open the SQLite database %s", d.path)
	}
	return nil
}

// checkExists returns EUNAVAILABLE unless d.path is an existing regular
// file. SQLite would otherwise silently create an empty database.
func (d *Dumper) checkExists() error {
	fi, err := os.Stat(d.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return backup.Errorf(backup.EUNAVAILABLE, "the SQLite database %s does not exist: check the configured database path", d.path)
	case err != nil:
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot access the SQLite database %s", d.path)
	case !fi.Mode().IsRegular():
		return backup.Errorf(backup.EUNAVAILABLE, "%s is not a regular file, so it cannot be an SQLite database", d.path)
	}
	return nil
}

// Dump writes to w a complete SQLite database file holding a consistent
// snapshot of the database, taken in one read transaction while other
// connections and processes keep reading and writing. In WAL mode writers
// are never blocked; in rollback-journal mode they wait while the snapshot
// is read, and Dump waits up to a busy timeout for their locks rather than
// failing. The snapshot passes PRAGMA quick_check before a byte is written
// to w; otherwise Dump returns ECORRUPT. It returns EUNAVAILABLE if the
// file does not exist (it never creates it) or cannot be opened, ECORRUPT
// if it is not an SQLite database, and an error wrapping ctx.Err() if ctx
// ends first. The snapshot staged in the temp directory is always removed.
func (d *Dumper) Dump(ctx context.Context, w io.Writer) error {
	if err := ctx.Err(); err != nil {
		return cancelled("dumping", d.path, err)
	}
	if err := d.checkExists(); err != nil {
		return err
	}
	if err := os.MkdirAll(d.tempDir, 0o700); err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot create the snapshot directory %s", d.tempDir)
	}
	f, err := tempfile.Create(d.tempDir, "sqlite", ".snapshot") // named with our pid, for clean-up after a crash
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot create a snapshot file in %s", d.tempDir)
	}
	snap := f.Name()
	defer removeDBFiles(snap)
	if err := f.Close(); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot create a snapshot file in %s", d.tempDir)
	}

	if err := d.vacuumInto(ctx, snap); err != nil {
		return err
	}
	if err := checkSnapshot(ctx, snap, d.path); err != nil {
		return err
	}

	f, err = os.Open(snap)
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot read the snapshot of %s", d.path)
	}
	defer f.Close()
	if err := copyCtx(ctx, w, f); err != nil {
		var ce *copyError
		switch {
		case ctx.Err() != nil:
			return cancelled("dumping", d.path, ctx.Err())
		case errors.As(err, &ce) && ce.write:
			return wrapKeepCode(ce.err, backup.EINTERNAL, "cannot write the snapshot of %s", d.path)
		default:
			return backup.Wrap(err, backup.EINTERNAL, "cannot read the snapshot of %s", d.path)
		}
	}
	return nil
}

// vacuumInto writes a consistent copy of the database to snap, an empty
// file, in one read transaction.
func (d *Dumper) vacuumInto(ctx context.Context, snap string) error {
	db, err := openDB(d.path, "rw")
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot open the SQLite database %s", d.path)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", snap); err != nil {
		if ctx.Err() != nil {
			return cancelled("dumping", d.path, ctx.Err())
		}
		if isFull(err) {
			return backup.Wrap(backup.Relabel(err, "SQLITE_FULL"), backup.EUNAVAILABLE,
				"cannot take a snapshot of %s: the disk is full: the snapshot, a whole copy of the database, is staged in %s; free space on that disk (delete old backups or other files), then try again",
				d.path, d.tempDir)
		}
		return classify(err, d.path, "cannot take a snapshot of")
	}
	return nil
}

// checkSnapshot returns ECORRUPT unless the snapshot at snap passes PRAGMA
// quick_check.
func checkSnapshot(ctx context.Context, snap, source string) error {
	db, err := openDB(snap, "ro")
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot open the snapshot of %s", source)
	}
	defer db.Close()
	problems, err := check(ctx, db, "quick_check")
	if err != nil {
		if ctx.Err() != nil {
			return cancelled("dumping", source, ctx.Err())
		}
		return backup.Wrap(err, backup.ECORRUPT, "the snapshot of %s cannot be checked; the source database may be damaged", source)
	}
	if len(problems) > 0 {
		return backup.Errorf(backup.ECORRUPT, "the snapshot of %s failed PRAGMA quick_check, so the source database may be damaged: %s", source, strings.Join(problems, "; "))
	}
	return nil
}

// Restore replaces the database file with the SQLite database read from r.
// Afterwards the file holds exactly the dump's schema and rows, and keeps
// its journal mode (WAL or rollback), permissions and, where allowed, owner.
//
// The dump is staged next to the database, fsynced and validated (SQLite
// header, size and PRAGMA integrity_check) before the live file is
// touched; if it is not a sound SQLite database Restore returns ECORRUPT.
// It then checkpoints the live database's WAL, renames the staged file over
// it, removes the old database's -wal, -shm and -journal files and fsyncs
// the directory. Restore returns EBUSY if another connection keeps the WAL
// from being checkpointed. On any error before the rename the staged file is
// removed and the database is untouched.
//
// Connections other processes keep open go on seeing the old file: stop
// the HMS application before restoring.
func (d *Dumper) Restore(ctx context.Context, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return cancelled("restoring", d.path, err)
	}
	dir := filepath.Dir(d.path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot restore %s: its directory %s is not usable", d.path, dir)
	}
	live, err := os.Stat(d.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		live = nil
	case err != nil:
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot access the SQLite database %s", d.path)
	case !live.Mode().IsRegular():
		return backup.Errorf(backup.EINVALID, "cannot restore into %s: it is not a regular file", d.path)
	}

	f, err := os.CreateTemp(dir, "."+filepath.Base(d.path)+".hmsbackup-restore-*")
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot create a temporary file in %s", dir)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			removeDBFiles(tmp)
		}
	}()

	if err := receive(ctx, f, r, d.path); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot write the restored copy of %s", d.path)
	}
	if err := validate(ctx, tmp, d.path); err != nil {
		return err
	}
	if live != nil {
		if err := d.matchLive(ctx, tmp, live); err != nil {
			return err
		}
	}
	if err := syncFile(tmp); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot flush the restored copy of %s to disk", d.path)
	}
	if live != nil {
		if err := d.checkpoint(ctx); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return cancelled("restoring", d.path, err)
	}

	if err := os.Rename(tmp, d.path); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot replace %s with the restored copy", d.path)
	}
	renamed = true
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(d.path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return backup.Wrap(err, backup.EINTERNAL, "restored %s but cannot remove the old database's %s: delete it before starting the HMS application", d.path, d.path+suffix)
		}
	}
	if err := syncDir(dir); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "restored %s but cannot flush its directory to disk", d.path)
	}
	return nil
}

// receive copies r into f and fsyncs f.
func receive(ctx context.Context, f *os.File, r io.Reader, target string) error {
	if err := copyCtx(ctx, f, r); err != nil {
		var ce *copyError
		switch {
		case ctx.Err() != nil:
			return cancelled("restoring", target, ctx.Err())
		case errors.As(err, &ce) && ce.write && (errors.Is(ce.err, syscall.ENOSPC) || errors.Is(ce.err, syscall.EDQUOT)):
			return backup.Wrap(ce.err, backup.EUNAVAILABLE,
				"cannot write the restored copy of %s next to it: the disk is full, and %s was left unchanged; free space on the disk holding %s, then try again",
				target, target, filepath.Dir(target))
		case errors.As(err, &ce) && ce.write:
			return backup.Wrap(ce.err, backup.EINTERNAL, "cannot write the restored copy of %s (is the disk full?)", target)
		default:
			return wrapKeepCode(err, backup.ECORRUPT, "cannot read the dump to restore into %s", target)
		}
	}
	if err := f.Sync(); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot flush the restored copy of %s to disk", target)
	}
	return nil
}

// validate returns ECORRUPT unless the file at p is a complete SQLite
// database that passes PRAGMA integrity_check.
func validate(ctx context.Context, p, target string) error {
	if err := checkHeader(p); err != nil {
		return backup.Wrap(err, backup.ECORRUPT, "the dump is not a valid SQLite database, so %s was left unchanged", target)
	}
	db, err := openDB(p, "rw")
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot open the restored copy of %s", target)
	}
	defer db.Close()
	problems, err := check(ctx, db, "integrity_check")
	if err != nil {
		if ctx.Err() != nil {
			return cancelled("restoring", target, ctx.Err())
		}
		return backup.Wrap(err, backup.ECORRUPT, "the dump is not a valid SQLite database, so %s was left unchanged", target)
	}
	if len(problems) > 0 {
		return backup.Errorf(backup.ECORRUPT, "the dump failed PRAGMA integrity_check, so %s was left unchanged: %s", target, strings.Join(problems, "; "))
	}
	return nil
}

// checkHeader reports whether the file at p starts with a plausible SQLite
// header and is at least as long as the header says.
func checkHeader(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return errors.New("the dump is empty")
	}
	h := make([]byte, headerSize)
	if _, err := io.ReadFull(f, h); err != nil {
		return fmt.Errorf("the dump is %d bytes, shorter than an SQLite header", fi.Size())
	}
	if string(h[:len(header)]) != header {
		return errors.New(`the dump does not start with "SQLite format 3"`)
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("the dump's header has an invalid page size %d", pageSize)
	}
	// The in-header page count is valid when the "version-valid-for" number
	// matches the change counter.
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	if binary.BigEndian.Uint32(h[92:96]) == binary.BigEndian.Uint32(h[24:28]) && fi.Size() < pages*pageSize {
		return fmt.Errorf("the dump is truncated: its header promises %d bytes, it has %d", pages*pageSize, fi.Size())
	}
	return nil
}

// matchLive gives the staged file at tmp the live database's permissions,
// owner (where allowed) and journal mode (WAL or rollback).
func (d *Dumper) matchLive(ctx context.Context, tmp string, live fs.FileInfo) error {
	if err := os.Chmod(tmp, live.Mode().Perm()); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot set the permissions of the restored copy of %s", d.path)
	}
	if err := copyOwner(tmp, live); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot set the owner of the restored copy of %s", d.path)
	}
	liveWAL, err := isWAL(d.path)
	if err != nil {
		return nil // a damaged live file has no journal mode worth keeping
	}
	dumpWAL, err := isWAL(tmp)
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot read the restored copy of %s", d.path)
	}
	if liveWAL == dumpWAL {
		return nil
	}
	want := "delete"
	if liveWAL {
		want = "wal"
	}
	var mode string
	db, err := openDB(tmp, "rw")
	if err == nil {
		err = db.QueryRowContext(ctx, "PRAGMA journal_mode = "+want).Scan(&mode)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && !strings.EqualFold(mode, want) {
		err = fmt.Errorf("journal mode is %q", mode)
	}
	if err != nil {
		if ctx.Err() != nil {
			return cancelled("restoring", d.path, ctx.Err())
		}
		return backup.Wrap(err, backup.EINTERNAL, "cannot switch the restored copy of %s to %s journal mode", d.path, want)
	}
	return nil
}

// isWAL reports whether the SQLite database file at p is in WAL mode. It
// fails if p does not start with an SQLite header.
func isWAL(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := make([]byte, 20)
	if _, err := io.ReadFull(f, h); err != nil {
		return false, err
	}
	if string(h[:len(header)]) != header {
		return false, errors.New("not an SQLite database")
	}
	return h[18] == 2 && h[19] == 2, nil
}

// checkpoint moves the live database's WAL into the database file and
// truncates it, and rolls back a hot rollback journal, so that nothing of
// the old database is pending when the file is replaced. Failures other
// than a busy database are ignored: the database is being replaced, often
// because it is damaged.
func (d *Dumper) checkpoint(ctx context.Context) error {
	db, err := openDB(d.path, "rw")
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot open the SQLite database %s", d.path)
	}
	defer db.Close()
	var n, busy, logFrames, done int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n)
	if err == nil {
		err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
	}
	switch {
	case ctx.Err() != nil:
		return cancelled("restoring", d.path, ctx.Err())
	case err == nil && busy != 0, isBusy(err):
		return backup.Errorf(backup.EBUSY, "another connection kept %s busy for %s, so its WAL could not be checkpointed: stop the HMS application and retry the restore", d.path, busyTimeout)
	}
	return nil
}

// check runs PRAGMA name (quick_check or integrity_check) and returns the
// problems it reports; none means the database is sound.
func check(ctx context.Context, db *sql.DB, name string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "PRAGMA "+name+"(20)")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	return problems, rows.Err()
}

// openDB returns a single-connection handle on the database file at p,
// opened with the URI mode (ro, rw; never rwc, so a missing file is never
// created) and the busy timeout. It does not connect yet.
func openDB(p, mode string) (*sql.DB, error) {
	u := url.URL{Path: filepath.ToSlash(p)}
	dsn := "file:" + u.EscapedPath() + "?mode=" + mode +
		fmt.Sprintf("&_pragma=busy_timeout(%d)", busyTimeout.Milliseconds())
	c, err := sqlitedriver.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	return db, nil
}

// classify turns an SQLite error about the database at p into a
// backup.Error whose message starts with "<what> <p>".
func classify(err error, p, what string) error {
	var e *sqlitedriver.Error
	if !errors.As(err, &e) {
		return backup.Wrap(err, backup.EINTERNAL, "%s %s", what, p)
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return backup.Wrap(err, backup.ECORRUPT, "%s %s: it is damaged or not an SQLite database", what, p)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return backup.Wrap(err, backup.EBUSY, "%s %s: another connection kept it locked for %s", what, p, busyTimeout)
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY:
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s %s", what, p)
	case sqlite3.SQLITE_FULL:
		return backup.Wrap(backup.Relabel(err, "SQLITE_FULL"), backup.EUNAVAILABLE, "%s %s: the disk is full; free space, then try again", what, p)
	}
	return backup.Wrap(err, backup.EINTERNAL, "%s %s", what, p)
}

func isFull(err error) bool {
	var e *sqlitedriver.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
}

func isNotADatabase(err error) bool {
	var e *sqlitedriver.Error
	return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_NOTADB || e.Code()&0xff == sqlite3.SQLITE_CORRUPT)
}

func isBusy(err error) bool {
	var e *sqlitedriver.Error
	return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// cancelled returns an error that wraps err (context.Canceled or
// context.DeadlineExceeded), so errors.Is finds it.
func cancelled(doing, p string, err error) error {
	return fmt.Errorf("stopped %s the SQLite database %s: %w", doing, p, err)
}

// wrapKeepCode wraps err like backup.Wrap, keeping err's own code if it
// already carries one (for example from a decompressor).
func wrapKeepCode(err error, code, format string, args ...any) error {
	var be *backup.Error
	if errors.As(err, &be) {
		code = be.Code
	}
	return backup.Wrap(err, code, format, args...)
}

// removeDBFiles removes the database file p and any journal files SQLite
// may have left next to it.
func removeDBFiles(p string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(p + suffix)
	}
}

// syncFile fsyncs the file at p.
func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copyError records which side of a copy failed.
type copyError struct {
	write bool
	err   error
}

func (e *copyError) Error() string { return e.err.Error() }
func (e *copyError) Unwrap() error { return e.err }

// copyCtx copies src to dst in large chunks until EOF, stopping early when
// ctx ends. Failures are *copyError.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) error {
	buf := make([]byte, copyBufferSize)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return &copyError{write: true, err: werr}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return &copyError{err: rerr}
		}
	}
}
