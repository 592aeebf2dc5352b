// Package tempfile makes hmsbackup's temporary files (database snapshots,
// credentials files) so that the ones a killed process leaves behind can be
// told from those of live processes, and removed: each name carries the
// pid of the process that made it.
package tempfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// prefix starts every name; older versions' names lack the pid after the
// kind ("hmsbackup-sqlite-123456.snapshot").
const prefix = "hmsbackup-"

// LegacyAge is how old a file of an older version must be before
// RemoveStale takes it for a killed run's: an older hmsbackup still
// running during an upgrade may need its file for the rest of a restore.
const LegacyAge = time.Hour

// Create makes a new file, mode 0600, named
// hmsbackup-<kind>-<pid>-<random><ext> in dir. kind must not hold a '-'.
func Create(dir, kind, ext string) (*os.File, error) {
	if kind == "" || strings.ContainsAny(kind, "-/") {
		return nil, fmt.Errorf("tempfile: invalid kind %q", kind)
	}
	return os.CreateTemp(dir, prefix+kind+"-"+strconv.Itoa(os.Getpid())+"-*"+ext)
}

// RemoveStale deletes the files Create made in dir whose process is gone,
// and older versions' files (no pid) older than LegacyAge. They can hold a
// whole copy of the database or its password. It returns how many it
// removed.
func RemoveStale(dir string) (int, error) {
	matches, err := filepath.Glob(filepath.Join(dir, prefix+"*"))
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, path := range matches {
		if !stale(path) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("remove temporary files left by killed runs: %w", err)
	}
	return removed, nil
}

// stale reports whether the file at path belongs to no live process.
func stale(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	parts := strings.SplitN(strings.TrimPrefix(filepath.Base(path), prefix), "-", 3)
	if len(parts) == 3 {
		if pid, err := strconv.Atoi(parts[1]); err == nil && pid > 0 {
			return pid != os.Getpid() && syscall.Kill(pid, 0) == syscall.ESRCH
		}
	}
	return time.Since(fi.ModTime()) > LegacyAge
}
