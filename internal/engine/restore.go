package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/compress"
)

// RestoreRequest asks to restore one backup over the live database.
type RestoreRequest struct {
	BackupID int64
	Actor    Actor
	// Progress, if set, is written the stored (compressed) bytes' lengths
	// as the restore reads them; the total is the backup's FileSize.
	Progress io.Writer
	// PreRestoreProgress, if set, gets the pre-restore backup's progress.
	PreRestoreProgress io.Writer
	// Into must name the configured database when it is not the one the
	// backup was taken of (see CheckTarget).
	Into string
}

// CheckTarget refuses (EINVALID) to restore backup b into the configured
// database when b was taken of another one, unless into names the
// configured database: replacing one database with another's data must be
// asked for explicitly.
func (e *Engine) CheckTarget(b *backup.Backup, into string) error {
	target := e.Dumper.Info().Database
	if b.DBName == "" || b.DBName == target || into == target {
		return nil
	}
	if into != "" {
		return backup.Errorf(backup.EINVALID, "--into %s does not name the configured database %s", into, target)
	}
	return backup.Errorf(backup.EINVALID,
		"backup %d is of database %s, but the configured database is %s: restoring it would replace %s's data with %s's; to do that on purpose add --into %s",
		b.ID, b.DBName, target, target, b.DBName, target)
}

// RestoreResult says what a restore did, including on failure.
type RestoreResult struct {
	Backup     *backup.Backup
	PreRestore *backup.Backup // nil if it could not be taken
	// PreRestoreDuration and RestoreDuration time the two phases.
	PreRestoreDuration time.Duration
	RestoreDuration    time.Duration
	// RolledBack is true when the restore failed and the pre-restore
	// backup was put back successfully.
	RolledBack bool
	// RollbackFailed is true when the restore failed after changing the
	// database and putting the pre-restore backup back failed too: the
	// database may be incomplete.
	RollbackFailed bool
	// ForeignKeys are the foreign keys of other databases that refer to
	// the restored one, found before it began; BrokenForeignKeys are those
	// a completed restore broke (checked afterwards).
	ForeignKeys       []backup.ForeignKey
	BrokenForeignKeys []backup.BrokenForeignKey
}

// rollback says what became of the database of a failed restore: put
// back, possibly incomplete, or never touched.
func (r *RestoreResult) rollback() backup.Rollback {
	switch {
	case r.RolledBack:
		return backup.RollbackSucceeded
	case r.RollbackFailed:
		return backup.RollbackFailed
	}
	return backup.RollbackNotNeeded
}

// InboundForeignKeys lists the foreign keys of other databases that refer
// to the configured one (none for databases that cannot have them), so a
// restore's confirmation can name what it may break.
func (e *Engine) InboundForeignKeys(ctx context.Context) ([]backup.ForeignKey, error) {
	rc, ok := e.Dumper.(backup.ReferenceChecker)
	if !ok {
		return nil, nil
	}
	return rc.InboundForeignKeys(ctx)
}

// checkForeignKeys re-checks, after a completed restore, the foreign keys
// of other databases found before it.
func (e *Engine) checkForeignKeys(ctx context.Context, fks []backup.ForeignKey) []backup.BrokenForeignKey {
	rc, ok := e.Dumper.(backup.ReferenceChecker)
	if !ok || len(fks) == 0 {
		return nil
	}
	broken := rc.CheckForeignKeys(ctx, fks)
	for _, b := range broken {
		e.logger().Error("a foreign key from another database is broken by the restore", "key", b.ForeignKey.String(), "constraint", b.Name, "problem", b.Problem)
	}
	return broken
}

