package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/retention"
)

// RetentionActorName is the actor the retention cleanup's deletions are
// audited under; the entry's details name who asked for the cleanup.
const RetentionActorName = "retention"

// FailedRecordsKeptFor is how long the records of failed backups are kept
// before a cleanup prunes them.
const FailedRecordsKeptFor = 30 * 24 * time.Hour

// CleanupRequest asks for one run of the retention policy.
type CleanupRequest struct {
	// Actor is who asked: a CLI user, the scheduler. The cleanup is
	// audited under this actor; each deletion under RetentionActorName.
	Actor Actor
	// DryRun only plans: nothing is deleted, pruned, audited or notified,
	// and no lock is taken.
	DryRun bool
}

// CleanupFailure is a backup the cleanup meant to delete (or a failed
// record it meant to prune) and could not; its record is still there.
type CleanupFailure struct {
	Backup *backup.Backup `json:"backup"`
	Why    string         `json:"why"`   // why it was to be deleted
	Error  string         `json:"error"` // why it could not be
}

// CleanupResult is what a cleanup decided and did. In a dry run, Deleted
// and Pruned list what a real run would delete and prune.
type CleanupResult struct {
	DryRun   bool             `json:"dry_run"`
	Policy   retention.Policy `json:"policy"`
	Timezone string           `json:"timezone"` // the zone of the policy's days, weeks and months
	// Kept are the completed backups the policy keeps, newest first, each
	// with what keeps it.
	Kept []retention.Decision `json:"kept"`
	// Deleted are the completed backups removed (every copy, then the
	// record), newest first, each with why no rule kept it.
	Deleted []retention.Decision `json:"deleted"`
	// Pruned are the records of failed backups older than
	// FailedRecordsKeptFor that were removed (they have no file).
	Pruned []retention.Decision `json:"pruned"`
	// Failed are the deletions and prunes that failed, with the error.
	Failed []CleanupFailure `json:"failed"`
}

// Cleanup applies the retention policy of the saved settings (5.1-5.4):
// in the settings' time zone (else the engine's Location), it plans over
// every completed backup with retention.Plan, and deletes each backup no
// rule keeps through the user's delete path (every copy, then the record),
// audited with actor RetentionActorName. Protected backups and the newest
// completed backup are never deleted; all limits 0 deletes nothing. It
// also prunes the records of failed backups older than
// FailedRecordsKeptFor.
//
// Like Delete, it holds the database's lock while it works, so no backup
// or restore of the database runs meanwhile (it waits LockWait, then
// returns EBUSY), and what it planned still holds when it deletes.
//
// One backup that cannot be deleted (a remote refusing) does not stop the
// others: it is listed in Failed, and Cleanup returns the result with an
// error naming each failure and sends one NotifyCleanupFailed
// notification. An error with a nil result means the cleanup could not
// run at all (nothing was deleted); that is notified too, unless ctx was
// cancelled or it was a dry run.
func (e *Engine) Cleanup(ctx context.Context, req CleanupRequest) (*CleanupResult, error) {
	res, err := e.cleanup(ctx, req)
	if err != nil && res == nil && !req.DryRun {
		e.audit(ctx, req.Actor, backup.ActionCleanup, nil, err, "cleanup not done")
	}
	if err != nil && !req.DryRun && ctx.Err() == nil {
		e.notify(ctx, req.Actor, backup.Notification{Kind: backup.NotifyCleanupFailed, Message: err.Error(), Error: err.Error()})
	}
	return res, err
}

