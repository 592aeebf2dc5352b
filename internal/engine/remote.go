package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// RemoteKind names an off-site storage; the record keeps one location per kind.
type RemoteKind string

const (
	RemoteGoogleDrive RemoteKind = "google_drive"
	RemoteS3          RemoteKind = "s3"
)

// Remote is an off-site copy target. Every completed backup (except
// pre-restore backups, which stay next to the database) is uploaded to
// each configured Remote.
type Remote struct {
	Kind    RemoteKind
	Storage backup.Storage
	// OpenErr, if set, is why the storage could not be opened (bad
	// credentials, missing bucket): every use fails with it, so backups
	// go on locally with a warning instead of stopping.
	OpenErr error
}

// ActiveRemotes returns the off-site storages an operation starting now
// uses: RemoteSource's when set, else Remotes.
func (e *Engine) ActiveRemotes(ctx context.Context) []Remote {
	if e.RemoteSource != nil {
		return e.RemoteSource(ctx)
	}
	return e.Remotes
}

// storage returns the storage, or why it is unusable.
func (r Remote) storage() (backup.Storage, error) {
	if r.OpenErr != nil {
		return nil, r.OpenErr
	}
	return r.Storage, nil
}

// fileIDer is implemented by storages whose files have their own ids
// (Google Drive); the record keeps that id.
type fileIDer interface {
	FileID(ctx context.Context, name string) (string, error)
}

func (r Remote) label() string {
	if r.Kind == RemoteGoogleDrive {
		return "Google Drive"
	}
	return "S3"
}

// has reports whether the record says the copy is on r.
func (r Remote) has(b *backup.Backup) bool {
	if r.Kind == RemoteGoogleDrive {
		return b.IsOnGoogleDrive
	}
	return b.IsOnS3
}

// mark records the copy's presence (id "" and present false: absent).
func (r Remote) mark(b *backup.Backup, id string, present bool) {
	if !present {
		id = ""
	}
	if r.Kind == RemoteGoogleDrive {
		b.GoogleDriveFileID, b.IsOnGoogleDrive = id, present
	} else {
		b.S3Key, b.IsOnS3 = id, present
	}
}

// uploadsNotStarted records that a completed backup's uploads could not
// even start (interrupted while waiting for another upload): like a failed
// upload, a warning on the record, an audit entry and a notification.
func (e *Engine) uploadsNotStarted(ctx context.Context, b *backup.Backup, actor Actor, err error) {
	err = fmt.Errorf("the uploads did not start, the backup is kept on local disk only (hmsbackup sync makes them): %w", err)
	e.audit(ctx, actor, "upload", b, err, "upload "+b.Filename)
	b.Warning = err.Error()
	if uerr := e.Catalog.UpdateBackup(context.WithoutCancel(ctx), b); uerr != nil {
		e.logger().Error("cannot record a backup's warning", "backup", b.Filename, "err", uerr)
	}
	e.notify(ctx, actor, backup.Notification{Kind: backup.NotifyUploadFailed, Backup: b, Message: err.Error(), Error: err.Error()})
}

// uploadAll copies a completed backup to every remote that lacks it and
// records where it is. A failed upload leaves the backup completed and
// local (6.3): the failure becomes the record's warning, an audit entry and
// a notification. It returns the uploads' errors joined.
func (e *Engine) uploadAll(ctx context.Context, b *backup.Backup, actor Actor, remotes []Remote) error {
	var errs []error
	var warnings []string
	for _, r := range remotes {
		if r.has(b) {
			continue
		}
		err := e.upload(ctx, b, r)
		e.audit(ctx, actor, "upload", b, err, "upload "+b.Filename+" to "+r.label())
		if err != nil {
			err = fmt.Errorf("upload to %s failed, the backup is kept on local disk only: %w", r.label(), err)
			errs = append(errs, err)
			warnings = append(warnings, err.Error())
			e.notify(ctx, actor, backup.Notification{Kind: backup.NotifyUploadFailed, Backup: b, Message: err.Error(), Error: err.Error()})
		}
	}
	b.Warning = strings.Join(warnings, "; ")
	uctx := context.WithoutCancel(ctx)
	if err := e.Catalog.UpdateBackup(uctx, b); err != nil {
		errs = append(errs, fmt.Errorf("record uploads of backup %d: %w", b.ID, err))
	}
	return errors.Join(errs...)
}

