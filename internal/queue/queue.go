// Package queue runs hmsbackup's durable jobs: backups asked for by the
// scheduler, the CLI-to-server path and (later) the web UI. Jobs live in
// the catalog's SQLite file (River, with its SQLite driver), so a job
// queued or running when the server dies runs again when it comes back.
//
// River is an implementation detail: callers see Queue's methods and the
// Enqueuer interface, so a PostgreSQL-backed queue serving several nodes
// can replace this one.
package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// BackupArgs are a backup job's arguments.
type BackupArgs struct {
	Source backup.Source `json:"source"`
	Actor  string        `json:"actor"`
	// UserID, SourceAddress and UserAgent say which web or API user asked,
	// from where, for the audit; empty for the CLI and the scheduler.
	UserID        *int64 `json:"user_id,omitempty"`
	SourceAddress string `json:"source_address,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`
	// ScheduledFor is the scheduled run a backup is for (zero for manual
	// ones): one job per run time, however often it is enqueued.
	ScheduledFor time.Time `json:"scheduled_for,omitzero"`
}

// Kind names backup jobs in the queue's table.
func (BackupArgs) Kind() string { return "create_backup" }

// RestoreArgs are a restore job's arguments. A restore job runs once: it
// is never tried again, and one left running by a stopped server is
// discarded at the next start (the engine's interrupted-restore marker
// then says what to do).
type RestoreArgs struct {
	BackupID      int64  `json:"backup_id"`
	Actor         string `json:"actor"`
	UserID        *int64 `json:"user_id,omitempty"`
	SourceAddress string `json:"source_address,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`
	Into          string `json:"into,omitempty"`
}

// Kind names restore jobs in the queue's table.
func (RestoreArgs) Kind() string { return "restore_backup" }

// RestoreHandler runs a restore job; what it returns with RecordOutput is
// kept with the job.
type RestoreHandler func(ctx context.Context, id int64, args RestoreArgs) error

// Job is one attempt of a backup job, as its Handler sees it.
type Job struct {
	ID          int64
	Attempt     int // 1 for the first
	MaxAttempts int
	Args        BackupArgs
}

// LastAttempt reports whether a failure of this attempt is final.
func (j Job) LastAttempt() bool { return j.Attempt >= j.MaxAttempts }

// Handler runs one attempt of a backup job. An error makes the queue try
// again after the retry delay, until the attempts are used up; then the job
// is discarded with the error kept.
type Handler func(ctx context.Context, job Job) error

// Enqueuer is what asks for backups: the scheduler, the CLI, the web UI.
type Enqueuer interface {
	// EnqueueBackup queues a backup and returns its job's ID. For a
	// scheduled backup already queued for the same ScheduledFor it returns
	// that job's ID and duplicate true.
	EnqueueBackup(ctx context.Context, args BackupArgs) (id int64, duplicate bool, err error)
}

// NotifyArgs are a notification job's: a notification to send again on
// the channels that failed.
type NotifyArgs struct {
	Notification backup.Notification `json:"notification"`
	Channels     []string            `json:"channels"`
}

// Kind names notification jobs in the queue's table.
func (NotifyArgs) Kind() string { return "notify" }

// NotifyHandler sends a notification job's notification once; an error
// makes the queue try again later (NotifyAttempts in all).
type NotifyHandler func(ctx context.Context, args NotifyArgs) error

// Config configures a Queue. Zero values take the defaults.
type Config struct {
	CatalogPath string        // the catalog's SQLite file (already migrated)
	Attempts    int           // tries per backup job; default 3
	RetryDelay  time.Duration // between tries; default 60 s
	// PollInterval is how often idle workers look for jobs other
	// processes queued (SQLite cannot tell them; Wake can); default 1 s.
	// Jobs this process queues start at once.
	PollInterval time.Duration
	Logger       *slog.Logger
	// Handler runs backup jobs. Without one the Queue only inserts and
	// reads jobs (the CLI); Start is then an error.
	Handler Handler
	// NotifyHandler resends notifications that could not be sent; nil:
	// they are not retried.
	NotifyHandler NotifyHandler
	// NotifyAttempts is how often a notification is tried again; default 5.
	NotifyAttempts int
	// RestoreHandler runs restore jobs (the web UI's and the API's); nil:
	// restore jobs cannot be queued.
	RestoreHandler RestoreHandler
}