// Restore replaces the database's content with a backup's (4.1-4.6):
// it checks the file's SHA-256 before touching anything, takes a
// pre-restore backup (and aborts if that fails), restores, and if the
// restore fails, restores the pre-restore backup and returns both errors.
func (e *Engine) Restore(ctx context.Context, req RestoreRequest) (*RestoreResult, error) {
	res := &RestoreResult{}
	b, err := e.Catalog.FindBackupByID(ctx, req.BackupID)
	if err != nil {
		e.audit(ctx, req.Actor, backup.ActionRestore, &backup.Backup{ID: req.BackupID}, err, "restore not started")
		return res, err
	}
	res.Backup = b
	err = e.restore(ctx, req, b, res)
	details := fmt.Sprintf("restore of %s into %s", b.Filename, e.Dumper.Info().Database)
	if res.PreRestore != nil {
		details += fmt.Sprintf(" (pre-restore backup %d %s)", res.PreRestore.ID, res.PreRestore.Filename)
	}
	if res.RolledBack {
		details += ", rolled back to the pre-restore backup"
	}
	if len(res.BrokenForeignKeys) > 0 {
		details += "; " + brokenForeignKeysText(res.BrokenForeignKeys)
	}
	e.audit(ctx, req.Actor, backup.ActionRestore, b, err, details)
	switch {
	case err != nil:
		e.notify(ctx, req.Actor, backup.Notification{Kind: backup.NotifyRestoreFailed, Backup: b, Message: details + ": " + err.Error(),
			Error: err.Error(), Rollback: res.rollback()})
	case len(res.BrokenForeignKeys) > 0:
		e.notify(ctx, req.Actor, backup.Notification{Kind: backup.NotifyRestoreWarning, Backup: b, Message: details})
	}
	return res, err
}

func (e *Engine) restore(ctx context.Context, req RestoreRequest, b *backup.Backup, res *RestoreResult) error {
	if err := b.Restorable(); err != nil {
		return err
	}
	if info := e.Dumper.Info(); b.DBEngine != "" && b.DBEngine != info.Engine {
		return backup.Errorf(backup.EINVALID, "backup %d is a %s backup and cannot be restored into the %s database %s", b.ID, b.DBEngine, info.Engine, info.Database)
	}
	if err := e.CheckTarget(b, req.Into); err != nil {
		return err
	}
	l, err := e.lock(ctx, "restore")
	if err != nil {
		return err
	}
	defer l.Release()

	// 4.1: a backup whose local file is gone comes back from off-site.
	if _, err := e.Storage.Stat(ctx, b.Filename); errors.Is(err, backup.ErrNotFound) {
		if err := e.fetch(ctx, b); err != nil {
			return err
		}
	}
	if err := e.checkRoomForPreRestore(ctx, b); err != nil {
		return err
	}
	// What other databases' foreign keys refer to this one, to check
	// afterwards: the restore replaces their tables without looking.
	fks, err := e.InboundForeignKeys(ctx)
	if err != nil {
		e.logger().Warn("cannot list foreign keys from other databases; they will not be checked after the restore", "err", err)
	}
	res.ForeignKeys = fks
	// 4.5: prove the file is the one we made before anything is touched.
	if err := e.checkFile(ctx, b); err != nil {
		if backup.ErrorCode(err) == backup.ECORRUPT {
			// Remember it: list, show and check must not count on it.
			now := e.now()
			b.Integrity, b.VerifiedAt = backup.IntegrityCorrupt, &now
			if uerr := e.Catalog.UpdateBackup(context.WithoutCancel(ctx), b); uerr != nil {
				e.logger().Error("cannot record a corrupt backup", "backup", b.Filename, "err", uerr)
			}
		}
		return err
	}

	// 4.3: the pre-restore backup; without it there is no way back.
	start := time.Now()
	pre, err := e.createLocked(ctx, CreateRequest{Source: backup.SourcePreRestore, Actor: req.Actor, Progress: req.PreRestoreProgress})
	res.PreRestoreDuration = time.Since(start)
	e.audit(ctx, req.Actor, backup.ActionCreate, pre, err, createDetails(pre))
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return fmt.Errorf("restore interrupted while taking the pre-restore backup; the database was not touched: %w", err)
		}
		return fmt.Errorf("restore aborted, the database was not touched: the pre-restore backup failed: %w", err)
	}
	res.PreRestore = pre

	marker := InterruptedRestore{BackupID: b.ID, BackupFilename: b.Filename, PreRestoreID: pre.ID,
		PreRestoreFilename: pre.Filename, Database: e.Dumper.Info().Database, StartedAt: e.now()}
	held, err := e.writeMarker(marker)
	if err != nil {
		return fmt.Errorf("restore aborted, the database was not touched: %w", err)
	}
	start = time.Now()
	restoreErr := e.restoreFile(ctx, b, req.Progress)
	res.RestoreDuration = time.Since(start)
	if restoreErr == nil {
		if err := e.clearMarker(held); err != nil {
			e.logger().Error("restore completed but its marker remains", "err", err)
		}
		e.logger().Info("restore completed", "backup", b.Filename, "pre_restore", pre.Filename, "ms", res.RestoreDuration.Milliseconds())
		res.BrokenForeignKeys = e.checkForeignKeys(ctx, fks)
		return nil
	}

	if errors.Is(restoreErr, backup.ErrUntouched) {
		// Nothing to roll back.
		if err := e.clearMarker(held); err != nil {
			e.logger().Error("restore did not start but its marker remains", "err", err)
		}
		return backup.Wrap(restoreErr, backup.ErrorCode(restoreErr),
			"restore of backup %d did not start; the database was not touched", b.ID)
	}

	// 4.6: put the database back as it was. This must run even if the
	// restore was cancelled.
	e.logger().Error("restore failed, rolling back", "backup", b.Filename, "err", restoreErr)
	rctx := context.WithoutCancel(ctx)
	if rbErr := e.restoreFile(rctx, pre, nil); rbErr != nil {
		releaseMarker(held) // it stays: the database may be incomplete
		res.RollbackFailed = true
		e.logger().Error("ROLLBACK FAILED", "pre_restore", pre.Filename, "err", rbErr)
		return backup.Wrap(errors.Join(restoreErr, rbErr), backup.EINTERNAL,
			"restore of backup %d failed AND rolling back to the pre-restore backup %d (%s) failed: the database may be incomplete; restore backup %d by hand now",
			b.ID, pre.ID, pre.Filename, pre.ID)
	}
	res.RolledBack = true
	if err := e.clearMarker(held); err != nil {
		e.logger().Error("rollback completed but the restore marker remains", "err", err)
	}
	failed := "failed"
	if ctx.Err() != nil || errors.Is(restoreErr, context.Canceled) {
		failed = "was interrupted"
	}
	return backup.Wrap(restoreErr, backup.ErrorCode(restoreErr),
		"restore of backup %d %s; the database was put back as it was before (from pre-restore backup %d)", b.ID, failed, pre.ID)
}

