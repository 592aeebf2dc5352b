package web

import (
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
)

// Status is the state of the backups at a glance: `hmsbackup status
// --json`, GET /api/v1/status and the status strip on every page.
type Status struct {
	OK              bool           `json:"ok"`
	Problem         string         `json:"problem,omitempty"`
	NewestGood      *backup.Backup `json:"newest_good_backup"`
	NewestAgeSecs   *int64         `json:"newest_good_backup_age_seconds"`
	MaxBackupAge    string         `json:"max_backup_age"`
	NextRun         *time.Time     `json:"next_scheduled_run"`
	ScheduleEnabled bool           `json:"schedule_enabled"`
	LastFailure     *backup.Backup `json:"last_failed_backup"`
	QueuedJobs      int            `json:"queued_jobs"`
	// InterruptedRestore is a restore that a crash or a failed rollback
	// left unfinished: the database may be incomplete.
	InterruptedRestore *engine.InterruptedRestore `json:"interrupted_restore,omitempty"`
	// RestoreRunning is true while a restore is under way.
	RestoreRunning bool `json:"restore_running,omitempty"`
}
