// Package local stores backup files in a directory on local disk. Writes go
// to a hidden temp file that is fsynced, renamed into place and followed by
// an fsync of the directory, so a crash leaves either the whole file or
// only a ".partial" temp file, which RemovePartials cleans up.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

var _ backup.Storage = (*Storage)(nil)

const partialSuffix = ".partial"

// Storage is a directory of backup files.
type Storage struct {
	dir string
}

// New returns a Storage in dir, creating it with mode 0700.
func New(dir string) (*Storage, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("backup directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create backup directory: %w", err)
	}
	return &Storage{dir: abs}, nil
}

// Dir is the absolute directory.
func (s *Storage) Dir() string { return s.dir }

// Free returns the bytes free for an unprivileged writer on the file
// system holding the backups.
func (s *Storage) Free() (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", s.dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// Path is the absolute path a file of that name has (or would have).
func (s *Storage) Path(name string) string { return filepath.Join(s.dir, name) }

// Put implements backup.Storage. Files are created with mode 0600: a backup
// holds patients' records.
func (s *Storage) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	if err := backup.CheckFileName(name); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.dir, "."+name+".*"+partialSuffix)
	if err != nil {
		return 0, diskError(err, "create a temporary file in "+s.dir)
	}
	tmp := f.Name()
	fail := func(err error) (int64, error) {
		f.Close()
		os.Remove(tmp)
		return 0, err
	}
	n, err := io.CopyBuffer(f, &ctxReader{ctx: ctx, r: r}, make([]byte, 1<<20))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == tmp {
			return fail(diskError(err, "write "+tmp))
		}
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(diskError(err, "fsync "+tmp))
	}
	if err := f.Close(); err != nil {
		return fail(diskError(err, "close "+tmp))
	}
	if err := os.Rename(tmp, s.Path(name)); err != nil {
		os.Remove(tmp)
		return 0, diskError(err, "rename into place")
	}
	if err := syncDir(s.dir); err != nil {
		// The rename may not survive a crash: take the file away, so a
		// failed Put leaves nothing behind, as promised.
		_ = os.Remove(s.Path(name))
		return 0, diskError(err, "fsync "+s.dir)
	}
	return n, nil
}

// Open implements backup.Storage; the returned value is an *os.File, so it
// also seeks (for HTTP Range requests).
func (s *Storage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := backup.CheckFileName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, backup.Errorf(backup.ENOTFOUND, "backup file %s is not on local disk", s.Path(name))
	}
	if err != nil {
		return nil, fmt.Errorf("open backup file: %w", err)
	}
	return f, nil
}

// Stat implements backup.Storage.
func (s *Storage) Stat(ctx context.Context, name string) (backup.FileInfo, error) {
	if err := backup.CheckFileName(name); err != nil {
		return backup.FileInfo{}, err
	}
	fi, err := os.Stat(s.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return backup.FileInfo{}, backup.Errorf(backup.ENOTFOUND, "backup file %s is not on local disk", s.Path(name))
	}
	if err != nil {
		return backup.FileInfo{}, fmt.Errorf("stat backup file: %w", err)
	}
	return backup.FileInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// List implements backup.Storage; temp files are not listed.
func (s *Storage) List(ctx context.Context, prefix string) ([]backup.FileInfo, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list backup directory: %w", err)
	}
	var out []backup.FileInfo
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || !strings.HasPrefix(name, prefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, backup.FileInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements backup.Storage.
func (s *Storage) Delete(ctx context.Context, name string) error {
	if err := backup.CheckFileName(name); err != nil {
		return err
	}
	err := os.Remove(s.Path(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete backup file: %w", err)
	}
	return syncDir(s.dir)
}

// RemovePartials deletes temp files left by a process that died during a
// Put, and returns their names. Call it only while no Put can be running
// (the engine holds the source lock).
func (s *Storage) RemovePartials() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list backup directory: %w", err)
	}
	var removed []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), partialSuffix) {
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("remove partial file: %w", err)
			}
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// diskError explains the failures an operator can act on.
func diskError(err error, doing string) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return backup.Wrap(err, backup.EUNAVAILABLE, "the backup disk is full (%s): free space or delete old backups, then try again", doing)
	case errors.Is(err, syscall.EDQUOT):
		return backup.Wrap(err, backup.EUNAVAILABLE, "the disk quota is exhausted (%s): free space, then try again", doing)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot write backups (%s): check that the data directory is writable", doing)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// ctxReader stops a copy when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
