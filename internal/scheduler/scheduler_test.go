package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/scheduler"
)

// fakeClock moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	blocked chan struct{} // one value each time a timer is set
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, blocked: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	c.blocked <- struct{}{}
	return ch
}

// waitBlocked returns once the scheduler waits on a timer.
func (c *fakeClock) waitBlocked(t *testing.T) {
	t.Helper()
	select {
	case <-c.blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler never waited")
	}
}

// advance moves the clock by d and fires the timers that are due, then
// waits until the scheduler waits again.
func (c *fakeClock) advance(t *testing.T, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	c.now = c.now.Add(d)
	var keep []waiter
	fired := 0
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			fired++
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
	c.mu.Unlock()
	for range fired {
		c.waitBlocked(t)
	}
}

// everyMinute is a schedule running at each whole minute while enabled.
type everyMinute struct {
	mu      sync.Mutex
	enabled bool
}

func (e *everyMinute) next(_ context.Context, after time.Time) (time.Time, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return after.Truncate(time.Minute).Add(time.Minute), e.enabled, nil
}

func (e *everyMinute) set(enabled bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.enabled = enabled
}

type queued struct {
	at      time.Time
	catchUp bool
}

type recorder struct {
	mu   sync.Mutex
	runs []queued
}

func (r *recorder) enqueue(_ context.Context, at time.Time, catchUp bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, queued{at, catchUp})
	return nil
}

func (r *recorder) get() []queued {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]queued(nil), r.runs...)
}

var start = time.Date(2026, 11, 29, 10, 0, 30, 0, time.UTC)

func run(t *testing.T, s *scheduler.Scheduler, clock *fakeClock) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	clock.waitBlocked(t)
}

// Each run is queued once, at its time, and a settings change (here:
// enabling the schedule) takes effect within one reload.
func TestRunsAreQueuedOnTimeOnceEach(t *testing.T) {
	clock := newFakeClock(start)
	sched := &everyMinute{}
	rec := &recorder{}
	run(t, &scheduler.Scheduler{Next: sched.next, Enqueue: rec.enqueue, Clock: clock, Reload: 20 * time.Second}, clock)

	clock.advance(t, 2*time.Minute) // disabled: nothing
	if got := rec.get(); len(got) != 0 {
		t.Fatalf("disabled schedule queued %v", got)
	}
	sched.set(true)
	clock.advance(t, 20*time.Second) // the reload sees the change: now 10:02:50
	clock.advance(t, 10*time.Second) // 10:03:00
	for i := 0; i < 5; i++ {
		clock.advance(t, 15*time.Second)
	}
	// Now 10:04:15: runs at 10:03 and 10:04, each once, not catch-ups.
	want := []queued{{start.Add(150 * time.Second).Truncate(time.Minute), false}, {start.Add(210 * time.Second).Truncate(time.Minute), false}}
	if got := rec.get(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("queued %v, want %v", got, want)
	}
}

// Runs missed while the server was down, or while the machine slept, give
// one catch-up backup for the newest, not a burst.
func TestMissedRunsGiveOneCatchUp(t *testing.T) {
	clock := newFakeClock(start)
	sched := &everyMinute{enabled: true}
	rec := &recorder{}
	lastRun := func(context.Context) (time.Time, error) {
		return start.Add(-10 * time.Minute).Truncate(time.Minute), nil
	}
	run(t, &scheduler.Scheduler{Next: sched.next, Enqueue: rec.enqueue, LastRun: lastRun, Clock: clock}, clock)
	got := rec.get()
	if len(got) != 1 || got[0] != (queued{start.Truncate(time.Minute), true}) {
		t.Fatalf("after 10 missed runs: %v, want one catch-up for %v", got, start.Truncate(time.Minute))
	}
	clock.advance(t, 30*time.Second) // 10:01:00, on time
	clock.advance(t, 5*time.Minute)  // asleep for five runs
	got = rec.get()
	if len(got) != 3 || got[1] != (queued{start.Add(30 * time.Second), false}) || got[2] != (queued{start.Add(330 * time.Second).Truncate(time.Minute), true}) {
		t.Errorf("after a sleep: %v", got)
	}
}

// A first start (no run ever queued) catches up nothing.
func TestFirstStartCatchesUpNothing(t *testing.T) {
	clock := newFakeClock(start)
	sched := &everyMinute{enabled: true}
	rec := &recorder{}
	none := func(context.Context) (time.Time, error) { return time.Time{}, nil }
	run(t, &scheduler.Scheduler{Next: sched.next, Enqueue: rec.enqueue, LastRun: none, Clock: clock}, clock)
	if got := rec.get(); len(got) != 0 {
		t.Errorf("first start queued %v", got)
	}
}
