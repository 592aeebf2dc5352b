package lock_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/lock"
)

func TestSecondHolderIsRefusedWithHolderNamed(t *testing.T) {
	ctx := context.Background()
	lk, err := lock.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first, err := lk.Acquire(ctx, "mysql:db/hms", "backup of hms", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lk.Acquire(ctx, "mysql:db/hms", "restore of hms", 0)
	if got := backup.ErrorCode(err); got != backup.EBUSY {
		t.Fatalf("second Acquire: got code %q (%v), want %q", got, err, backup.EBUSY)
	}
	if !strings.Contains(err.Error(), "backup of hms (pid") {
		t.Errorf("error %q does not name the holder", err)
	}
	// Another key is independent.
	other, err := lk.Acquire(ctx, "sqlite:/x.db", "backup of x", 0)
	if err != nil {
		t.Fatalf("other key: %v", err)
	}
	other.Release()

	// A waiter gets the lock once it is released: it is released only
	// after the waiter found it held.
	waiting := make(chan struct{})
	var once sync.Once
	lock.SetBusyHook(lk, func() { once.Do(func() { close(waiting) }) })
	done := make(chan error, 1)
	go func() {
		l, err := lk.Acquire(ctx, "mysql:db/hms", "restore of hms", 10*time.Second)
		if err == nil {
			l.Release()
		}
		done <- err
	}()
	<-waiting
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}
