package web

import (
	"sync"
	"time"
)

// signInLimiter slows password guessing, per account and per address: the
// first freeFailures failures in a row cost nothing more than the hash;
// after them each attempt must wait twice as long as the one before (1 s,
// 2 s, 4 s … up to maxWait) since the last failure. A success resets the
// account's and the address's count. Attempts refused while waiting are
// refused without checking the password (so they tell nothing) and are
// audited like failures.
type signInLimiter struct {
	now      func() time.Time
	mu       sync.Mutex
	failures map[string]*failures
}

type failures struct {
	count int
	last  time.Time
}

const (
	freeFailures = 5
	maxWait      = 15 * time.Minute
	// forgetAfter drops a key's count when it has been quiet this long.
	forgetAfter = time.Hour
)

func newSignInLimiter(now func() time.Time) *signInLimiter {
	return &signInLimiter{now: now, failures: make(map[string]*failures)}
}

func waitAfter(count int) time.Duration {
	if count < freeFailures {
		return 0
	}
	w := time.Second << min(count-freeFailures, 20)
	return min(w, maxWait)
}

// wait returns how long the attempt with these keys must still wait (0:
// it may go ahead).
func (l *signInLimiter) wait(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var longest time.Duration
	for _, k := range keys {
		f := l.failures[k]
		if f == nil {
			continue
		}
		if now.Sub(f.last) > forgetAfter {
			delete(l.failures, k)
			continue
		}
		if w := f.last.Add(waitAfter(f.count)).Sub(now); w > longest {
			longest = w
		}
	}
	return longest
}

// fail counts a failed (or refused) attempt against every key.
func (l *signInLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		f := l.failures[k]
		if f == nil {
			if len(l.failures) > 100_000 { // a flood of made-up names: forget the quiet ones
				l.prune(now)
			}
			f = &failures{}
			l.failures[k] = f
		}
		f.count++
		f.last = now
	}
}

// succeed clears the keys' counts.
func (l *signInLimiter) succeed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.failures, k)
	}
}

func (l *signInLimiter) prune(now time.Time) {
	for k, f := range l.failures {
		if now.Sub(f.last) > forgetAfter/4 {
			delete(l.failures, k)
		}
	}
}
