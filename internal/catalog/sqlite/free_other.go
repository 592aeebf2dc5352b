//go:build !unix

package sqlite

import "errors"

// freeSpace is unknown where there is no statfs: an SQLite I/O error is
// then reported as one, not as a full disk.
func freeSpace(string) (int64, error) {
	return 0, errors.New("free space is unknown on this system")
}
