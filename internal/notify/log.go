package notify

import (
	"context"
	"log/slog"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

var _ Channel = (*Log)(nil)

// Log writes notifications to a logger: failures at error level, a
// recovery or a test at info level. It never fails, so no notification
// goes unheard even when mail and webhooks do.
type Log struct{ Logger *slog.Logger }

// Name is "log".
func (l *Log) Name() string { return "log" }

// Notify implements backup.Notifier; it never fails.
func (l *Log) Notify(ctx context.Context, n backup.Notification) error {
	attrs := []any{"kind", n.Kind, "message", n.Message}
	if n.Error != "" && n.Error != n.Message {
		attrs = append(attrs, "error", n.Error)
	}
	if n.Rollback != backup.RollbackNone {
		attrs = append(attrs, "rollback", n.Rollback)
	}
	if n.Backup != nil {
		attrs = append(attrs, "backup_id", n.Backup.ID, "filename", n.Backup.Filename)
	}
	level := slog.LevelError
	if n.Kind == backup.NotifyBackupRecovered || n.Kind == backup.NotifyTest {
		level = slog.LevelInfo
	}
	l.Logger.Log(ctx, level, "NOTIFICATION", attrs...)
	return nil
}
