package mysql

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// TestToolPipeCarriesSmallWrites writes 4 KiB at a time, as mariadb-dump
// does, and reads through pipeReader in large chunks, as Dump does: every
// byte arrives, in order, and the writer's close ends the reads with EOF.
func TestToolPipeCarriesSmallWrites(t *testing.T) {
	r, w, capacity, err := toolPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if runtime.GOOS == "linux" && capacity < 64<<10 {
		t.Errorf("pipe capacity %d, want at least the default 64 KiB", capacity)
	}
	var want bytes.Buffer
	for i := 0; want.Len() < 3<<20; i++ {
		fmt.Fprintf(&want, "INSERT INTO t VALUES (%d,'row %d');\n", i, i)
	}
	go func() {
		defer w.Close()
		for b := want.Bytes(); len(b) > 0; {
			n := min(4096, len(b))
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	}()
	var got bytes.Buffer
	pr := newPipeReader(r, capacity)
	buf := make([]byte, copyBufferSize)
	for {
		n, err := fill(pr, buf, minChunk)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("read %d bytes, want the %d written, in order", got.Len(), want.Len())
	}
}

// TestPipeReaderPausesOnlyAfterShortReads checks the pause rule: after a
// read of less than a quarter of the pipe, and never on a small pipe.
func TestPipeReaderPausesOnlyAfterShortReads(t *testing.T) {
	if p := newPipeReader(nil, 64<<10); p.pause != 0 {
		t.Errorf("a 64 KiB pipe gets a pause of %v, want none", p.pause)
	}
	if p := newPipeReader(nil, 0); p.pause != 0 {
		t.Errorf("a pipe of unknown size gets a pause of %v, want none", p.pause)
	}
	p := newPipeReader(nil, toolPipeSize)
	if p.pause == 0 || p.full != toolPipeSize/4 {
		t.Errorf("a %d-byte pipe: pause %v, full %d; want a pause and full = a quarter", toolPipeSize, p.pause, p.full)
	}
}