func (e *Engine) cleanup(ctx context.Context, req CleanupRequest) (*CleanupResult, error) {
	settings, err := e.Catalog.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention cleanup: read settings: %w", err)
	}
	loc := e.location()
	if settings.Timezone != "" {
		if loc, err = time.LoadLocation(settings.Timezone); err != nil {
			return nil, backup.Wrap(err, backup.EINVALID, "retention cleanup: the settings' time zone %q is not a known IANA zone, so retention cannot tell its days", settings.Timezone)
		}
	}
	policy := retention.PolicyOf(settings)
	res := &CleanupResult{DryRun: req.DryRun, Policy: policy, Timezone: loc.String(),
		Kept: []retention.Decision{}, Deleted: []retention.Decision{}, Pruned: []retention.Decision{}, Failed: []CleanupFailure{}}

	if !req.DryRun {
		info := e.Dumper.Info()
		l, err := e.Locker.Acquire(ctx, info.Key, "retention cleanup of database "+info.Database, e.LockWait)
		if err != nil {
			return nil, fmt.Errorf("retention cleanup not started: %w", err)
		}
		defer l.Release()
		// Uploads of a backup it may delete finish first (no orphan copy).
		copies, err := e.lockCopies(ctx, "retention cleanup of database "+info.Database)
		if err != nil {
			return nil, fmt.Errorf("retention cleanup not started: %w", err)
		}
		defer copies.Release()
	}

	completed, err := e.allBackups(ctx, backup.StatusCompleted)
	if err != nil {
		return nil, fmt.Errorf("retention cleanup: %w", err)
	}
	failed, err := e.allBackups(ctx, backup.StatusFailed)
	if err != nil {
		return nil, fmt.Errorf("retention cleanup: %w", err)
	}

	actor := Actor{Name: RetentionActorName}
	run := fmt.Sprintf("retention cleanup (%s; %s) requested by %s", policy, loc, req.Actor.Name)
	var errs []error
	fail := func(b *backup.Backup, why string, err error) {
		res.Failed = append(res.Failed, CleanupFailure{Backup: b, Why: why, Error: err.Error()})
		errs = append(errs, fmt.Errorf("backup %d (%s): %w", b.ID, b.Filename, err))
	}
	for _, d := range retention.Plan(completed, policy, loc) {
		switch {
		case d.Keep:
			res.Kept = append(res.Kept, d)
			continue
		case req.DryRun:
			res.Deleted = append(res.Deleted, d)
			continue
		case ctx.Err() != nil:
			fail(d.Backup, d.Why, fmt.Errorf("not deleted, the cleanup was stopped: %w", ctx.Err()))
			continue
		}
		b, protected, err := e.deletePlanned(ctx, d, actor, run)
		d.Backup = b
		switch {
		case err != nil:
			fail(b, d.Why, err)
		case protected:
			res.Kept = append(res.Kept, retention.Decision{Backup: b, Keep: true, KeptBy: []retention.Reason{{Rule: retention.RuleProtected}}})
		default:
			res.Deleted = append(res.Deleted, d)
		}
	}

	cutoff := e.now().Add(-FailedRecordsKeptFor)
	why := fmt.Sprintf("failed backup record older than %d days", int(FailedRecordsKeptFor/(24*time.Hour)))
	for _, b := range failed {
		if !b.CreatedAt.Before(cutoff) {
			continue
		}
		d := retention.Decision{Backup: b, Why: why}
		if req.DryRun {
			res.Pruned = append(res.Pruned, d)
			continue
		}
		if ctx.Err() != nil {
			fail(b, why, fmt.Errorf("not pruned, the cleanup was stopped: %w", ctx.Err()))
			continue
		}
		err := e.Catalog.DeleteBackup(ctx, b.ID)
		if backup.ErrorCode(err) == backup.ENOTFOUND {
			err = nil // gone already, as pruning wants
		}
		e.audit(ctx, actor, backup.ActionDelete, b, err, "prune record "+b.Filename+": "+why+"; "+run)
		if err != nil {
			fail(b, why, fmt.Errorf("prune record: %w", err))
			continue
		}
		res.Pruned = append(res.Pruned, d)
	}

	if req.DryRun {
		return res, nil
	}
	var runErr error
	if len(errs) > 0 {
		runErr = fmt.Errorf("retention cleanup could not delete %s: %w", backup.Count(len(errs), "backup"), errors.Join(errs...))
	}
	e.audit(ctx, req.Actor, backup.ActionCleanup, nil, runErr, fmt.Sprintf("%s: kept %d, deleted %d, pruned %d failed records, %d not deleted",
		run, len(res.Kept), len(res.Deleted), len(res.Pruned), len(res.Failed)))
	return res, runErr
}

// deletePlanned deletes a backup the plan does not keep through the user's
// delete path, audited, after reading its record again: it returns that
// record, and protected true (nothing deleted) if the backup was protected
// since it was listed. A record already gone counts as deleted.
func (e *Engine) deletePlanned(ctx context.Context, d retention.Decision, actor Actor, run string) (*backup.Backup, bool, error) {
	b, err := e.Catalog.FindBackupByID(ctx, d.Backup.ID)
	switch {
	case backup.ErrorCode(err) == backup.ENOTFOUND:
		return d.Backup, false, nil
	case err != nil:
		return d.Backup, false, fmt.Errorf("read record: %w", err)
	case b.IsProtected:
		return b, true, nil
	}
	err = e.delete(ctx, b)
	e.audit(ctx, actor, backup.ActionDelete, b, err, "delete "+b.Filename+": "+d.Why+"; "+run)
	return b, false, err
}

// allBackups returns every record of that status, newest first, reading
// the catalog a page at a time.
func (e *Engine) allBackups(ctx context.Context, status backup.Status) ([]*backup.Backup, error) {
	const page = 500
	var all []*backup.Backup
	seen := map[int64]bool{}
	for offset := 0; ; offset += page {
		bs, total, err := e.Catalog.FindBackups(ctx, backup.BackupFilter{Status: &status, Offset: offset, Limit: page})
		if err != nil {
			return nil, fmt.Errorf("list %s backups: %w", status, err)
		}
		for _, b := range bs {
			if !seen[b.ID] {
				seen[b.ID] = true
				all = append(all, b)
			}
		}
		if len(bs) < page || offset+page >= total {
			return all, nil
		}
	}
}