// Queue is the River-backed job queue on the catalog file.
type Queue struct {
	db             *sql.DB
	client         *river.Client[*sql.Tx]
	attempts       int
	notifyAttempts int
	logger         *slog.Logger
	working        bool
}

var _ Enqueuer = (*Queue)(nil)

// Open connects to the queue's tables in the catalog file.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	if cfg.CatalogPath == "" {
		return nil, backup.Errorf(backup.EINVALID, "the job queue needs the catalog's path")
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 60 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(cfg.CatalogPath)
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "resolve catalog path %q", cfg.CatalogPath)
	}
	db, err := sql.Open("sqlite", catalogsqlite.DSN(abs))
	if err != nil {
		return nil, backup.Wrap(err, backup.EINTERNAL, "open the job queue in %s", abs)
	}
	// River's SQLite driver runs best on one connection: SQLite has one
	// writer, and River's maintenance runs alongside the workers.
	db.SetMaxOpenConns(1)
	rc := &river.Config{
		Logger:               cfg.Logger,
		MaxAttempts:          cfg.Attempts,
		RetryPolicy:          fixedDelay(cfg.RetryDelay),
		JobTimeout:           -1,                 // a backup takes as long as it takes
		RescueStuckJobsAfter: 7 * 24 * time.Hour, // see Start: a restart recovers them
		PollOnly:             true,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, river.FetchCooldownDefault),
	}
	if cfg.NotifyAttempts <= 0 {
		cfg.NotifyAttempts = 5
	}
	q := &Queue{db: db, attempts: cfg.Attempts, notifyAttempts: cfg.NotifyAttempts, logger: cfg.Logger}
	if cfg.Handler != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, &backupWorker{handle: cfg.Handler})
		river.AddWorker(workers, &wakeWorker{})
		if cfg.NotifyHandler != nil {
			river.AddWorker(workers, &notifyWorker{send: cfg.NotifyHandler})
		}
		if cfg.RestoreHandler != nil {
			river.AddWorker(workers, &restoreWorker{restore: cfg.RestoreHandler})
		}
		rc.Workers = workers
		// One backup at a time per node: the engine's lock would refuse a
		// second one anyway.
		// Notifications have their own worker: a retry must not wait for
		// a long backup.
		// Restores have their own too: the engine's lock decides between a
		// backup and a restore, and a restore must not wait behind a
		// queued backup.
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}, notifyQueue: {MaxWorkers: 1}, restoreQueue: {MaxWorkers: 1}}
		q.working = true
	}
	client, err := river.NewClient(pollDriver{riversqlite.New(db)}, rc)
	if err != nil {
		db.Close()
		return nil, backup.Wrap(err, backup.EINTERNAL, "set up the job queue")
	}
	q.client = client
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, backup.Wrap(err, backup.EUNAVAILABLE, "open the job queue in %s", abs)
	}
	return q, nil
}

// pollDriver is River's SQLite driver declared without a listener. The
// queue polls (PollOnly: cheaper when idle than the driver's 50 ms outbox
// listener), and River starts a fetch at once for a job inserted by its
// own client only when the driver has no listener: so jobs the scheduler
// or Wake insert start without waiting for the next poll.
type pollDriver struct{ *riversqlite.Driver }

func (pollDriver) SupportsListener() bool { return false }

// EnqueueBackup implements Enqueuer.
func (q *Queue) EnqueueBackup(ctx context.Context, args BackupArgs) (int64, bool, error) {
	opts := &river.InsertOpts{MaxAttempts: q.attempts}
	if !args.ScheduledFor.IsZero() {
		args.ScheduledFor = args.ScheduledFor.UTC()
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true}
	}
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return 0, false, backup.Wrap(err, backup.EUNAVAILABLE, "queue a %s backup", args.Source)
	}
	return res.Job.ID, res.UniqueSkippedAsDuplicate, nil
}

