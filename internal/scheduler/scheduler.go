// Package scheduler turns the backup schedule into queued backup jobs. It
// reads the schedule again at least every Reload, so a settings change
// takes effect in a running server without a restart, and it enqueues each
// run time once (the queue merges a run enqueued twice). A run missed
// while the server was down is not replayed in a burst: at most one
// catch-up run at start, logged.
package scheduler

import (
	"context"
	"log/slog"
	"time"
)

// NextFunc returns the first scheduled run strictly after after, and
// whether the schedule is enabled at all. It reads the current settings.
type NextFunc func(ctx context.Context, after time.Time) (next time.Time, enabled bool, err error)

// EnqueueFunc queues the backup of the run at runAt; queueing the same
// runAt twice must not make two backups.
type EnqueueFunc func(ctx context.Context, runAt time.Time, catchUp bool) error

// Clock is the scheduler's time: the real one, or a test's.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Scheduler enqueues scheduled backups on time.
type Scheduler struct {
	Next    NextFunc
	Enqueue EnqueueFunc
	// LastRun returns the newest run time already enqueued (zero if none):
	// runs between it and the start were missed.
	LastRun func(ctx context.Context) (time.Time, error)
	Clock   Clock
	Reload  time.Duration // how often the schedule is re-read; default 30 s
	Logger  *slog.Logger
}

// Run schedules until ctx ends. Errors reading the schedule or queueing a
// run are logged and tried again on the next reload: a scheduler never
// stops by itself. When several runs are due at once (the server was down,
// or the machine slept), only the newest is queued, as a catch-up, and the
// others are logged as missed.
func (s *Scheduler) Run(ctx context.Context) {
	clock, reload, log := s.clock(), s.Reload, s.Logger
	if reload <= 0 {
		reload = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Runs up to from are dealt with: the newest one queued before this
	// start, else none before now.
	from := clock.Now()
	if s.LastRun != nil {
		last, err := s.LastRun(ctx)
		switch {
		case err != nil:
			log.Error("cannot read the last scheduled run; missed runs are not caught up", "err", err)
		case !last.IsZero() && last.Before(from):
			from = last
		}
	}
	first := true
	for ctx.Err() == nil {
		now := clock.Now()
		due, missed, next, enabled, err := s.due(ctx, from, now)
		wait := reload
		switch {
		case err != nil:
			log.Error("cannot read the backup schedule", "err", err)
		case !enabled:
			from = now
		case !due.IsZero():
			catchUp := missed > 0 || first
			if err := s.Enqueue(ctx, due, catchUp); err != nil {
				log.Error("cannot queue the scheduled backup", "run", due, "err", err)
				break // try again after a reload
			}
			if catchUp {
				log.Warn("scheduled runs were missed while no server ran; one catch-up backup queued", "catch_up_for", due, "missed", missed)
			} else {
				log.Info("scheduled backup queued", "run", due)
			}
			from = now
			wait = min(next.Sub(now), reload)
		default:
			from = now
			wait = min(next.Sub(now), reload)
		}
		first = false
		select {
		case <-ctx.Done():
		case <-clock.After(max(wait, 0)):
		}
	}
}

// due walks the runs after after: the newest one not later than now (zero
// if none), how many earlier ones it passed, and the first one after now.
func (s *Scheduler) due(ctx context.Context, after, now time.Time) (due time.Time, missed int, next time.Time, enabled bool, err error) {
	for t := after; ; {
		n, enabled, err := s.Next(ctx, t)
		if err != nil || !enabled {
			return time.Time{}, 0, time.Time{}, enabled, err
		}
		if n.After(now) {
			return due, missed, n, true, nil
		}
		if !due.IsZero() {
			missed++
		}
		due, t = n, n
		if missed > 100000 { // a schedule firing every minute, down for months
			return due, missed, n, true, nil
		}
	}
}

func (s *Scheduler) clock() Clock {
	if s.Clock == nil {
		return RealClock{}
	}
	return s.Clock
}