// brokenForeignKeysText says which foreign keys a restore broke, and what
// to do, in one line.
func brokenForeignKeysText(broken []backup.BrokenForeignKey) string {
	parts := make([]string, len(broken))
	for i, b := range broken {
		parts[i] = fmt.Sprintf("%s [%s]: %s", b.ForeignKey.String(), b.Name, b.Problem)
	}
	return fmt.Sprintf("%s from other databases broken by the restore: %s. Fix the referring rows or tables, or restore another backup",
		backup.Count(len(broken), "foreign key"), strings.Join(parts, "; "))
}

// checkRoomForPreRestore refuses a restore, before anything is done, when
// the storage has clearly no room for the pre-restore backup: less free
// space than the larger of b and the newest completed backup of the
// database (a pre-restore backup is about as big), plus a margin.
func (e *Engine) checkRoomForPreRestore(ctx context.Context, b *backup.Backup) error {
	need := b.FileSize
	completed := backup.StatusCompleted
	if last, _, err := e.Catalog.FindBackups(ctx, backup.BackupFilter{Status: &completed, Limit: 1}); err == nil && len(last) == 1 {
		need = max(need, last[0].FileSize)
	}
	need += need/10 + 1<<20
	free, err := e.Storage.Free()
	if err != nil || free >= need {
		return nil // unknown: the pre-restore backup will say
	}
	return backup.Wrap(syscall.ENOSPC, backup.EUNAVAILABLE,
		"restore not started, the database was not touched: the backup disk is too full for the pre-restore backup (%d bytes free, about %d needed): free space or delete old backups, then try again",
		free, need)
}

// checkFile re-hashes a backup's local bytes against the catalog.
func (e *Engine) checkFile(ctx context.Context, b *backup.Backup) error {
	return checkStored(ctx, e.Storage, b)
}

// checkStored re-hashes a backup's bytes in s against the catalog.
func checkStored(ctx context.Context, s backup.Storage, b *backup.Backup) error {
	f, err := s.Open(ctx, b.Filename)
	if err != nil {
		return err
	}
	defer f.Close()
	sr := newSumReader(f)
	buf := make([]byte, 1<<20)
	for {
		// Hashing a large file takes a while: stop when asked to.
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := sr.Read(buf)
		if err == io.EOF {
			return sr.check(b)
		}
		if err != nil {
			return fmt.Errorf("read backup file %s: %w", b.Filename, err)
		}
	}
}

