// Package engine orchestrates backups and restores: it serialises them per
// database, runs the streaming pipeline (dump -> compress -> SHA-256 ->
// storage), keeps the catalog truthful, and writes the audit trail.
package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/compress"
	"github.com/hmsbackup/hmsbackup/internal/lock"
)

// LocalStorage is the Storage that holds the primary copy of every backup
// on this host.
type LocalStorage interface {
	backup.Storage
	// Path is the absolute path of the file of that name.
	Path(name string) string
	// RemovePartials removes temp files of interrupted writes.
	RemovePartials() ([]string, error)
	// Free is the space left for backups, in bytes.
	Free() (int64, error)
}

// Engine is safe for concurrent use; operations on one database are
// serialised by the Locker, across processes too.
type Engine struct {
	Catalog     backup.Catalog
	Dumper      backup.Dumper
	Storage     LocalStorage
	Locker      *lock.Locker
	Compression backup.Compression
	Level       compress.Level
	Location    *time.Location // for file names; default time.Local
	Now         func() time.Time
	Logger      *slog.Logger
	// LockWait is how long an operation waits for another one on the same
	// database before it is refused with EBUSY (0: refuse at once).
	LockWait time.Duration
	// DumpStallTimeout stops a dump whose tool has written nothing for
	// that long (a tool stuck in a loop, a lock wait that never ends): the
	// backup fails, and is notified, instead of hanging unseen. 0: never.
	DumpStallTimeout time.Duration
	// StateDir keeps the marker of a restore in progress, so that a
	// restore killed midway is reported at the next start; "" disables it.
	StateDir string
	// Remotes are the off-site storages every completed backup is copied
	// to (Google Drive, S3); none by default.
	Remotes []Remote
	// RemoteSource, if set, gives the off-site storages anew for each
	// operation, instead of Remotes: a settings change (a new bucket, new
	// Drive credentials) applies from the next operation on, without a
	// restart (remotes.Provider.Remotes). An operation keeps the ones it
	// got until it ends. It must be safe for concurrent use.
	RemoteSource func(ctx context.Context) []Remote
	// Notifier hears about failed backups, uploads and restores; nil: none.
	Notifier backup.Notifier
}

// Actor identifies who asks for an operation, for records and the audit.
type Actor struct {
	Name   string // "cli:alice", a web user's name, "scheduler"
	UserID *int64 // a web user's id, nil otherwise
	// SourceAddress and UserAgent say where a web or API request came
	// from; empty for the CLI and the scheduler.
	SourceAddress string
	UserAgent     string
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) location() *time.Location {
	if e.Location != nil {
		return e.Location
	}
	return time.Local
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *Engine) lock(ctx context.Context, op string) (*heldLock, error) {
	info := e.Dumper.Info()
	what := fmt.Sprintf("%s of database %s", op, info.Database)
	l, err := e.Locker.Acquire(ctx, info.Key, what, e.LockWait)
	if err != nil {
		return nil, err
	}
	h := &heldLock{file: l}
	if sl, ok := e.Dumper.(backup.ServerLocker); ok {
		h.server, err = sl.LockServer(ctx, what, e.LockWait)
		switch {
		case backup.ErrorCode(err) == backup.EUNAVAILABLE:
			// A server that cannot be reached holds no one's lock; the
			// operation goes on and fails (and is recorded) in its turn.
			e.logger().Warn("cannot take the database's lock on its server", "database", info.Database, "err", err)
		case err != nil:
			l.Release()
			return nil, err
		}
	}
	return h, nil
}

// lockCopies takes the lock on the off-site copies of the database's
// backups: uploads and deletes of copies take it, so a delete never runs
// alongside an upload of the same backup and leaves an orphan copy. It
// waits as long as ctx allows: uploads queue up behind each other.
func (e *Engine) lockCopies(ctx context.Context, what string) (*lock.Lock, error) {
	return e.Locker.Acquire(ctx, e.copiesKey(), what, 24*time.Hour)
}

// copiesKey is the lock key of the off-site copies of the database's
// backups.
func (e *Engine) copiesKey() string {
	return e.Dumper.Info().Key + "#copies"
}

// heldLock is one operation's hold on its database: the lock file in the
// data directory, and the server's lock where the Dumper has one.
type heldLock struct {
	file   *lock.Lock
	server func() // nil without a server lock
}

// Release gives both locks back. Safe to call more than once.
func (h *heldLock) Release() error {
	if h.server != nil {
		h.server()
		h.server = nil
	}
	return h.file.Release()
}

// audit appends an entry; a failure to write the audit is logged, never
// hidden, but does not undo the operation it describes.
func (e *Engine) audit(ctx context.Context, actor Actor, action backup.Action, b *backup.Backup, opErr error, details string) {
	entry := &backup.AuditEntry{Actor: actor.Name, UserID: actor.UserID, Action: action, Outcome: "success", Details: details,
		SourceAddress: actor.SourceAddress, UserAgent: actor.UserAgent}
	if b != nil && b.ID != 0 {
		id := b.ID
		entry.BackupID = &id
	}
	if opErr != nil {
		entry.Outcome = "failure"
		if details != "" {
			entry.Details = details + ": "
		}
		entry.Details += opErr.Error()
	}
	// The audit must be written even if the operation's ctx was cancelled.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.Catalog.AddAuditEntry(actx, entry); err != nil {
		e.logger().Error("cannot write audit entry", "action", action, "actor", actor.Name, "err", err)
	}
}

// countingWriter counts bytes and reports them to an optional progress
// sink; lastWrite (Unix nanoseconds) is when it was last written to.
type countingWriter struct {
	w         io.Writer
	n         int64
	progress  io.Writer
	lastWrite atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.lastWrite.Store(time.Now().UnixNano())
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		_, _ = c.progress.Write(p[:n])
	}
	return n, err
}

// countingReader counts bytes read and reports them to an optional progress sink.
type countingReader struct {
	r        io.Reader
	n        int64
	progress io.Writer
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		_, _ = c.progress.Write(p[:n])
	}
	return n, err
}
