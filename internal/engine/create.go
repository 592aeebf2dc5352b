package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/compress"
	"github.com/hmsbackup/hmsbackup/internal/lock"
)

// CreateRequest asks for one backup.
type CreateRequest struct {
	Source backup.Source
	Actor  Actor
	// Progress, if set, is written the uncompressed dump bytes' lengths as
	// they stream (a progress bar's io.Writer).
	Progress io.Writer
	// QuietFailure leaves the failure notification to the caller: a queued
	// job that will be tried again notifies once, after its last attempt.
	QuietFailure bool
}

// CreateBackup takes a backup now. The returned record is completed, or
// failed with the reason in ErrorMessage (and the error returned too); a
// failed backup leaves no file behind.
func (e *Engine) CreateBackup(ctx context.Context, req CreateRequest) (*backup.Backup, error) {
	l, err := e.lock(ctx, "backup")
	if err != nil {
		e.audit(ctx, req.Actor, backup.ActionCreate, nil, err, "backup not started")
		if !req.QuietFailure {
			e.notify(ctx, req.Actor, backup.Notification{Kind: backup.NotifyBackupFailed, Message: "backup not started: " + err.Error(), Error: err.Error()})
		}
		return nil, err
	}
	b, err := e.createLocked(ctx, req)
	var copies *lock.Lock
	var cerr error
	var remotes []Remote
	if err == nil {
		remotes = e.ActiveRemotes(ctx)
	}
	if len(remotes) > 0 {
		// Uploads run after the database's lock is let go (a slow remote
		// must not hold up the next backup or restore), under the copies'
		// lock, which a delete of this backup waits for.
		copies, cerr = e.lockCopies(ctx, "upload of "+b.Filename)
	}
	l.Release()
	if cerr != nil {
		// Notified after the database's lock is let go, like the rest.
		e.uploadsNotStarted(ctx, b, req.Actor, cerr)
	}
	e.audit(ctx, req.Actor, backup.ActionCreate, b, err, createDetails(b))
	if err != nil {
		if !req.QuietFailure {
			e.notify(ctx, req.Actor, backup.Notification{Kind: backup.NotifyBackupFailed, Backup: b, Message: "backup failed: " + err.Error(), Error: err.Error()})
		}
		return b, err
	}
	if copies != nil {
		// Off-site copies: a failed upload is a warning on a completed
		// backup, not a failed backup (6.3).
		_ = e.uploadAll(ctx, b, req.Actor, remotes)
		copies.Release()
	}
	// Backups work again after failures: say so.
	e.notifyRecovery(ctx, req.Actor, b)
	return b, nil
}

func createDetails(b *backup.Backup) string {
	if b == nil {
		return ""
	}
	if b.Status == backup.StatusCompleted {
		return fmt.Sprintf("%s backup %s of %s: %d bytes (%d uncompressed) in %dms, sha256 %s",
			b.Source, b.Filename, b.DBName, b.FileSize, b.RawSize, b.DurationMS, b.SHA256)
	}
	return fmt.Sprintf("%s backup %s of %s", b.Source, b.Filename, b.DBName)
}

// createLocked runs a backup; the caller holds the source's lock.
func (e *Engine) createLocked(ctx context.Context, req CreateRequest) (*backup.Backup, error) {
	if req.Source == "" {
		return nil, backup.Errorf(backup.EINVALID, "a backup needs a source")
	}
	b, err := e.reserve(ctx, req)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	level := e.Level
	if req.Source == backup.SourcePreRestore {
		// The pre-restore backup delays the restore it guards: the
		// cheapest compression (gzip level 1, zstd's fastest), same format.
		level = compress.LevelFastest
	}
	raw, size, sum, err := e.dumpToStorage(ctx, b.Filename, level, req.Progress)
	b.DurationMS = time.Since(start).Milliseconds()
	// The record must be updated even if ctx was cancelled (e.g. Ctrl-C).
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err != nil {
		// Nothing is left of the file (Put removed its partial file, the
		// Dumper its snapshot): on a full disk, their room is free again.
		return b, e.recordFailed(uctx, b, err)
	}
	completed := e.now()
	b.Status = backup.StatusCompleted
	b.CompletedAt = &completed
	b.FileSize = size
	b.RawSize = raw
	b.SHA256 = sum
	b.IsLocal = true
	if cw, ok := e.Dumper.(backup.ContentWarner); ok {
		b.ContentWarning = cw.DumpLacks(ctx)
	}
	if err := e.Catalog.UpdateBackup(uctx, b); err != nil {
		// Without a completed record the file is an orphan nobody trusts.
		// Deleting it first also gives its room to the failure's record.
		_ = e.Storage.Delete(uctx, b.Filename)
		b.CompletedAt, b.FileSize, b.RawSize, b.SHA256 = nil, 0, 0, ""
		return b, e.recordFailed(uctx, b, fmt.Errorf("record completed backup %s: %w", b.Filename, err))
	}
	e.logger().Info("backup completed", "backup", b.Filename, "bytes", size, "raw_bytes", raw, "ms", b.DurationMS)
	return b, nil
}

