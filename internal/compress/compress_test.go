package compress_test

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/compress"
	"pgregory.net/rapid"
)

func compressBytes(t testing.TB, data []byte, c backup.Compression) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := compress.NewWriter(&buf, c, compress.LevelDefault)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decompressBytes(data []byte, c backup.Compression) ([]byte, error) {
	zr, err := compress.NewReader(bytes.NewReader(data), c)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

// Any bytes, in any number of writes, come back unchanged, in both formats.
func TestRoundTripAnyBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := rapid.SampledFrom([]backup.Compression{backup.CompressionGzip, backup.CompressionZstd}).Draw(t, "compression")
		chunks := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 5000), 0, 20).Draw(t, "chunks")
		var want bytes.Buffer
		var buf bytes.Buffer
		zw, err := compress.NewWriter(&buf, c, compress.LevelDefault)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chunks {
			want.Write(ch)
			if _, err := zw.Write(ch); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := decompressBytes(buf.Bytes(), c)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%s round trip: %v; got %d bytes, want %d", c, err, len(got), want.Len())
		}
	})
}

// The gzip files are plain gzip: the system's gunzip reads them, also when
// they span many parallel blocks.
func TestGzipIsReadableByGunzip(t *testing.T) {
	data := bytes.Repeat([]byte("INSERT INTO patients VALUES (1,'Zoë 🏥',NULL);\n"), 200000) // ~9 MB, many blocks
	cmd := exec.Command("gzip", "-dc")
	cmd.Stdin = bytes.NewReader(compressBytes(t, data, backup.CompressionGzip))
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("gzip -dc: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("gunzip gave %d bytes, want %d", len(got), len(data))
	}
}

func TestDamagedStreamsAreCorrupt(t *testing.T) {
	data := bytes.Repeat([]byte("some SQL text 0123456789\n"), 100000)
	for _, c := range []backup.Compression{backup.CompressionGzip, backup.CompressionZstd} {
		z := compressBytes(t, data, c)
		cases := map[string][]byte{
			"truncated": z[:len(z)/2],
			"garbage":   []byte("this is not compressed at all, not even close"),
		}
		flipped := bytes.Clone(z)
		flipped[len(flipped)/2] ^= 0x55
		cases["flipped byte"] = flipped
		for name, in := range cases {
			_, err := decompressBytes(in, c)
			if got := backup.ErrorCode(err); got != backup.ECORRUPT {
				t.Errorf("%s %s: got %v (code %q), want ECORRUPT", c, name, err, got)
			}
		}
	}
}

// The zstd files are a sequence of independent frames (compressed in
// parallel); the reference zstd tool reads them as one stream.
func TestZstdIsReadableByTheZstdTool(t *testing.T) {
	data := bytes.Repeat([]byte("INSERT INTO patients VALUES (1,'Zoë 🏥',NULL);\n"), 200000) // ~9 MB, many frames
	for _, in := range [][]byte{data, nil} {
		cmd := exec.Command("zstd", "-dc")
		cmd.Stdin = bytes.NewReader(compressBytes(t, in, backup.CompressionZstd))
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("zstd -dc (install zstd: apt-get install zstd): %v", err)
		}
		if !bytes.Equal(got, in) {
			t.Fatalf("zstd -dc gave %d bytes, want %d", len(got), len(in))
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriteErrorsReachTheCaller(t *testing.T) {
	for _, c := range []backup.Compression{backup.CompressionGzip, backup.CompressionZstd} {
		zw, err := compress.NewWriter(&failWriter{n: 1}, c, compress.LevelDefault)
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: many blocks
		var werr error
		for off := 0; off < len(data) && werr == nil; off += 1 << 20 {
			_, werr = zw.Write(data[off : off+1<<20])
		}
		cerr := zw.Close()
		if werr == nil && cerr == nil {
			t.Errorf("%s: a failing destination went unnoticed", c)
		}
	}
}

// gatedReader lets one Read through per value sent on next, and says on
// reading when a Read is waiting.
type gatedReader struct {
	r       io.Reader
	reading chan struct{}
	next    chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	g.reading <- struct{}{}
	<-g.next
	return g.r.Read(p)
}

// A cancelled restore may close the decompressor while its copy is still
// in Read: Close waits for that Read, later Reads fail, and nothing races
// (run with -race).
func TestCloseDuringReadWaitsForIt(t *testing.T) {
	for _, c := range []backup.Compression{backup.CompressionGzip, backup.CompressionZstd} {
		t.Run(string(c), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := compress.NewWriter(&buf, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte("INSERT INTO patients VALUES (1);\n"), 200000)
			w.Write(data)
			w.Close()
			g := &gatedReader{r: bytes.NewReader(buf.Bytes()), reading: make(chan struct{}), next: make(chan struct{})}
			go func() { // headers: let every Read through until the test takes over
				for range g.reading {
					g.next <- struct{}{}
				}
			}()
			zr, err := compress.NewReader(g, c)
			if err != nil {
				t.Fatal(err)
			}
			readDone := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, zr)
				readDone <- err
			}()
			closed := make(chan error, 1)
			go func() { closed <- zr.Close() }()
			if err := <-closed; err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := <-readDone; err == nil {
				t.Errorf("the copy read the whole stream after Close")
			}
			if _, err := zr.Read(make([]byte, 10)); err == nil {
				t.Errorf("Read after Close succeeded")
			}
		})
	}
}