// Start recovers jobs a killed server left running (they run again; this
// queue has one node, so no other one is working on them) and starts the
// workers. ctx bounds only the start.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return backup.Errorf(backup.EINTERNAL, "the job queue has no handler to run jobs with")
	}
	now := time.Now().UTC()
	// A restore is never run twice unasked: the database may be half
	// restored, and whoever asked must look first.
	stopped, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: 1,
		Error: "the server stopped during the restore: see the interrupted-restore warning (hmsbackup status) before trying again"})
	if err != nil {
		return fmt.Errorf("encode a job error: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = ?,
		errors = jsonb(json_insert(json(COALESCE(errors, jsonb('[]'))), '$[#]', json(?)))
		WHERE state = 'running' AND kind = ?`, now, string(stopped), RestoreArgs{}.Kind()); err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "discard restore jobs left running")
	}
	res, err := q.db.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = ?
		WHERE state = 'running'`, now)
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "recover jobs left running")
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.logger.Warn("jobs left running by a stopped server run again", "jobs", n)
	}
	// The client runs until Stop, not until ctx ends.
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "start the job queue")
	}
	return nil
}

// Stop lets the running job finish and stops the workers; if ctx ends
// first, it cancels the job (the engine then records its backup failed)
// and waits for it to return.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return q.client.StopAndCancel(cctx)
}

// Close closes the queue's connection; Stop the workers first.
func (q *Queue) Close() error { return q.db.Close() }

// JobState is where a job stands.
type JobState struct {
	ID          int64
	Kind        string // create_backup or restore_backup
	State       string // available, scheduled, running, retryable, completed, discarded, cancelled
	Attempt     int
	MaxAttempts int
	Errors      []string    // one per failed attempt, oldest first
	Args        BackupArgs  // a backup job's
	Restore     RestoreArgs // a restore job's
	CreatedAt   time.Time
	FinalizedAt *time.Time
	BackupID    int64 // the backup a completed job made (RecordBackup), else 0
	// Output is what the job's handler recorded (RecordOutput), if anything.
	Output json.RawMessage
}

// RecordBackup, called by a Handler, keeps the ID of the backup its job
// made with the job, for whoever waits for it.
func RecordBackup(ctx context.Context, backupID int64) error {
	return river.RecordOutput(ctx, jobOutput{BackupID: backupID})
}

// RecordOutput, called by a handler, keeps v (as JSON) with its job.
func RecordOutput(ctx context.Context, v any) error {
	return river.RecordOutput(ctx, v)
}

type jobOutput struct {
	BackupID int64 `json:"backup_id"`
}

// Finished reports whether the job will not run again.
func (s JobState) Finished() bool {
	return s.State == string(rivertype.JobStateCompleted) || s.State == string(rivertype.JobStateDiscarded) ||
		s.State == string(rivertype.JobStateCancelled)
}

// Job returns a job's state; ENOTFOUND if there is none.
func (q *Queue) Job(ctx context.Context, id int64) (JobState, error) {
	row, err := q.client.JobGet(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return JobState{}, backup.Errorf(backup.ENOTFOUND, "job %d not found", id)
	}
	if err != nil {
		return JobState{}, backup.Wrap(err, backup.EUNAVAILABLE, "read job %d", id)
	}
	return stateOf(row)
}

func stateOf(row *rivertype.JobRow) (JobState, error) {
	s := JobState{ID: row.ID, Kind: row.Kind, State: string(row.State), Attempt: row.Attempt, MaxAttempts: row.MaxAttempts,
		CreatedAt: row.CreatedAt, FinalizedAt: row.FinalizedAt}
	for _, e := range row.Errors {
		s.Errors = append(s.Errors, e.Error)
	}
	var args any = &s.Args
	if row.Kind == (RestoreArgs{}).Kind() {
		args = &s.Restore
	}
	if err := json.Unmarshal(row.EncodedArgs, args); err != nil {
		return s, fmt.Errorf("job %d: decode its arguments: %w", row.ID, err)
	}
	if out := row.Output(); len(out) > 0 {
		s.Output = out
		var o jobOutput
		if err := json.Unmarshal(out, &o); err == nil {
			s.BackupID = o.BackupID
		}
	}
	return s, nil
}

