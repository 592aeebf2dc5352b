package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// CopyCheck is what verifying found of one copy of a backup.
type CopyCheck struct {
	Where string `json:"where"` // "local", "Google Drive" or "S3"
	// Status is "ok", "missing", "corrupt" or "unchecked" (it could not
	// be read: the remote is down, say).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Verify re-hashes every copy of a backup (the local file and each remote
// copy recorded or found) against the SHA-256 in the catalog, corrects the
// location flags to what it found, and returns what is wrong.
func (e *Engine) Verify(ctx context.Context, id int64, actor Actor) (*backup.Backup, error) {
	b, _, err := e.VerifyCopies(ctx, id, actor)
	return b, err
}

// VerifyCopies is Verify, also saying what it found of each copy.
func (e *Engine) VerifyCopies(ctx context.Context, id int64, actor Actor) (*backup.Backup, []CopyCheck, error) {
	b, err := e.Catalog.FindBackupByID(ctx, id)
	if err != nil {
		e.audit(ctx, actor, backup.ActionVerify, &backup.Backup{ID: id}, err, "")
		return nil, nil, err
	}
	checks, err := e.verify(ctx, b)
	e.audit(ctx, actor, backup.ActionVerify, b, err, "verify "+b.Filename)
	return b, checks, err
}

// verify checks every copy: the local file's SHA-256, and each remote
// copy's presence, size and SHA-256. It corrects the location flags to what
// it found (3.2) and returns what it found and what is wrong.
func (e *Engine) verify(ctx context.Context, b *backup.Backup) ([]CopyCheck, error) {
	if err := b.Restorable(); err != nil {
		return nil, err
	}
	before := *b
	err := e.checkFile(ctx, b)
	b.IsLocal = backup.ErrorCode(err) != backup.ENOTFOUND
	checks := []CopyCheck{copyCheck("local", err)}
	errs := []error{err}
	for _, r := range e.ActiveRemotes(ctx) {
		expected := r.has(b)
		err := e.verifyRemote(ctx, b, r)
		if expected || r.has(b) || err != nil {
			checks = append(checks, copyCheck(r.label(), err))
		}
		errs = append(errs, err)
	}
	now := e.now()
	b.Integrity, b.VerifiedAt = integrityOf(b.Integrity, checks), &now
	if *b != before {
		if uerr := e.Catalog.UpdateBackup(ctx, b); uerr != nil {
			errs = append(errs, fmt.Errorf("update location of backup %d: %w", b.ID, uerr))
		}
	}
	return checks, errors.Join(errs...)
}

// integrityOf is what checks say of a backup as a whole: ok if a copy is
// intact (and the local file, if there, is not damaged), corrupt if the
// local file is damaged or every copy found is, missing if no copy was
// found; prev when copies could not be checked and none was intact.
func integrityOf(prev backup.Integrity, checks []CopyCheck) backup.Integrity {
	ok, unchecked, corrupt := 0, 0, 0
	for _, c := range checks {
		switch c.Status {
		case "ok":
			ok++
		case "unchecked":
			unchecked++
		case "corrupt":
			if c.Where == "local" {
				return backup.IntegrityCorrupt
			}
			corrupt++
		}
	}
	switch {
	case ok > 0:
		return backup.IntegrityOK
	case unchecked > 0:
		return prev
	case corrupt > 0:
		return backup.IntegrityCorrupt
	}
	return backup.IntegrityMissing
}

// copyCheck describes a copy from the error checking it gave.
func copyCheck(where string, err error) CopyCheck {
	c := CopyCheck{Where: where, Status: "ok"}
	if err == nil {
		return c
	}
	c.Error = err.Error()
	switch backup.ErrorCode(err) {
	case backup.ENOTFOUND:
		c.Status = "missing"
	case backup.ECORRUPT:
		c.Status = "corrupt"
	default:
		c.Status = "unchecked"
	}
	return c
}

// verifyRemote checks one remote copy and marks it present or not.
func (e *Engine) verifyRemote(ctx context.Context, b *backup.Backup, r Remote) error {
	rs, err := r.storage()
	if err != nil {
		if r.has(b) {
			return fmt.Errorf("cannot check the copy on %s: %w", r.label(), err)
		}
		return nil
	}
	fi, err := rs.Stat(ctx, b.Filename)
	switch {
	case errors.Is(err, backup.ErrNotFound):
		if r.has(b) {
			r.mark(b, "", false)
			return backup.Errorf(backup.ENOTFOUND, "the copy of backup %d on %s is gone; run hmsbackup sync to upload it again", b.ID, r.label())
		}
		return nil
	case err != nil:
		return fmt.Errorf("cannot check the copy on %s: %w", r.label(), err)
	case fi.Size != b.FileSize:
		r.mark(b, "", false)
		return backup.Errorf(backup.ECORRUPT, "the copy of backup %d on %s has %d bytes, not %d: it is damaged; run hmsbackup sync to replace it", b.ID, r.label(), fi.Size, b.FileSize)
	}
	if err := checkStored(ctx, rs, b); err != nil {
		if backup.ErrorCode(err) == backup.ECORRUPT {
			r.mark(b, "", false)
			return fmt.Errorf("the copy on %s is damaged; run hmsbackup sync to replace it: %w", r.label(), err)
		}
		return fmt.Errorf("cannot read the copy on %s: %w", r.label(), err)
	}
	if !r.has(b) {
		id := b.Filename
		if ider, ok := rs.(fileIDer); ok {
			if id, err = ider.FileID(ctx, b.Filename); err != nil {
				return err
			}
		}
		r.mark(b, id, true)
	}
	return nil
}

// Delete removes a backup's file, then its record (3.4). A protected
// backup must be unprotected first; a running one cannot be deleted; while
// a backup or restore of the database runs, Delete waits LockWait and then
// returns EBUSY.
func (e *Engine) Delete(ctx context.Context, id int64, actor Actor) (*backup.Backup, error) {
	// Not while a backup or restore of the database runs: a restore may
	// need its pre-restore backup to roll back, and a new backup's uploads
	// would leave orphan copies. The lock is this data directory's: other
	// directories have catalogs of their own.
	info := e.Dumper.Info()
	l, err := e.Locker.Acquire(ctx, info.Key, fmt.Sprintf("delete of backup %d", id), e.LockWait)
	if err != nil {
		e.audit(ctx, actor, backup.ActionDelete, &backup.Backup{ID: id}, err, "delete not started")
		return nil, err
	}
	defer l.Release()
	// Nor while a backup's copies are being uploaded.
	copies, err := e.Locker.Acquire(ctx, e.copiesKey(), fmt.Sprintf("delete of backup %d", id), e.LockWait)
	if err != nil {
		e.audit(ctx, actor, backup.ActionDelete, &backup.Backup{ID: id}, err, "delete not started")
		return nil, err
	}
	defer copies.Release()
	b, err := e.Catalog.FindBackupByID(ctx, id)
	if err != nil {
		e.audit(ctx, actor, backup.ActionDelete, &backup.Backup{ID: id}, err, "")
		return nil, err
	}
	err = e.delete(ctx, b)
	e.audit(ctx, actor, backup.ActionDelete, b, err, "delete "+b.Filename)
	return b, err
}

// delete removes every copy of b (off-site, then local), then its record.
// It refuses protected and pending backups. A copy that cannot be deleted
// keeps the record, with the reason as its warning. The caller holds the
// database's lock (see Delete) and audits.
func (e *Engine) delete(ctx context.Context, b *backup.Backup) error {
	switch {
	case b.IsProtected:
		return backup.Errorf(backup.EINVALID, "backup %d is protected; unprotect it first if you really want to delete it", b.ID)
	case b.Status == backup.StatusPending:
		return backup.Errorf(backup.EBUSY, "backup %d is still being written; wait for it to finish", b.ID)
	}
	if err := e.deleteRemotes(ctx, b); err != nil {
		return err
	}
	if err := e.Storage.Delete(ctx, b.Filename); err != nil {
		// The off-site copies are gone: the record must say so.
		if uerr := e.Catalog.UpdateBackup(context.WithoutCancel(ctx), b); uerr != nil {
			e.logger().Error("cannot record the deleted off-site copies", "backup", b.Filename, "err", uerr)
		}
		return fmt.Errorf("delete file of backup %d: %w", b.ID, err)
	}
	return e.Catalog.DeleteBackup(ctx, b.ID)
}

// SetProtected marks a backup as protected from deletion (or not).
func (e *Engine) SetProtected(ctx context.Context, id int64, protected bool, actor Actor) (*backup.Backup, error) {
	b, err := e.Catalog.FindBackupByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err = e.Catalog.SetProtected(ctx, id, protected); err == nil {
		b.IsProtected = protected
	}
	action := backup.Action("protect")
	if !protected {
		action = "unprotect"
	}
	e.audit(ctx, actor, action, b, err, string(action)+" "+b.Filename)
	return b, err
}

// Download opens a completed backup's stored bytes (3.3). The caller
// closes the reader; for local files it is an *os.File (seekable).
func (e *Engine) Download(ctx context.Context, id int64, actor Actor) (io.ReadCloser, *backup.Backup, error) {
	b, err := e.Catalog.FindBackupByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if b.Status != backup.StatusCompleted {
		err = backup.Errorf(backup.EINVALID, "backup %d is %s; only completed backups can be downloaded", b.ID, b.Status)
		e.audit(ctx, actor, backup.ActionDownload, b, err, "")
		return nil, b, err
	}
	f, err := e.Storage.Open(ctx, b.Filename)
	if errors.Is(err, backup.ErrNotFound) {
		f, err = e.openRemote(ctx, b) // the local file is gone: stream an off-site copy
	}
	e.audit(ctx, actor, backup.ActionDownload, b, err, "download "+b.Filename)
	if err != nil {
		return nil, b, err
	}
	return f, b, nil
}

// openRemote opens the first off-site copy the record knows of.
func (e *Engine) openRemote(ctx context.Context, b *backup.Backup) (io.ReadCloser, error) {
	for _, r := range e.ActiveRemotes(ctx) {
		if rs, err := r.storage(); err == nil && r.has(b) {
			if rc, err := rs.Open(ctx, b.Filename); err == nil {
				return rc, nil
			}
		}
	}
	return nil, backup.Errorf(backup.ENOTFOUND, "backup %d (%s) is neither on local disk nor on a reachable off-site storage", b.ID, b.Filename)
}

// Recover marks backups left pending by a process that died (kill -9,
// power loss) as failed and removes their files. It runs only when no
// backup or restore of this database is running, and is safe to call at
// every start.
func (e *Engine) Recover(ctx context.Context) (int, error) {
	info := e.Dumper.Info()
	l, ok, err := e.Locker.TryAcquire(ctx, info.Key, "recovery of database "+info.Database)
	if err != nil || !ok {
		return 0, err // busy: the pending backups belong to a live process
	}
	defer l.Release()
	pending := backup.StatusPending
	stale, _, err := e.Catalog.FindBackups(ctx, backup.BackupFilter{Status: &pending})
	if err != nil {
		return 0, fmt.Errorf("find interrupted backups: %w", err)
	}
	n := 0
	for _, b := range stale {
		if b.DBEngine != info.Engine || b.DBName != info.Database {
			continue // another database's backup, maybe still running
		}
		if err := e.Storage.Delete(ctx, b.Filename); err != nil {
			return n, err
		}
		b.Status = backup.StatusFailed
		b.IsLocal = false
		b.ErrorMessage = "the hmsbackup process was interrupted (killed or crashed) while this backup was being written; its partial file was removed. Take a new backup."
		if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
			return n, fmt.Errorf("mark interrupted backup %d failed: %w", b.ID, err)
		}
		e.audit(ctx, Actor{Name: "system"}, backup.ActionRecover, b, nil, "marked interrupted backup "+b.Filename+" failed")
		n++
	}
	if _, err := e.Storage.RemovePartials(); err != nil {
		return n, err
	}
	return n, nil
}
