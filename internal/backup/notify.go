package backup

import "context"

// NotificationKind says what went wrong.
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
)

// Notification is something people must hear about, with the error.
type Notification struct {
	Kind    NotificationKind
	Backup  *Backup // nil if the failure happened before a record existed
	Message string  // what happened and what to do; never holds secrets
}

// Notifier tells people about failures (e-mail, webhooks, logs). Notify
// returns an error if the notification could not be sent; callers log it.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}
