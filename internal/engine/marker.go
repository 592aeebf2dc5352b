package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// InterruptedRestore describes a restore whose process died (or whose
// rollback failed) with the database possibly half restored. It stays on
// disk until a restore of that database completes.
type InterruptedRestore struct {
	BackupID           int64     `json:"backup_id"`
	BackupFilename     string    `json:"backup_filename"`
	PreRestoreID       int64     `json:"pre_restore_id"`
	PreRestoreFilename string    `json:"pre_restore_filename"`
	Database           string    `json:"database"`
	StartedAt          time.Time `json:"started_at"`
}

func (e *Engine) markerPath() string {
	if e.StateDir == "" {
		return ""
	}
	return filepath.Join(e.StateDir, "restore-in-progress.json")
}

// writeMarker records that the database is about to be overwritten.
func (e *Engine) writeMarker(m InterruptedRestore) error {
	path := e.markerPath()
	if path == "" {
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write restore marker: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write restore marker: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write restore marker: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write restore marker: %w", err)
	}
	return os.Rename(tmp, path)
}

func (e *Engine) clearMarker() error {
	path := e.markerPath()
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove restore marker: %w", err)
	}
	return nil
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
	return &m, nil
}
