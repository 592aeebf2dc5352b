// Package notify delivers failure notifications. Log is the notifier used
// until e-mail is configured: it writes each notification as an error log
// line, so no failure goes unheard.
package notify

import (
	"context"
	"log/slog"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

var _ backup.Notifier = (*Log)(nil)

// Log writes notifications to a logger at error level.
type Log struct{ Logger *slog.Logger }

// Notify implements backup.Notifier; it never fails.
func (l *Log) Notify(ctx context.Context, n backup.Notification) error {
	attrs := []any{"kind", n.Kind, "message", n.Message}
	if n.Backup != nil {
		attrs = append(attrs, "backup_id", n.Backup.ID, "filename", n.Backup.Filename)
	}
	l.Logger.ErrorContext(ctx, "NOTIFICATION", attrs...)
	return nil
}
