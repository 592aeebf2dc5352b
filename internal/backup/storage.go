package backup

import (
	"context"
	"io"
	"strings"
	"time"
)

// FileInfo describes one stored file.
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// Storage keeps backup files under flat names. Implementations are safe for
// concurrent use.
type Storage interface {
	// Put stores everything read from r under name, atomically: until Put
	// returns nil nobody sees the file, and if Put fails (including when r
	// returns an error) nothing is left behind. It replaces an existing
	// file of that name and returns the number of bytes stored.
	Put(ctx context.Context, name string, r io.Reader) (int64, error)
	// Open returns the file's content. Returns ENOTFOUND if it is absent.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Stat returns ENOTFOUND if the file is absent.
	Stat(ctx context.Context, name string) (FileInfo, error)
	// List returns the files whose names start with prefix, sorted by name.
	List(ctx context.Context, prefix string) ([]FileInfo, error)
	// Delete removes the file; deleting an absent file is not an error.
	Delete(ctx context.Context, name string) error
}

// CheckFileName returns EINVALID unless name is usable as a stored file's
// name on every Storage: not empty, no path separators or NUL, and not
// hidden (a leading dot is kept for temp files).
func CheckFileName(name string) error {
	if name == "" || name == ".." || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") {
		return Errorf(EINVALID, "invalid backup file name %q", name)
	}
	return nil
}