// sumReader hashes what is read through it.
type sumReader struct {
	r io.Reader
	h hash.Hash
}

func newSumReader(r io.Reader) *sumReader { return &sumReader{r: r, h: sha256.New()} }

func (s *sumReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	return n, err
}

// rewindableSumReader is a sumReader over an io.ReadSeeker that can be
// rewound to where it started, as a storage does to make a whole upload
// again after a passing failure; the hash then starts over too, so it
// always covers exactly the bytes of the last pass. Seeks anywhere else
// are refused (the hash could not follow them).
type rewindableSumReader struct {
	sumReader
	rs    io.ReadSeeker
	start int64 // the offset reading began at
	pos   int64 // the current offset
}

// newUploadReader hashes r for copyChecked; if r can seek, the result is
// an io.ReadSeeker, so storages that retry whole uploads by rewinding
// (Google Drive after its upload session is lost) can do so.
func newUploadReader(r io.Reader) (io.Reader, *sumReader) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		sr := newSumReader(r)
		return sr, sr
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		sr := newSumReader(r)
		return sr, sr
	}
	rr := &rewindableSumReader{sumReader: sumReader{r: rs, h: sha256.New()}, rs: rs, start: start, pos: start}
	return rr, &rr.sumReader
}

func (s *rewindableSumReader) Read(p []byte) (int, error) {
	n, err := s.sumReader.Read(p)
	s.pos += int64(n)
	return n, err
}

func (s *rewindableSumReader) Seek(offset int64, whence int) (int64, error) {
	switch {
	case whence == io.SeekCurrent && offset == 0:
		return s.pos, nil
	case whence == io.SeekStart && offset == s.start:
		if _, err := s.rs.Seek(s.start, io.SeekStart); err != nil {
			return s.pos, err
		}
		s.h.Reset()
		s.pos = s.start
		return s.pos, nil
	}
	return s.pos, fmt.Errorf("a backup upload can only be rewound to its start (offset %d), not to %d from %d", s.start, offset, whence)
}

// check compares what was read so far with the catalog's SHA-256.
func (s *sumReader) check(b *backup.Backup) error {
	return matchSum(b, hex.EncodeToString(s.h.Sum(nil)))
}

func matchSum(b *backup.Backup, got string) error {
	if got != b.SHA256 {
		return backup.Errorf(backup.ECORRUPT,
			"backup file %s does not match the SHA-256 recorded when it was made (recorded %s, file has %s): the file is damaged or was changed; do not use it, pick another backup",
			b.Filename, b.SHA256, got)
	}
	return nil
}

// restoreFile streams a stored backup through the decompressor into the
// Dumper, hashing what it reads; a file that changes while being restored
// fails the restore. If the Dumper's usual method gives up on the dump
// (backup.RestoreFallbackError), the file is read again from its start
// into the fallback method.
func (e *Engine) restoreFile(ctx context.Context, b *backup.Backup, progress io.Writer) error {
	err := e.restoreStream(ctx, b, progress, e.Dumper.Restore)
	var fb *backup.RestoreFallbackError
	if errors.As(err, &fb) && fb.Restore != nil {
		e.logger().Warn("restoring the backup again with the fallback method", "backup", b.Filename, "reason", fb.Reason)
		return e.restoreStream(ctx, b, nil, fb.Restore)
	}
	return err
}

// restoreStream is one pass of restoreFile, through restore.
func (e *Engine) restoreStream(ctx context.Context, b *backup.Backup, progress io.Writer, restore func(context.Context, io.Reader) error) error {
	f, err := e.Storage.Open(ctx, b.Filename)
	if err != nil {
		return err
	}
	defer f.Close()
	sr := newSumReader(f)
	cr := &countingReader{r: sr, progress: progress}
	zr, err := compress.NewReader(cr, b.Compression)
	if err != nil {
		return fmt.Errorf("backup file %s: %w", b.Filename, err)
	}
	defer zr.Close()
	if err := restore(ctx, zr); err != nil {
		return err
	}
	// Read whatever the decompressor left (trailers) so the hash covers all.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return fmt.Errorf("read backup file %s: %w", b.Filename, err)
	}
	return sr.check(b)
}
