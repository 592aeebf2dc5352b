// Package compress wraps backup streams in gzip (parallel, readable by plain
// gunzip) or zstd. Both directions stream with bounded memory.
package compress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// gzipBlockSize is the size of the independent blocks pgzip compresses in
// parallel; memory is about blockSize x blocks x 2.
const gzipBlockSize = 1 << 20

// Level trades speed for size. The default keeps compression off the
// critical path on small machines (faster than mysqldump produces SQL):
// gzip level 2, which on the benchmark's dumps costs 15% less CPU than
// level 3 for files 1-2% larger (docs/BENCHMARKS.md), and zstd's fastest.
type Level int

const (
	LevelDefault Level = 0
	LevelFastest Level = 1
	LevelBest    Level = 9
)

// NewWriter returns a writer that compresses into w. Close flushes and ends
// the stream but does not close w.
func NewWriter(w io.Writer, c backup.Compression, level Level) (io.WriteCloser, error) {
	switch c {
	case backup.CompressionGzip:
		lvl := int(level)
		if level == LevelDefault {
			lvl = 2
		}
		zw, err := pgzip.NewWriterLevel(w, lvl)
		if err != nil {
			return nil, fmt.Errorf("gzip writer: %w", err)
		}
		blocks := 2 * runtime.GOMAXPROCS(0)
		if err := zw.SetConcurrency(gzipBlockSize, blocks); err != nil {
			return nil, fmt.Errorf("gzip concurrency: %w", err)
		}
		return zw, nil
	case backup.CompressionZstd:
		zl := zstd.SpeedFastest
		switch {
		case level > LevelFastest && level < LevelBest:
			zl = zstd.SpeedDefault
		case level >= LevelBest:
			zl = zstd.SpeedBestCompression
		}
		zw, err := newParallelZstd(w, zl, runtime.GOMAXPROCS(0), 2*runtime.GOMAXPROCS(0))
		if err != nil {
			return nil, fmt.Errorf("zstd writer: %w", err)
		}
		return zw, nil
	}
	return nil, backup.Errorf(backup.EINVALID, "unknown compression %q", c)
}

// NewReader returns a reader of r's decompressed bytes. It reports a
// truncated or corrupt stream as an ECORRUPT error from Read.
func NewReader(r io.Reader, c backup.Compression) (io.ReadCloser, error) {
	switch c {
	case backup.CompressionGzip:
		zr, err := pgzip.NewReaderN(r, gzipBlockSize, 4)
		if err != nil {
			return nil, corrupt(err)
		}
		return &checkedReader{r: zr, close: zr.Close}, nil
	case backup.CompressionZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(2), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, corrupt(err)
		}
		return &checkedReader{r: zr, close: func() error { zr.Close(); return nil }}, nil
	}
	return nil, backup.Errorf(backup.EINVALID, "unknown compression %q", c)
}

// checkedReader turns decompression errors into ECORRUPT errors. Close
// may be called while another goroutine is in Read (a restore that was
// cancelled leaves its copy running): it waits for that Read, and later
// Reads fail.
type checkedReader struct {
	mu     sync.Mutex
	r      io.Reader
	close  func() error
	closed bool
}

func (c *checkedReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, errors.New("read from a closed decompressor")
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		return n, corrupt(err)
	}
	return n, err
}

func (c *checkedReader) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.close()
}

func corrupt(err error) error {
	var be *backup.Error
	if errors.As(err, &be) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // the underlying reader's own failure, not the stream's
	}
	if err == io.ErrUnexpectedEOF {
		return backup.Wrap(err, backup.ECORRUPT, "the backup file is truncated (it ends in the middle of the compressed data)")
	}
	return backup.Wrap(err, backup.ECORRUPT, "the backup file cannot be decompressed")
}
