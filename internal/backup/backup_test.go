package backup_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

func TestFilename(t *testing.T) {
	at := time.Date(2025, 6, 7, 14, 30, 22, 999, time.UTC)
	cases := []struct {
		format  string
		c       backup.Compression
		attempt int
		want    string
	}{
		{"sql", backup.CompressionGzip, 1, "hms_backup_20250607_143022.sql.gz"},
		{"sql", backup.CompressionGzip, 2, "hms_backup_20250607_143022_2.sql.gz"},
		{"sqlite", backup.CompressionGzip, 1, "hms_backup_20250607_143022.sqlite.gz"},
		{"sql", backup.CompressionZstd, 3, "hms_backup_20250607_143022_3.sql.zst"},
	}
	for _, c := range cases {
		if got := backup.Filename(at, c.format, c.c, c.attempt); got != c.want {
			t.Errorf("Filename(%s, %s, %d) = %s, want %s", c.format, c.c, c.attempt, got, c.want)
		}
	}
}

func TestParseSource(t *testing.T) {
	for in, want := range map[string]backup.Source{"cli": backup.SourceManualCLI, "manual_cli": backup.SourceManualCLI,
		"UI": backup.SourceManualUI, "scheduled": backup.SourceScheduled, "pre_restore": backup.SourcePreRestore} {
		if got, err := backup.ParseSource(in); err != nil || got != want {
			t.Errorf("ParseSource(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := backup.ParseSource("cron"); backup.ErrorCode(err) != backup.EINVALID {
		t.Errorf("ParseSource(cron): %v, want EINVALID", err)
	}
}

func TestErrorCodeFollowsTheChain(t *testing.T) {
	inner := backup.Errorf(backup.ENOTFOUND, "backup 3 not found")
	wrapped := fmt.Errorf("restore: %w", inner)
	if got := backup.ErrorCode(wrapped); got != backup.ENOTFOUND {
		t.Errorf("ErrorCode(wrapped) = %q, want %q", got, backup.ENOTFOUND)
	}
	if got := backup.ErrorCode(errors.New("plain")); got != backup.EINTERNAL {
		t.Errorf("ErrorCode(plain) = %q, want internal", got)
	}
	if got := backup.ErrorCode(nil); got != "" {
		t.Errorf("ErrorCode(nil) = %q", got)
	}
	cause := errors.New("ENOSPC")
	e := backup.Wrap(cause, backup.EUNAVAILABLE, "disk full")
	if !errors.Is(e, cause) || e.Error() != "disk full: ENOSPC" {
		t.Errorf("Wrap: %q, Is cause %v", e.Error(), errors.Is(e, cause))
	}
}

func TestSentinelsMatchByCode(t *testing.T) {
	err := fmt.Errorf("open: %w", backup.Errorf(backup.ENOTFOUND, "backup file x is not on local disk"))
	if !errors.Is(err, backup.ErrNotFound) {
		t.Error("errors.Is(not-found error, ErrNotFound) = false")
	}
	if errors.Is(err, backup.ErrCorrupt) {
		t.Error("errors.Is(not-found error, ErrCorrupt) = true")
	}
	if errors.Is(errors.New("plain"), backup.ErrNotFound) {
		t.Error("a plain error matched ErrNotFound")
	}
}

func TestUntouchedKeepsCodeAndMessage(t *testing.T) {
	err := backup.Untouched(backup.Errorf(backup.EBUSY, "tables are locked"))
	if !errors.Is(err, backup.ErrUntouched) || !errors.Is(err, backup.ErrBusy) || backup.ErrorCode(err) != backup.EBUSY || err.Error() != "tables are locked" {
		t.Errorf("backup.Untouched: %v (code %s)", err, backup.ErrorCode(err))
	}
	if backup.Untouched(nil) != nil {
		t.Error("backup.Untouched(nil) is not nil")
	}
	if errors.Is(backup.Errorf(backup.EBUSY, "x"), backup.ErrUntouched) {
		t.Error("an unmarked error matches backup.ErrUntouched")
	}
}

func TestRelabelKeepsTheCauseFindable(t *testing.T) {
	cause := backup.Errorf(backup.EUNAVAILABLE, "database or disk is full (13)")
	err := backup.Wrap(backup.Relabel(cause, "SQLITE_FULL"), backup.EINTERNAL, "the disk is full")
	if err.Error() != "the disk is full: SQLITE_FULL" {
		t.Errorf("Error() = %q, want the new label instead of the cause's text", err.Error())
	}
	var inner *backup.Error
	if !errors.Is(err, cause) || !errors.As(err.Err, &inner) || inner != cause {
		t.Errorf("the relabelled cause cannot be found: Is %v, As %v", errors.Is(err, cause), inner)
	}
	if backup.Relabel(nil, "x") != nil {
		t.Error("backup.Relabel(nil) is not nil")
	}
}
