package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/queue"
)

// JobView is a backup or restore job as the job page and GET
// /api/v1/jobs/{id} show it.
type JobView struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"` // "backup" or "restore"
	// State is queued, running, retrying, completed or failed.
	State       string            `json:"state"`
	Finished    bool              `json:"finished"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"max_attempts"`
	Progress    *ProgressSnapshot `json:"progress"` // while this server runs it
	// BackupID is the backup the job made (backup) or restores (restore).
	BackupID   int64           `json:"backup_id,omitempty"`
	Restore    *RestoreOutcome `json:"restore,omitempty"`
	Errors     []string        `json:"errors"`
	Actor      string          `json:"actor"`
	CreatedAt  time.Time       `json:"created_at"`
	FinishedAt *time.Time      `json:"finished_at"`
}

// RestoreOutcome is what a restore job records, failed or not.
type RestoreOutcome struct {
	BackupID          int64                     `json:"backup_id"`
	PreRestoreID      int64                     `json:"pre_restore_backup_id,omitempty"`
	PreRestoreSeconds float64                   `json:"pre_restore_seconds"`
	RestoreSeconds    float64                   `json:"restore_seconds"`
	RolledBack        bool                      `json:"rolled_back"`
	RollbackFailed    bool                      `json:"rollback_failed"`
	ForeignKeys       []backup.ForeignKey       `json:"inbound_foreign_keys"`
	BrokenForeignKeys []backup.BrokenForeignKey `json:"broken_foreign_keys"`
	Error             string                    `json:"error,omitempty"`
}

func (s *Server) viewOf(st queue.JobState) JobView {
	v := JobView{ID: st.ID, Attempt: st.Attempt, MaxAttempts: st.MaxAttempts, Errors: st.Errors,
		CreatedAt: st.CreatedAt, FinishedAt: st.FinalizedAt, Finished: st.Finished()}
	if v.Errors == nil {
		v.Errors = []string{}
	}
	switch st.Kind {
	case (queue.RestoreArgs{}).Kind():
		v.Kind, v.BackupID, v.Actor = "restore", st.Restore.BackupID, st.Restore.Actor
		if len(st.Output) > 0 {
			var o RestoreOutcome
			if json.Unmarshal(st.Output, &o) == nil {
				v.Restore = &o
			}
		}
	default:
		v.Kind, v.BackupID, v.Actor = "backup", st.BackupID, st.Args.Actor
	}
	switch st.State {
	case "available", "scheduled", "pending":
		v.State = "queued"
	case "running":
		v.State = "running"
	case "retryable":
		v.State = "retrying"
	case "completed":
		v.State = "completed"
	default:
		v.State = "failed"
	}
	if p, ok := s.cfg.Progress.Snapshot(st.ID); ok {
		v.Progress = &p
	}
	return v
}

// trackQueued shows a job this server queued as queued until it starts.
func (s *Server) trackQueued(id int64) {
	s.cfg.Progress.Start(id).Phase("queued", 0)
}

// activeJobs lists the jobs queued or running, for the list page.
func (s *Server) activeJobs(r *http.Request) []JobView {
	lister, ok := s.cfg.Jobs.(activeLister)
	if !ok {
		return nil
	}
	sts, err := lister.Active(r.Context())
	if err != nil {
		s.log.Warn("list active jobs", "err", err)
		return nil
	}
	views := make([]JobView, len(sts))
	for i, st := range sts {
		views[i] = s.viewOf(st)
	}
	return views
}

// BackupProgress returns the progress writer of backup job id, for the
// queue's backup handler (engine.CreateRequest.Progress).
func (p *Progress) BackupProgress(id int64) *progressWriter {
	jp := p.Start(id)
	jp.Phase("dumping", 0)
	return jp.Writer()
}

// RunRestore returns the queue's restore handler: it restores with e,
// shows progress in p, and records a RestoreOutcome with the job, failed
// or not. The engine audits and notifies.
func RunRestore(e *engine.Engine, p *Progress) queue.RestoreHandler {
	return func(ctx context.Context, id int64, args queue.RestoreArgs) error {
		jp := p.Start(id)
		jp.Phase("checking", 0)
		pre := &phaseWriter{jp: jp, name: "pre-restore backup"}
		b, err := e.Catalog.FindBackupByID(ctx, args.BackupID)
		var total int64
		if err == nil {
			total = b.FileSize
		}
		main := &phaseWriter{jp: jp, name: "restoring", total: total}
		res, err := e.Restore(ctx, engine.RestoreRequest{BackupID: args.BackupID, Into: args.Into,
			Actor:    engine.Actor{Name: args.Actor, UserID: args.UserID, SourceAddress: args.SourceAddress, UserAgent: args.UserAgent},
			Progress: main, PreRestoreProgress: pre})
		out := RestoreOutcome{BackupID: args.BackupID}
		if res != nil {
			if res.PreRestore != nil {
				out.PreRestoreID = res.PreRestore.ID
			}
			out.PreRestoreSeconds, out.RestoreSeconds = res.PreRestoreDuration.Seconds(), res.RestoreDuration.Seconds()
			out.RolledBack, out.RollbackFailed = res.RolledBack, res.RollbackFailed
			out.ForeignKeys, out.BrokenForeignKeys = res.ForeignKeys, res.BrokenForeignKeys
		}
		if err != nil {
			out.Error = err.Error()
			jp.Phase("failed", 0)
		} else {
			jp.Phase("done", 0)
		}
		if rerr := queue.RecordOutput(ctx, out); rerr != nil && err == nil {
			return fmt.Errorf("record the restore's outcome: %w", rerr)
		}
		return err
	}
}

// phaseWriter starts its phase at its first write.
type phaseWriter struct {
	jp      *JobProgress
	name    string
	total   int64
	started bool
}

func (w *phaseWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.started = true
		w.jp.Phase(w.name, w.total)
	}
	w.jp.bytes.Add(int64(len(b)))
	return len(b), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
