package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/notify"
)

func TestLogNotifierWritesTheErrorAndTheBackup(t *testing.T) {
	var buf bytes.Buffer
	n := &notify.Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	err := n.Notify(context.Background(), backup.Notification{Kind: backup.NotifyUploadFailed,
		Backup: &backup.Backup{ID: 7, Filename: "hms_backup_20250101_000000.sql.gz"}, Message: "upload to S3 failed: bucket gone"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=ERROR", "kind=upload_failed", "bucket gone", "backup_id=7", "hms_backup_20250101_000000.sql.gz"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %q", buf.String(), want)
		}
	}
}
