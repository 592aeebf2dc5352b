package sqlite

import (
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	sqlite3 "modernc.org/sqlite/lib"
)

// nearlyFull is the free space below which an SQLite I/O error is taken
// for a full disk. SQLite reports some writes that fail with ENOSPC as I/O
// errors, not as SQLITE_FULL: growing the -shm file of a WAL database, for
// one, fails with SQLITE_IOERR_SHMSIZE.
const nearlyFull = 1 << 20

// diskError returns, for an err of SQLite that says the catalog's disk is
// full (SQLITE_FULL, or an I/O error while the disk is nearly full) or
// failing (any other I/O error), an EUNAVAILABLE error whose message starts
// with doing and says what happened and what to do; SQLite's own text
// ("database or disk is full (13)") gives way to the result code's name,
// but err stays wrapped. For other errors it returns nil.
func (c *Catalog) diskError(err error, doing string) error {
	rc := sqliteCode(err)
	if rc&0xff != sqlite3.SQLITE_FULL && rc&0xff != sqlite3.SQLITE_IOERR {
		return nil
	}
	dir := filepath.Dir(c.path)
	cause := backup.Relabel(err, codeName(rc))
	if c.outOfRoom(err) {
		return backup.Wrap(cause, backup.EUNAVAILABLE,
			"%s: the catalog %s cannot be written: the disk is full; free space on the disk holding %s (delete old backups or other files), then try again",
			doing, c.path, dir)
	}
	return backup.Wrap(cause, backup.EUNAVAILABLE,
		"%s: the catalog %s cannot be read or written: the disk reported an I/O error; check the disk holding %s (the kernel log, the file system), then try again",
		doing, c.path, dir)
}

// outOfRoom reports whether err is SQLite failing for want of disk space:
// SQLITE_FULL, or an I/O error while the catalog's disk has less than
// nearlyFull bytes free.
func (c *Catalog) outOfRoom(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_FULL:
		return true
	case sqlite3.SQLITE_IOERR:
		free, ferr := freeSpace(filepath.Dir(c.path))
		return ferr == nil && free < nearlyFull
	}
	return false
}

// freeSpace returns the bytes free for an unprivileged writer on the file
// system holding dir.
func freeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// codeName names the SQLite result codes diskError meets as SQLite's
// documentation does.
func codeName(rc int) string {
	switch rc {
	case sqlite3.SQLITE_FULL:
		return "SQLITE_FULL"
	case sqlite3.SQLITE_IOERR:
		return "SQLITE_IOERR"
	case sqlite3.SQLITE_IOERR_READ:
		return "SQLITE_IOERR_READ"
	case sqlite3.SQLITE_IOERR_SHORT_READ:
		return "SQLITE_IOERR_SHORT_READ"
	case sqlite3.SQLITE_IOERR_WRITE:
		return "SQLITE_IOERR_WRITE"
	case sqlite3.SQLITE_IOERR_FSYNC:
		return "SQLITE_IOERR_FSYNC"
	case sqlite3.SQLITE_IOERR_DIR_FSYNC:
		return "SQLITE_IOERR_DIR_FSYNC"
	case sqlite3.SQLITE_IOERR_TRUNCATE:
		return "SQLITE_IOERR_TRUNCATE"
	case sqlite3.SQLITE_IOERR_FSTAT:
		return "SQLITE_IOERR_FSTAT"
	case sqlite3.SQLITE_IOERR_SHMOPEN:
		return "SQLITE_IOERR_SHMOPEN"
	case sqlite3.SQLITE_IOERR_SHMSIZE:
		return "SQLITE_IOERR_SHMSIZE"
	case sqlite3.SQLITE_IOERR_SHMMAP:
		return "SQLITE_IOERR_SHMMAP"
	}
	if rc&0xff == sqlite3.SQLITE_IOERR {
		return fmt.Sprintf("SQLITE_IOERR, extended code %d", rc)
	}
	return fmt.Sprintf("SQLite result code %d", rc)
}
