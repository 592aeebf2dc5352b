package mysql

import (
	"errors"
	"io"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

const (
	// copyBufferSize is the buffer between a tool's pipe and the caller.
	copyBufferSize = 1 << 20
	// minChunk is the least a copy hands on at once (except at the end), so
	// the compressor downstream never gets small writes.
	minChunk = 256 << 10
	// stderrLimit is how much of a tool's stderr is kept: the last 64 KiB,
	// where the error is.
	stderrLimit = 64 << 10
	// waitDelay bounds the wait for a killed tool's pipes to close.
	waitDelay = 10 * time.Second
)

// tailBuffer is an io.Writer that keeps only the last max bytes written.
type tailBuffer struct {
	buf []byte
	max int
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = t.buf[:copy(t.buf, t.buf[over:])]
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tailBuffer) Bytes() []byte { return t.buf }

// fill reads from r into buf until it holds at least min bytes or r
// returns an error, which fill returns unchanged (io.EOF at a clean end).
func fill(r io.Reader, buf []byte, min int) (n int, err error) {
	for n < min && err == nil {
		var k int
		k, err = r.Read(buf[n:])
		n += k
	}
	return n, err
}

// toolMessage extracts the useful part of a tool's stderr: the client's
// "ERROR ..." lines if there are any (it also echoes the failing statement,
// which may be huge), otherwise the last lines. Lines are joined with " | "
// so the message stays on one line.
func toolMessage(stderr []byte) string {
	text := strings.TrimSpace(strings.ToValidUTF8(string(stderr), "?"))
	if text == "" {
		return "(the tool printed nothing on stderr)"
	}
	var lines, errLines []string
	for l := range strings.SplitSeq(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Trim(l, "-") == "" {
			continue
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, "ERROR ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) > 0 {
		lines = errLines
	}
	msg := strings.Join(lines, " | ")
	const max = 2000
	if len(msg) > max {
		msg = "..." + strings.ToValidUTF8(msg[len(msg)-max:], "")
	}
	return msg
}

// toolFailureCode says whether a tool's message means the server or the
// credentials are the problem (EUNAVAILABLE) or something else (EINTERNAL).
func toolFailureCode(msg string) string {
	// What the tools print when the server cannot be reached or refuses the
	// credentials or the database.
	connectionTrouble := []string{
		"when trying to connect",
		"when selecting the database",
		"Access denied",
		"Can't connect",
		"Unknown MySQL server host",
		"Unknown server host",
		"Lost connection to",
		"server has gone away",
		"Unknown database",
		"ERROR 2002",
		"ERROR 2003",
		"ERROR 2005",
		"ERROR 2006",
		"ERROR 2013",
	}
	for _, s := range connectionTrouble {
		if strings.Contains(msg, s) {
			return backup.EUNAVAILABLE
		}
	}
	return backup.EINTERNAL
}

// startError explains why a tool could not be started.
func startError(err error, tool string) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return backup.Wrap(err, backup.EUNAVAILABLE, "the MySQL tool %q was not found: %s", tool, installHint)
	}
	return backup.Wrap(err, backup.EUNAVAILABLE, "cannot start the MySQL tool %q", tool)
}
