package sqlite

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	sqlite3 "modernc.org/sqlite/lib"
)

// reserveSize is the room the catalog keeps for itself on its disk, in the
// file at reservePath: a few writes' worth of WAL frames and a new -shm
// file, so that a backup that filled the disk can still be recorded as
// failed (or completed) instead of staying pending.
const reserveSize = 256 << 10

// reservePath is the file holding the catalog's reserve.
func (c *Catalog) reservePath() string { return c.path + ".reserve" }

// write runs op, one write to the catalog (it must change nothing when it
// fails), and returns its error. If op fails for want of disk space while
// the reserve is there, write gives the reserve up, making its room free,
// and runs op once more.
func (c *Catalog) write(op func() error) error {
	err := op()
	if err != nil && c.outOfRoom(err) && c.releaseReserve() {
		err = op()
	}
	return err
}

// releaseReserve deletes the reserve and reports whether it was there.
func (c *Catalog) releaseReserve() bool {
	return os.Remove(c.reservePath()) == nil
}

// keepReserve makes sure the reserve is in place, writing it if it is not
// (as after write gave it up, once the disk has room again). It returns
// EUNAVAILABLE, with doing as the message's start, if it cannot: the disk
// is full or not writable.
func (c *Catalog) keepReserve(doing string) error {
	p := c.reservePath()
	if fi, err := os.Stat(p); err == nil && fi.Size() >= reserveSize {
		return nil
	}
	err := writeReserve(p)
	if err == nil {
		return nil
	}
	os.Remove(p) // a part of it is no reserve
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return backup.Wrap(err, backup.EUNAVAILABLE,
			"%s: the disk is full: the catalog %s needs %d KiB free to record how a backup ends; free space on the disk holding %s (delete old backups or other files), then try again",
			doing, c.path, reserveSize>>10, filepath.Dir(c.path))
	}
	return backup.Wrap(err, backup.EUNAVAILABLE, "%s: cannot keep room for the catalog %s in %s; check that its directory is writable", doing, c.path, p)
}

// writeReserve writes reserveSize bytes to the file at p. The bytes are
// random: a file system that compresses or deduplicates would keep zeros
// in no room at all.
func writeReserve(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, reserveSize)
	rand.Read(buf)
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

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
