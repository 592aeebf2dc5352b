//go:build !unix

package sqlite

import "io/fs"

// copyOwner does nothing where files have no Unix owner.
func copyOwner(string, fs.FileInfo) error { return nil }

// syncDir does nothing where directories cannot be fsynced.
func syncDir(string) error { return nil }
