package engine_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
)

// stalledDB writes the start of a dump, then goes silent until it is
// cancelled, like a dump tool stuck in a loop.
type stalledDB struct{ memDB }

func (s *stalledDB) Dump(ctx context.Context, w io.Writer) error {
	if _, err := w.Write([]byte("-- MariaDB dump 10.19\nCREATE TABLE t (id INT);\n")); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// A dump silent for DumpStallTimeout fails the backup and notifies it;
// one that keeps writing, however slowly, is left alone.
func TestSilentDumpIsStoppedAndNotified(t *testing.T) {
	f := newFixture(t)
	n := &recordingNotifier{}
	f.eng.Notifier = n
	f.eng.DumpStallTimeout = 300 * time.Millisecond
	f.eng.Dumper = &stalledDB{}
	b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err == nil || backup.ErrorCode(err) != backup.EUNAVAILABLE || !strings.Contains(err.Error(), "wrote nothing for 300ms") {
		t.Fatalf("a silent dump: %v", err)
	}
	if b == nil || b.Status != backup.StatusFailed {
		t.Fatalf("record: %+v", b)
	}
	if kinds := n.kinds(); len(kinds) != 1 || kinds[0] != backup.NotifyBackupFailed {
		t.Fatalf("notifications: %v", kinds)
	}

	// A slow dump that writes every 100 ms for a second passes.
	f.eng.Dumper = &slowDB{memDB: memDB{content: []byte("x\n-- Dump completed\n")}, every: 100 * time.Millisecond, times: 10}
	if _, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice}); err != nil {
		t.Fatalf("a slow but steady dump was stopped: %v", err)
	}
}

// slowDB writes a line every every, times times, then its content.
type slowDB struct {
	memDB
	every time.Duration
	times int
}

func (s *slowDB) Dump(ctx context.Context, w io.Writer) error {
	for range s.times {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.every):
		}
		if _, err := w.Write([]byte("-- still dumping\n")); err != nil {
			return err
		}
	}
	return s.memDB.Dump(ctx, w)
}
