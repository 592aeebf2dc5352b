package backup

import (
	"context"
	"time"
)

// NotificationKind says what happened. The values are stable: they name
// the event in webhooks, log lines and the audit trail.
type NotificationKind string

const (
	NotifyBackupFailed  NotificationKind = "backup_failed"  // 1.5, 7.2
	NotifyUploadFailed  NotificationKind = "upload_failed"  // 6.3: the backup is local only
	NotifyRestoreFailed NotificationKind = "restore_failed" // 4.6, 7.3
	// NotifyRestoreWarning: the restore completed, but something outside
	// the database it restored (another database's foreign keys) broke.
	NotifyRestoreWarning NotificationKind = "restore_warning"
	// NotifyCleanupFailed: the retention cleanup could not delete (or
	// prune) some backups, or could not run at all; the message says which
	// and why. Backup is nil: one notification covers the whole run.
	NotifyCleanupFailed NotificationKind = "cleanup_failed"
	// NotifyScheduledBackupFailed: a queued (scheduled) backup failed its
	// last attempt (2.3, 7.4); sent once, not once per attempt.
	NotifyScheduledBackupFailed NotificationKind = "scheduled_backup_failed"
	// NotifyBackupRecovered: a backup completed after the backup before it
	// had failed; the failures are over.
	NotifyBackupRecovered NotificationKind = "backup_recovered"
	// NotifyTest is sent by `hmsbackup notify test`.
	NotifyTest NotificationKind = "test"
)

// Rollback says what became of the database after a restore failed.
type Rollback string

const (
	// RollbackNone: not a failed restore.
	RollbackNone Rollback = ""
	// RollbackNotNeeded: the restore failed before the database was
	// changed; it is as it was.
	RollbackNotNeeded Rollback = "not_needed"
	// RollbackSucceeded: the database was changed, and the pre-restore
	// backup put it back as it was.
	RollbackSucceeded Rollback = "succeeded"
	// RollbackFailed: putting the pre-restore backup back failed too; the
	// database may be incomplete.
	RollbackFailed Rollback = "failed"
)

// Notification is something people must hear about, with the error.
type Notification struct {
	Kind    NotificationKind
	Backup  *Backup // nil if the failure happened before a record existed
	Message string  // what happened, with the error, in one line; never holds secrets
	// Error is the error alone ("" when nothing failed), for channels that
	// carry it as a field of its own.
	Error string
	// Rollback says, for a failed restore, whether the database was put
	// back.
	Rollback Rollback
	// Time is when it happened; zero means when it is sent.
	Time time.Time
}

// Notifier tells people about failures (e-mail, webhooks, logs). Notify
// returns an error if the notification could not be sent on some channel,
// naming the channel, so a caller can log, audit and retry it.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}
