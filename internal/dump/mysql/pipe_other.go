//go:build !linux

package mysql

import "os"

// toolPipe returns a pipe for a tool's stdout and its capacity, 0 for
// unknown (the reader then never pauses). The caller passes w to the
// tool, closes its own w after starting it, and closes r.
func toolPipe() (r, w *os.File, capacity int, err error) {
	r, w, err = os.Pipe()
	return r, w, 0, err
}
