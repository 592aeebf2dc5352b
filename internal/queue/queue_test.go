package queue_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/queue"
)

// newCatalog makes a migrated catalog file in dir and returns its path.
func newCatalog(t interface {
	Fatal(...any)
}, dir string) string {
	path := filepath.Join(dir, "catalog.db")
	c, err := catalogsqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return path
}

// fast is a queue configuration for tests: short delays.
func fast(path string, h queue.Handler) queue.Config {
	return queue.Config{CatalogPath: path, RetryDelay: 10 * time.Millisecond, PollInterval: 10 * time.Millisecond, Handler: h}
}

// recorder is a Handler that fails the first failures attempts of every
// job and records each attempt it sees.
type recorder struct {
	mu       sync.Mutex
	failures int
	seen     []queue.Job
}

func (r *recorder) handle(_ context.Context, job queue.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, job)
	if len(r.seen) <= r.failures {
		return fmt.Errorf("dump failed on attempt %d", job.Attempt)
	}
	return nil
}

func (r *recorder) attempts() []queue.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]queue.Job(nil), r.seen...)
}

// Property 5: a job failing k times succeeds on attempt k+1 for k < 3;
// after 3 failures it is discarded with every error kept, and only its
// third attempt is the last one (where the handler sends the one
// notification).
func TestProperty5JobRetries(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		k := rapid.IntRange(0, 5).Draw(rt, "failures")
		dir, err := os.MkdirTemp("", "queue-prop5-")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		ctx := context.Background()
		rec := &recorder{failures: k}
		q, err := queue.Open(ctx, fast(newCatalog(rt, dir), rec.handle))
		if err != nil {
			rt.Fatal(err)
		}
		defer q.Close()
		if err := q.Start(ctx); err != nil {
			rt.Fatal(err)
		}
		defer q.Stop(ctx)
		id, _, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceScheduled, Actor: "scheduler"})
		if err != nil {
			rt.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		st, err := q.WaitFor(wctx, id, 5*time.Millisecond)
		if err != nil {
			rt.Fatalf("job never finished: %v (state %+v)", err, st)
		}
		seen := rec.attempts()
		wantRuns, wantState := min(k+1, 3), "completed"
		if k >= 3 {
			wantState = "discarded"
		}
		if st.State != wantState || len(seen) != wantRuns {
			rt.Fatalf("after %d failures: state %s after %d runs, want %s after %d", k, st.State, len(seen), wantState, wantRuns)
		}
		for i, j := range seen {
			if j.Attempt != i+1 || j.MaxAttempts != 3 || j.LastAttempt() != (i == 2) || j.Args.Source != backup.SourceScheduled {
				rt.Errorf("run %d saw %+v", i, j)
			}
		}
		if len(st.Errors) != min(k, 3) {
			rt.Errorf("job keeps %d errors, want %d: %v", len(st.Errors), min(k, 3), st.Errors)
		}
		if k >= 3 && st.Errors[2] != "dump failed on attempt 3" {
			rt.Errorf("last error %q", st.Errors[2])
		}
	})
}

// A job a killed server left running runs again when the queue starts.
func TestJobLeftRunningRunsAgain(t *testing.T) {
	ctx := context.Background()
	path := newCatalog(t, t.TempDir())
	inserter, err := queue.Open(ctx, queue.Config{CatalogPath: path})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := inserter.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceManualCLI, Actor: "cli:alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := inserter.Start(ctx); err == nil {
		t.Error("an insert-only queue started workers")
	}
	inserter.Close()
	// What a server killed mid-job leaves: the job running, attempt 1.
	markRunning(t, path, id)

	rec := &recorder{}
	q, err := queue.Open(ctx, fast(path, rec.handle))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := q.WaitFor(wctx, id, 5*time.Millisecond)
	if err != nil || st.State != "completed" || len(rec.attempts()) != 1 || rec.attempts()[0].Args.Actor != "cli:alice" {
		t.Fatalf("state %+v, err %v, runs %+v", st, err, rec.attempts())
	}
}

// One job per scheduled run time, however often it is enqueued.
func TestScheduledRunsAreUnique(t *testing.T) {
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{CatalogPath: newCatalog(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	at := time.Date(2026, 11, 29, 2, 0, 0, 0, time.FixedZone("X", 3600))
	first, dup, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceScheduled, ScheduledFor: at})
	if err != nil || dup {
		t.Fatalf("first: %v %v", dup, err)
	}
	again, dup, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceScheduled, ScheduledFor: at.UTC()})
	if err != nil || !dup || again != first {
		t.Errorf("same run again: id %d (first %d), duplicate %v, %v", again, first, dup, err)
	}
	next, dup, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceScheduled, ScheduledFor: at.Add(24 * time.Hour)})
	if err != nil || dup || next == first {
		t.Errorf("next run: id %d, duplicate %v, %v", next, dup, err)
	}
	// Manual backups are never merged.
	a, _, _ := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceManualCLI})
	b, dup, _ := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceManualCLI})
	if a == b || dup {
		t.Errorf("two manual backups became one job (%d, %d)", a, b)
	}
	if n, err := q.Depth(ctx); err != nil || n != 4 {
		t.Errorf("depth %d (%v), want 4", n, err)
	}
}