// upload copies the local file to r, checking that what was sent is what
// the catalog recorded.
func (e *Engine) upload(ctx context.Context, b *backup.Backup, r Remote) error {
	rs, err := r.storage()
	if err != nil {
		return err
	}
	if err := copyChecked(ctx, b, e.Storage, rs); err != nil {
		return err
	}
	id := b.Filename
	if ider, ok := rs.(fileIDer); ok {
		if id, err = ider.FileID(ctx, b.Filename); err != nil {
			return fmt.Errorf("find the uploaded file: %w", err)
		}
	}
	r.mark(b, id, true)
	return nil
}

// fetch brings a backup whose local file is gone back from a remote that
// has it (4.1), checking its SHA-256 before it is used.
func (e *Engine) fetch(ctx context.Context, b *backup.Backup) error {
	var errs []error
	for _, r := range e.ActiveRemotes(ctx) {
		if !r.has(b) {
			continue
		}
		err := e.fetchFrom(ctx, b, r)
		if err == nil {
			b.IsLocal = true
			return e.Catalog.UpdateBackup(ctx, b)
		}
		errs = append(errs, fmt.Errorf("from %s: %w", r.label(), err))
	}
	if len(errs) == 0 {
		return backup.Errorf(backup.ENOTFOUND, "backup %d (%s) is not on local disk and no off-site copy is recorded", b.ID, b.Filename)
	}
	return backup.Wrap(errors.Join(errs...), backup.ErrorCode(errs[0]), "backup %d (%s) is not on local disk and could not be fetched", b.ID, b.Filename)
}

func (e *Engine) fetchFrom(ctx context.Context, b *backup.Backup, r Remote) error {
	rs, err := r.storage()
	if err != nil {
		return err
	}
	return copyChecked(ctx, b, rs, e.Storage)
}

// copyChecked copies a backup's file from one storage to another; a copy
// whose bytes do not match the catalog's SHA-256 is deleted again.
func copyChecked(ctx context.Context, b *backup.Backup, from, to backup.Storage) error {
	rc, err := from.Open(ctx, b.Filename)
	if err != nil {
		return err
	}
	defer rc.Close()
	r, sr := newUploadReader(rc)
	if _, err := to.Put(ctx, b.Filename, r); err != nil {
		return err
	}
	if err := sr.check(b); err != nil {
		_ = to.Delete(context.WithoutCancel(ctx), b.Filename)
		return err
	}
	return nil
}

// deleteRemotes removes the backup from every remote (even where the record
// says it is absent: deleting is idempotent and leaves no orphan). A copy
// that cannot be deleted keeps the record, with the reason as its warning.
func (e *Engine) deleteRemotes(ctx context.Context, b *backup.Backup) error {
	var errs []error
	for _, r := range e.ActiveRemotes(ctx) {
		rs, err := r.storage()
		if err != nil && !r.has(b) {
			continue // no copy recorded there: nothing to orphan
		}
		if err == nil {
			err = rs.Delete(ctx, b.Filename)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("the copy on %s could not be deleted (the record is kept so the copy is not orphaned; try again): %w", r.label(), err))
			continue
		}
		r.mark(b, "", false)
	}
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	b.Warning = err.Error()
	if uerr := e.Catalog.UpdateBackup(context.WithoutCancel(ctx), b); uerr != nil {
		err = errors.Join(err, uerr)
	}
	return err
}

// SyncResult counts what Sync did.
type SyncResult struct {
	Uploaded int // copies made
	Failed   int // copies that could not be made
}

// Sync uploads every completed backup that is missing on a configured
// remote (e.g. after Drive was down), as `hmsbackup sync` does.
func (e *Engine) Sync(ctx context.Context, actor Actor) (SyncResult, error) {
	var res SyncResult
	copies, err := e.lockCopies(ctx, "sync of off-site copies")
	if err != nil {
		return res, err
	}
	defer copies.Release()
	completed := backup.StatusCompleted
	backups, _, err := e.Catalog.FindBackups(ctx, backup.BackupFilter{Status: &completed})
	if err != nil {
		return res, err
	}
	var errs []error
	remotes := e.ActiveRemotes(ctx)
	for _, b := range backups {
		if b.Source == backup.SourcePreRestore || !b.IsLocal {
			continue
		}
		missing := 0
		for _, r := range remotes {
			if !r.has(b) {
				missing++
			}
		}
		if missing == 0 {
			continue
		}
		err := e.uploadAll(ctx, b, actor, remotes)
		still := 0
		for _, r := range remotes {
			if !r.has(b) {
				still++
			}
		}
		res.Uploaded += missing - still
		res.Failed += still
		if err != nil {
			errs = append(errs, fmt.Errorf("backup %d: %w", b.ID, err))
		}
	}
	return res, errors.Join(errs...)
}
