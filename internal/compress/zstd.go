package compress

import (
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdBlockSize is the input each independent zstd frame holds.
const zstdBlockSize = 1 << 20

// parallelZstd compresses 1 MiB blocks as independent zstd frames on
// several goroutines and writes the frames in order. Concatenated frames
// are one valid zstd stream (zstd -d and every decoder read them). Memory
// is bounded by the blocks in flight: about 2 x blocks x zstdBlockSize.
type parallelZstd struct {
	w      io.Writer
	enc    *zstd.Encoder // only EncodeAll is used; it is safe for concurrent use
	buf    []byte
	pool   sync.Pool
	queue  chan chan []byte // frames in input order; its capacity bounds work in flight
	done   chan struct{}
	wrote  bool
	closed bool

	mu  sync.Mutex
	err error // first write error
}

func newParallelZstd(w io.Writer, level zstd.EncoderLevel, encoders, blocks int) (*parallelZstd, error) {
	// Each frame is one block, so a window larger than the block buys
	// nothing; the smaller window and lower-memory mode keep RSS flat.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(encoders),
		zstd.WithZeroFrames(true), zstd.WithWindowSize(zstdBlockSize), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	z := &parallelZstd{w: w, enc: enc, queue: make(chan chan []byte, blocks), done: make(chan struct{})}
	z.pool.New = func() any { return make([]byte, 0, zstdBlockSize) }
	z.buf = z.pool.Get().([]byte)
	go z.writeFrames(z.queue)
	return z, nil
}

// writeFrames writes each frame as soon as it and all before it are done.
func (z *parallelZstd) writeFrames(queue <-chan chan []byte) {
	defer close(z.done)
	for frame := range queue {
		out := <-frame
		if z.failed() == nil {
			if _, err := z.w.Write(out); err != nil {
				z.mu.Lock()
				z.err = err
				z.mu.Unlock()
			}
		}
	}
}

func (z *parallelZstd) failed() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.err
}

// flush hands the filled block to a goroutine.
func (z *parallelZstd) flush() {
	src := z.buf
	z.buf = z.pool.Get().([]byte)[:0]
	frame := make(chan []byte, 1)
	z.queue <- frame // blocks while too much is in flight
	z.wrote = true
	go func() {
		frame <- z.enc.EncodeAll(src, make([]byte, 0, len(src)/2))
		z.pool.Put(src[:0])
	}()
}

func (z *parallelZstd) Write(p []byte) (int, error) {
	if err := z.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(z.buf[len(z.buf):cap(z.buf)], p)
		z.buf = z.buf[:len(z.buf)+k]
		p = p[k:]
		if len(z.buf) == cap(z.buf) {
			z.flush()
		}
	}
	return n, nil
}

// Close compresses what is left, waits for every frame to be written and
// returns the first error. It does not close the underlying writer.
func (z *parallelZstd) Close() error {
	if z.closed {
		return errors.New("zstd writer already closed")
	}
	z.closed = true
	if len(z.buf) > 0 || !z.wrote {
		z.flush() // an empty stream is still one (empty) frame
	}
	close(z.queue)
	<-z.done
	z.enc.Close()
	return z.failed()
}
