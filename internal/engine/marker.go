package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// InterruptedRestore describes a restore that overwrites the database:
// one running now (Running), or one whose process died (or whose rollback
// failed) with the database possibly half restored. Its marker stays on
// disk until a restore of that database completes.
type InterruptedRestore struct {
	BackupID           int64     `json:"backup_id"`
	BackupFilename     string    `json:"backup_filename"`
	PreRestoreID       int64     `json:"pre_restore_id"`
	PreRestoreFilename string    `json:"pre_restore_filename"`
	Database           string    `json:"database"`
	StartedAt          time.Time `json:"started_at"`
	PID                int       `json:"pid,omitempty"` // of the restoring process
	// Running is true while the restoring process still holds the marker:
	// the restore is under way, not interrupted.
	Running bool `json:"-"`
}

func (e *Engine) markerPath() string {
	if e.StateDir == "" {
		return ""
	}
	return filepath.Join(e.StateDir, "restore-in-progress.json")
}

// writeMarker records that the database is about to be overwritten. The
// returned file holds an exclusive lock on the marker for as long as it is
// open (the kernel drops it if the process dies), which tells readers the
// restore is running; pass it to clearMarker or releaseMarker.
func (e *Engine) writeMarker(m InterruptedRestore) (*os.File, error) {
	path := e.markerPath()
	if path == "" {
		return nil, nil
	}
	m.PID = os.Getpid()
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write restore marker: %w", err)
	}
	// Locked before it gets its name, so no reader ever sees it unlocked
	// while the restore runs.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock restore marker: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("write restore marker: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write restore marker: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		f.Close()
		return nil, fmt.Errorf("write restore marker: %w", err)
	}
	return f, nil
}

// clearMarker removes the marker (the database is consistent again), then
// lets go of it.
func (e *Engine) clearMarker(f *os.File) error {
	defer releaseMarker(f)
	path := e.markerPath()
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove restore marker: %w", err)
	}
	return nil
}

// releaseMarker lets go of the marker and leaves it on disk: the restore
// ended with the database possibly incomplete.
func releaseMarker(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// InterruptedRestore returns the restore left unfinished by a crash or a
// failed rollback, or nil if the database was left consistent.
func (e *Engine) InterruptedRestore() (*InterruptedRestore, error) {
	path := e.markerPath()
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read restore marker: %w", err)
	}
	var m InterruptedRestore
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("restore marker %s is damaged: %w", path, err)
	}
	running, gone, err := markerHeld(path)
	if err != nil {
		return nil, err
	}
	if gone {
		return nil, nil // the restore completed while we read
	}
	m.Running = running
	return &m, nil
}

// markerHeld reports whether the marker at path is locked by its restore
// (running), or was removed meanwhile (gone).
func markerHeld(path string) (running, gone bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, true, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read restore marker: %w", err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("lock restore marker: %w", err)
	}
	// Unlocked: the restore ended. Unless it removed the marker (it does
	// so before letting go), its database may be incomplete.
	held, err := f.Stat()
	if err != nil {
		return false, false, fmt.Errorf("read restore marker: %w", err)
	}
	now, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !os.SameFile(held, now)) {
		return false, true, nil
	}
	return false, false, err
}