// Depth counts the backup jobs waiting to run or running.
func (q *Queue) Depth(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job
		WHERE kind = ? AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`, BackupArgs{}.Kind()).Scan(&n)
	if err != nil {
		return 0, backup.Wrap(err, backup.EUNAVAILABLE, "count queued jobs")
	}
	return n, nil
}

// LastScheduledRun returns the newest scheduled run a backup job was ever
// queued for (zero if none), so a scheduler starting up knows what it
// missed.
func (q *Queue) LastScheduledRun(ctx context.Context) (time.Time, error) {
	var last sql.NullString
	err := q.db.QueryRowContext(ctx, `SELECT MAX(json_extract(args, '$.scheduled_for')) FROM river_job
		WHERE kind = ? AND json_extract(args, '$.scheduled_for') IS NOT NULL`, BackupArgs{}.Kind()).Scan(&last)
	if err != nil {
		return time.Time{}, backup.Wrap(err, backup.EUNAVAILABLE, "read the last scheduled run")
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, last.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("the last scheduled run %q: %w", last.String, err)
	}
	return t, nil
}

// WaitFor polls a job until it is finished or ctx ends.
func (q *Queue) WaitFor(ctx context.Context, id int64, every time.Duration) (JobState, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, err := q.Job(ctx, id)
		if err != nil || s.Finished() {
			return s, err
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-t.C:
		}
	}
}

// backupWorker hands backup jobs to the Handler.
type backupWorker struct {
	river.WorkerDefaults[BackupArgs]
	handle Handler
}

func (w *backupWorker) Work(ctx context.Context, job *river.Job[BackupArgs]) error {
	return w.handle(ctx, Job{ID: job.ID, Attempt: job.Attempt, MaxAttempts: job.MaxAttempts, Args: job.Args})
}

// EnqueueNotification queues a notification to be sent again on the
// channels named, until it goes through or its attempts are used up.
func (q *Queue) EnqueueNotification(ctx context.Context, args NotifyArgs) error {
	if _, err := q.client.Insert(ctx, args, &river.InsertOpts{MaxAttempts: q.notifyAttempts, Queue: notifyQueue}); err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "queue the %s notification for a retry", args.Notification.Kind)
	}
	return nil
}

// notifyQueue is the River queue of notification jobs.
const notifyQueue = "notify"

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	send NotifyHandler
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	return w.send(ctx, job.Args)
}

// Wake makes the workers look for new jobs now: another process (the CLI)
// queued one. It queues a job that does nothing, because a job queued in
// this process starts a fetch at once.
func (q *Queue) Wake(ctx context.Context) error {
	if _, err := q.client.Insert(ctx, wakeArgs{}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "wake the job queue")
	}
	return nil
}

// wakeArgs is the do-nothing job of Wake.
type wakeArgs struct{}

func (wakeArgs) Kind() string { return "wake" }

type wakeWorker struct {
	river.WorkerDefaults[wakeArgs]
}

func (*wakeWorker) Work(context.Context, *river.Job[wakeArgs]) error { return nil }

// fixedDelay retries a failed job after the same delay every time.
type fixedDelay time.Duration

func (d fixedDelay) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(d)) }

// restoreQueue is the River queue of restore jobs.
const restoreQueue = "restore"

// EnqueueRestore queues a restore, to run once, and returns its job's ID.
func (q *Queue) EnqueueRestore(ctx context.Context, args RestoreArgs) (int64, error) {
	res, err := q.client.Insert(ctx, args, &river.InsertOpts{MaxAttempts: 1, Queue: restoreQueue})
	if err != nil {
		return 0, backup.Wrap(err, backup.EUNAVAILABLE, "queue the restore of backup %d", args.BackupID)
	}
	return res.Job.ID, nil
}

type restoreWorker struct {
	river.WorkerDefaults[RestoreArgs]
	restore RestoreHandler
}

func (w *restoreWorker) Work(ctx context.Context, job *river.Job[RestoreArgs]) error {
	return w.restore(ctx, job.ID, job.Args)
}

// Active returns the backup and restore jobs queued or running, oldest
// first.
func (q *Queue) Active(ctx context.Context) ([]JobState, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id FROM river_job WHERE kind IN (?, ?)
		AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending') ORDER BY id LIMIT 100`,
		BackupArgs{}.Kind(), RestoreArgs{}.Kind())
	if err != nil {
		return nil, backup.Wrap(err, backup.EUNAVAILABLE, "list active jobs")
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, backup.Wrap(err, backup.EUNAVAILABLE, "list active jobs")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, backup.Wrap(err, backup.EUNAVAILABLE, "list active jobs")
	}
	jobs := make([]JobState, 0, len(ids))
	for _, id := range ids {
		st, err := q.Job(ctx, id)
		if backup.ErrorCode(err) == backup.ENOTFOUND {
			continue // finished and cleaned away meanwhile
		}
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, st)
	}
	return jobs, nil
}
