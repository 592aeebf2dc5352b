package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/queue"
	"github.com/hmsbackup/hmsbackup/internal/web"
)

// statusReport is `status --json`, and what the web UI's status strip and
// GET /api/v1/status show.
type statusReport = web.Status

func (c *cli) statusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Is the newest good backup recent enough? Also the next scheduled run, the last failure, queued jobs (exit 1 if too old)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				r, err := a.status(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					err = writeJSON(c.stdout, r)
				} else {
					c.printStatus(a, r)
				}
				if err == nil && !r.OK {
					return &staleBackupsError{problem: r.Problem}
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// staleBackupsError makes `status` exit 1 for monitoring (cron, Nagios).
type staleBackupsError struct{ problem string }

func (e *staleBackupsError) Error() string { return e.problem }

func (a *app) status(ctx context.Context) (*statusReport, error) {
	settings, err := a.catalog.Settings(ctx)
	if err != nil {
		return nil, err
	}
	maxAge := time.Duration(settings.MaxBackupAge)
	r := &statusReport{OK: true, MaxBackupAge: maxAge.String(), ScheduleEnabled: settings.ScheduleEnabled}
	if r.NewestGood, _, err = lastGood(ctx, a.catalog); err != nil {
		return nil, err
	}
	now := time.Now()
	if r.NewestGood == nil {
		r.OK, r.Problem = false, "there is no good backup at all: take one (hmsbackup create) and check the schedule"
	} else {
		age := now.Sub(backupTime(r.NewestGood))
		secs := int64(age.Seconds())
		r.NewestAgeSecs = &secs
		if age > maxAge {
			r.OK, r.Problem = false, fmt.Sprintf("the newest good backup (%d) is %s old, more than max_backup_age %s: is the scheduler running (hmsbackup serve)?",
				r.NewestGood.ID, age.Round(time.Minute), maxAge)
		}
	}
	if next, enabled, err := a.nextScheduledRun(ctx, now); err == nil && enabled {
		r.NextRun = &next
	}
	failed := backup.StatusFailed
	if fs, _, err := a.catalog.FindBackups(ctx, backup.BackupFilter{Status: &failed, Limit: 1}); err == nil && len(fs) == 1 {
		r.LastFailure = fs[0]
	}
	q := a.queue // serve's
	if q == nil {
		if q, err = queue.Open(ctx, queue.Config{CatalogPath: filepath.Join(a.cfg.DataDir, "catalog.db")}); err != nil {
			return nil, err
		}
		defer q.Close()
	}
	if r.QueuedJobs, err = q.Depth(ctx); err != nil {
		return nil, err
	}
	if m, err := a.engine.InterruptedRestore(); err == nil && m != nil {
		if m.Running {
			r.RestoreRunning = true
		} else {
			r.InterruptedRestore = m
		}
	}
	return r, nil
}

// backupTime is when a backup was finished (or started, if unknown).
func backupTime(b *backup.Backup) time.Time {
	if b.CompletedAt != nil {
		return *b.CompletedAt
	}
	return b.CreatedAt
}

func (c *cli) printStatus(a *app, r *statusReport) {
	loc := a.cfg.Location
	if r.NewestGood != nil {
		fmt.Fprintf(c.stdout, "Newest good backup: %d, %s (%s ago; limit %s)\n", r.NewestGood.ID,
			backupTime(r.NewestGood).In(loc).Format("2006-01-02 15:04:05 MST"), (time.Duration(*r.NewestAgeSecs) * time.Second).String(), r.MaxBackupAge)
	} else {
		fmt.Fprintln(c.stdout, "Newest good backup: none")
	}
	switch {
	case r.NextRun != nil:
		fmt.Fprintf(c.stdout, "Next scheduled run: %s\n", r.NextRun.In(loc).Format("2006-01-02 15:04 MST"))
	default:
		fmt.Fprintln(c.stdout, "Next scheduled run: none (the schedule is off)")
	}
	if r.LastFailure != nil {
		fmt.Fprintf(c.stdout, "Last failure: backup %d at %s: %s\n", r.LastFailure.ID, r.LastFailure.CreatedAt.In(loc).Format("2006-01-02 15:04:05 MST"), oneLine(r.LastFailure.ErrorMessage))
	} else {
		fmt.Fprintln(c.stdout, "Last failure: none")
	}
	fmt.Fprintf(c.stdout, "Queued jobs: %d\n", r.QueuedJobs)
}