// recordFailed records b, whose file is gone, as failed because of cause,
// and returns cause: b does not stay pending, to be called "interrupted" at
// the next start. If even that record cannot be written (the catalog's
// disk is full and its reserve spent), the error returned says so too; its
// code is cause's, or the catalog's (EUNAVAILABLE for a full disk) when
// cause has none.
func (e *Engine) recordFailed(ctx context.Context, b *backup.Backup, cause error) error {
	e.logger().Error("backup failed", "backup", b.Filename, "err", cause)
	b.Status = backup.StatusFailed
	b.ErrorMessage = cause.Error()
	b.IsLocal = false
	if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
		e.logger().Error("cannot mark backup failed", "backup", b.Filename, "err", err)
		return fmt.Errorf("%w; backup %d could not even be recorded as failed: %w", cause, b.ID, err)
	}
	return cause
}

// reserve records a pending backup under a file name nobody else has, even
// when two backups start in the same second in two processes: the catalog's
// unique file name decides.
func (e *Engine) reserve(ctx context.Context, req CreateRequest) (*backup.Backup, error) {
	info := e.Dumper.Info()
	started := e.now()
	for attempt := 1; attempt <= 1000; attempt++ {
		name := backup.Filename(started.In(e.location()), info.Format, e.Compression, attempt)
		if _, err := e.Storage.Stat(ctx, name); err == nil {
			continue // a file without a record: never overwrite it
		}
		b := &backup.Backup{
			Filename:    name,
			FilePath:    e.Storage.Path(name),
			Status:      backup.StatusPending,
			Source:      req.Source,
			CreatedBy:   req.Actor.Name,
			Compression: e.Compression,
			DBEngine:    info.Engine,
			DBName:      info.Database,
		}
		err := e.Catalog.CreateBackup(ctx, b)
		if backup.ErrorCode(err) == backup.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("record pending backup: %w", err)
		}
		return b, nil
	}
	return nil, backup.Errorf(backup.ECONFLICT, "no free backup file name for %s", started)
}

// dumpToStorage streams Dumper -> compressor -> (SHA-256, Storage.Put) and
// returns the uncompressed and stored sizes and the stored bytes' SHA-256.
// On error nothing is left in storage.
func (e *Engine) dumpToStorage(ctx context.Context, name string, level compress.Level, progress io.Writer) (raw, size int64, sum string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	hash := sha256.New()
	rawCount := make(chan int64, 1)
	dumpErr := make(chan error, 1)
	go func() {
		n, err := e.produce(ctx, io.MultiWriter(pw, hash), level, progress)
		rawCount <- n
		pw.CloseWithError(err) // nil: the reader sees EOF and Put commits
		dumpErr <- err
	}()
	size, putErr := e.Storage.Put(ctx, name, pr)
	if putErr != nil {
		cancel() // stop the dump tool
		pr.CloseWithError(putErr)
	}
	derr := <-dumpErr
	raw = <-rawCount
	switch {
	case derr != nil && (putErr == nil || errors.Is(putErr, derr)):
		return raw, 0, "", derr // the dump failed first
	case putErr != nil:
		return raw, 0, "", fmt.Errorf("store backup file: %w", putErr)
	}
	return raw, size, hex.EncodeToString(hash.Sum(nil)), nil
}

// produce writes the compressed dump to w and returns the dump's
// uncompressed size. An empty dump is an error.
func (e *Engine) produce(ctx context.Context, w io.Writer, level compress.Level, progress io.Writer) (int64, error) {
	zw, err := compress.NewWriter(w, e.Compression, level)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: zw, progress: progress}
	dctx, stop := e.watchStall(ctx, cw)
	defer stop()
	if err := e.Dumper.Dump(dctx, cw); err != nil {
		zw.Close()
		if cause := context.Cause(dctx); errors.Is(cause, errDumpStalled) {
			return cw.n, backup.Errorf(backup.EUNAVAILABLE, "the dump tool wrote nothing for %s (after %d bytes), so it was stopped: "+
				"look for a lock it waits for or a tool stuck in a loop (HMSBACKUP_DUMP_STALL_TIMEOUT sets how long it may stay silent)",
				e.DumpStallTimeout, cw.n)
		}
		return cw.n, fmt.Errorf("dump failed: %w", err)
	}
	if cw.n == 0 {
		zw.Close()
		return 0, backup.Errorf(backup.EUNAVAILABLE, "the dump tool exited successfully but wrote nothing; check the database name and the user's privileges")
	}
	if err := zw.Close(); err != nil {
		return cw.n, fmt.Errorf("compress: %w", err)
	}
	return cw.n, nil
}

// errDumpStalled is the cause of a dump cancelled by watchStall.
var errDumpStalled = errors.New("the dump stalled")

// watchStall returns ctx, cancelled with errDumpStalled once cw has gone
// DumpStallTimeout without a write (counted from now before the first
// one), and a func that stops watching.
func (e *Engine) watchStall(ctx context.Context, cw *countingWriter) (context.Context, func()) {
	if e.DumpStallTimeout <= 0 {
		return ctx, func() {}
	}
	cw.lastWrite.Store(time.Now().UnixNano())
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(max(e.DumpStallTimeout/10, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-wctx.Done():
				return
			case <-t.C:
				if time.Since(time.Unix(0, cw.lastWrite.Load())) > e.DumpStallTimeout {
					cancel(errDumpStalled)
					return
				}
			}
		}
	}()
	return wctx, func() { close(done); cancel(nil) }
}
