package mysql

import (
	"os"
	"time"
)

const (
	// toolPipeSize is the capacity asked for the pipe a dump tool writes
	// to: 1 MiB (Linux's default limit for unprivileged processes) lets
	// the tool run ahead while the compressor is busy.
	toolPipeSize = 1 << 20
	// minPause is the shortest pause worth a sleep; below it (a small
	// pipe) the reader does not pause at all.
	minPause = 100 * time.Microsecond
)

// pipeReader reads the read end of a tool's stdout pipe in large blocks.
//
// mariadb-dump writes its output 4 KiB at a time. A reader that is faster
// than the tool finds the pipe empty after every read, so it would be woken
// for, and make one read of, every 4 KiB: about 110,000 reads and as many
// wake-ups for a 450 MB dump. Instead, after a read that got less than a
// quarter of the pipe, pipeReader sleeps for pause (the time the pipe takes
// to fill at about 1 GB/s, faster than any dump tool writes) before it
// reads again, so each read collects what the tool wrote meanwhile; while
// it sleeps it is not waiting on the pipe, so the tool's writes wake
// nobody. A read that finds the pipe empty still blocks until the tool
// writes, so an idle tool costs nothing.
type pipeReader struct {
	f     *os.File
	pause time.Duration // 0: never pause
	full  int           // a read of at least this many bytes is not short
	short bool          // the last read was short: pause before the next
}

// newPipeReader reads f, a pipe of capacity bytes.
func newPipeReader(f *os.File, capacity int) *pipeReader {
	pause := time.Duration(capacity) * time.Nanosecond // 1 byte/ns: about 1 GB/s
	if pause < minPause {
		pause = 0
	}
	return &pipeReader{f: f, pause: pause, full: capacity / 4}
}

// Read reads from the pipe as (*os.File).Read does, after a pause if the
// previous read was short.
func (p *pipeReader) Read(b []byte) (int, error) {
	if p.short && p.pause > 0 {
		time.Sleep(p.pause)
	}
	n, err := p.f.Read(b)
	p.short = n < p.full && n < len(b)
	return n, err
}
