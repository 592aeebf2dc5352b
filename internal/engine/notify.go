package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// notifyTimeout bounds how long sending one notification may hold up the
// operation that sends it (a mail server that does not answer).
const notifyTimeout = 2 * time.Minute

// Notify tells people about something the engine's caller found (a queued
// backup that failed its last attempt, a cleanup that failed). Like the
// engine's own notifications, one that cannot be sent is logged and
// audited (action "notify", outcome failure, actor "system"), never
// returned: it must not hide or change the outcome it is about.
func (e *Engine) Notify(ctx context.Context, n backup.Notification) {
	e.notify(ctx, Actor{Name: "system"}, n)
}

// NotifyAs is Notify with the actor the audit names if the notification
// cannot be sent.
func (e *Engine) NotifyAs(ctx context.Context, actor Actor, n backup.Notification) {
	e.notify(ctx, actor, n)
}

// notify sends n, stamped with the engine's time, even if ctx was
// cancelled (a Ctrl-C'd restore must still be heard of), within
// notifyTimeout. A failure to send is logged and audited as actor's, and
// goes no further.
func (e *Engine) notify(ctx context.Context, actor Actor, n backup.Notification) {
	if e.Notifier == nil {
		return
	}
	if n.Time.IsZero() {
		n.Time = e.now()
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	err := e.Notifier.Notify(nctx, n)
	if err == nil {
		return
	}
	e.logger().Error("cannot send notification", "kind", n.Kind, "err", err)
	e.audit(ctx, actor, backup.ActionNotify, n.Backup, err, fmt.Sprintf("%s notification could not be sent", n.Kind))
}

// maxRecoveryScan bounds how far back a recovery looks for failures.
const maxRecoveryScan = 1000

// notifyRecovery sends a backup_recovered notification when b completed
// and the backup before it (pre-restore and running backups aside) failed.
func (e *Engine) notifyRecovery(ctx context.Context, actor Actor, b *backup.Backup) {
	if b.Source == backup.SourcePreRestore || b.Status != backup.StatusCompleted {
		return
	}
	failed, n, err := e.failuresBefore(ctx, b)
	if err != nil {
		e.logger().Warn("cannot tell whether backups failed before this one", "backup", b.Filename, "err", err)
		return
	}
	if n == 0 {
		return
	}
	ids := make([]string, len(failed))
	for i, f := range failed {
		ids[i] = fmt.Sprintf("#%d", f.ID)
	}
	if n > len(failed) {
		ids = append(ids, "...")
	}
	msg := fmt.Sprintf("backup %d (%s) of %s completed; the %s before it failed (%s)",
		b.ID, b.Filename, b.DBName, backup.Count(n, "backup"), strings.Join(ids, ", "))
	if last := failed[0].ErrorMessage; last != "" {
		msg += ", the last with: " + last
	}
	e.notify(ctx, actor, backup.Notification{Kind: backup.NotifyBackupRecovered, Backup: b, Message: msg})
}

// failuresBefore returns the failed backups, newest first and at most 5,
// between b and the newest completed backup before it, and how many there
// are; pre-restore backups and those still pending are passed over.
func (e *Engine) failuresBefore(ctx context.Context, b *backup.Backup) ([]*backup.Backup, int, error) {
	const page = 50
	var failed []*backup.Backup
	n := 0
	for off := 0; off < maxRecoveryScan; off += page {
		bs, _, err := e.Catalog.FindBackups(ctx, backup.BackupFilter{Offset: off, Limit: page})
		if err != nil {
			return nil, 0, err
		}
		for _, x := range bs {
			if x.ID >= b.ID || x.Source == backup.SourcePreRestore || x.Status == backup.StatusPending {
				continue
			}
			if x.Status != backup.StatusFailed {
				return failed, n, nil
			}
			n++
			if len(failed) < 5 {
				failed = append(failed, x)
			}
		}
		if len(bs) < page {
			break
		}
	}
	return failed, n, nil
}