// Stop lets a running job finish; when its context ends first, the job's
// context is cancelled and Stop returns once the handler has.
func TestStopCancelsARunningJobOnlyWhenItMust(t *testing.T) {
	ctx := context.Background()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var cancelled error
	handler := func(jctx context.Context, job queue.Job) error {
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-jctx.Done():
			cancelled = jctx.Err()
			return jctx.Err()
		}
	}
	q, err := queue.Open(ctx, fast(newCatalog(t, t.TempDir()), handler))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceManualCLI}); err != nil {
		t.Fatal(err)
	}
	<-started
	sctx, cancel := context.WithCancel(ctx)
	cancel() // no patience at all: the job must be cancelled
	q.Stop(sctx)
	if !errors.Is(cancelled, context.Canceled) {
		t.Errorf("the running job was not cancelled: %v", cancelled)
	}
	close(release)
}

// markRunning sets a job's state as a server killed while running it
// leaves it.
func markRunning(t *testing.T, path string, id int64) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = ? WHERE id = ?`, time.Now().UTC(), id); err != nil {
		t.Fatal(err)
	}
}

// TestMain runs 25 rapid cases per property unless -rapid.checks says
// otherwise: each case opens a catalog and starts a queue.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" {
		_ = flag.Set("rapid.checks", "25")
	}
	os.Exit(m.Run())
}

// Jobs this process queues start at once, and Wake starts one another
// process queued, with no poll in sight (an hour apart here).
func TestJobsStartWithoutWaitingForAPoll(t *testing.T) {
	ctx := context.Background()
	path := newCatalog(t, t.TempDir())
	rec := &recorder{}
	cfg := fast(path, rec.handle)
	cfg.PollInterval = time.Hour
	q, err := queue.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	wait := func(id int64) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if st, err := q.WaitFor(wctx, id, 5*time.Millisecond); err != nil || st.State != "completed" {
			t.Fatalf("job %d: %+v %v", id, st, err)
		}
	}
	own, _, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceScheduled, ScheduledFor: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	wait(own)

	other, err := queue.Open(ctx, queue.Config{CatalogPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	theirs, _, err := other.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceManualCLI})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	wait(theirs)
	if n, err := q.Depth(ctx); err != nil || n != 0 {
		t.Errorf("depth %d (%v) after both ran, want 0 (wake jobs are not backups)", n, err)
	}
}

// A restore job runs once, even when it fails, and keeps its output; one a
// killed server left running is discarded at the next start, never run
// again unasked.
func TestRestoreJobsRunOnceAndAreNeverResumed(t *testing.T) {
	ctx := context.Background()
	path := newCatalog(t, t.TempDir())
	var mu sync.Mutex
	var runs []queue.RestoreArgs
	restore := func(ctx context.Context, id int64, args queue.RestoreArgs) error {
		mu.Lock()
		runs = append(runs, args)
		mu.Unlock()
		if err := queue.RecordOutput(ctx, map[string]any{"rolled_back": args.BackupID == 2}); err != nil {
			return err
		}
		if args.BackupID == 2 {
			return errors.New("the dump broke at line 7")
		}
		return nil
	}
	cfg := fast(path, (&recorder{}).handle)
	cfg.RestoreHandler = restore
	q, err := queue.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	uid := int64(7)
	ok, err := q.EnqueueRestore(ctx, queue.RestoreArgs{BackupID: 1, Actor: "alice", UserID: &uid, SourceAddress: "10.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := q.EnqueueRestore(ctx, queue.RestoreArgs{BackupID: 2, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := q.WaitFor(wctx, ok, 5*time.Millisecond)
	if err != nil || st.State != "completed" || st.Kind != "restore_backup" || st.Restore.BackupID != 1 ||
		st.Restore.UserID == nil || *st.Restore.UserID != 7 || st.Restore.SourceAddress != "10.0.0.9" || string(st.Output) != `{"rolled_back":false}` {
		t.Fatalf("restore job: %+v, %v", st, err)
	}
	st, err = q.WaitFor(wctx, bad, 5*time.Millisecond)
	if err != nil || st.State != "discarded" || st.Attempt != 1 || len(st.Errors) != 1 || string(st.Output) != `{"rolled_back":true}` {
		t.Fatalf("a failed restore job: %+v, %v", st, err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	left, err := q.EnqueueRestore(ctx, queue.RestoreArgs{BackupID: 3, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	markRunning(t, path, left)
	q, err = queue.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	st, err = q.Job(ctx, left)
	if err != nil || st.State != "discarded" || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "interrupted-restore") {
		t.Fatalf("a restore left running: %+v, %v", st, err)
	}
	time.Sleep(100 * time.Millisecond) // several polls
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 2 {
		t.Fatalf("restore handler ran %d times, want 2 (the one left running must not run again): %+v", len(runs), runs)
	}
}
