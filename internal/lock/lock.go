// Package lock serialises backups and restores of one database across
// goroutines and processes with advisory file locks (flock). A lock is
// released when its holder calls Release or when the process dies, so a
// killed backup never leaves a source locked.
package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Locker hands out locks kept as files in one directory.
type Locker struct {
	dir  string
	poll time.Duration
	// busy, if set, is called each time Acquire finds the lock held (tests
	// wait on it to know a waiter is waiting).
	busy func()
}

// New returns a Locker whose lock files live in dir (created 0700).
func New(dir string) (*Locker, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	return &Locker{dir: dir, poll: 200 * time.Millisecond}, nil
}

// Lock is a held lock.
type Lock struct{ f *os.File }

// Release frees the lock. Safe to call more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Acquire takes the lock named key for the operation described by what
// (e.g. "backup of hms"). If another holder has it, Acquire waits up to
// wait (0: not at all) and then returns an EBUSY error that names the
// holder's process and operation. ctx cancels the wait.
func (lk *Locker) Acquire(ctx context.Context, key, what string, wait time.Duration) (*Lock, error) {
	sum := sha256.Sum256([]byte(key))
	path := filepath.Join(lk.dir, hex.EncodeToString(sum[:8])+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if lk.busy != nil {
			lk.busy()
		}
		if !time.Now().Before(deadline) {
			holder := readHolder(path)
			f.Close()
			return nil, backup.Errorf(backup.EBUSY,
				"cannot start the %s: %s is already running; wait for it to finish and try again", what, holder)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lk.poll):
		}
	}
	// Record the holder for the message another process will show.
	note := fmt.Sprintf("%s (pid %d, since %s)", what, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(note), 0)
	}
	return &Lock{f: f}, nil
}

// TryAcquire is Acquire without waiting; ok is false if the lock is held.
func (lk *Locker) TryAcquire(ctx context.Context, key, what string) (l *Lock, ok bool, err error) {
	l, err = lk.Acquire(ctx, key, what, 0)
	if backup.ErrorCode(err) == backup.EBUSY {
		return nil, false, nil
	}
	return l, err == nil, err
}

func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return "another backup or restore"
	}
	return "a " + strings.TrimSpace(string(b))
}
