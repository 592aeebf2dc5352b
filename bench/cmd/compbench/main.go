// Command compbench measures hmsbackup's compression layer (internal/compress)
// alone on a dump file: throughput, CPU and size for each codec and level,
// and the decompression that restores use. It isolates the compressor from
// mysqldump and the server, to see where dumpbench's time goes.
//
//	go run ./bench/cmd/compbench -file dump.sql
package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/compress"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// chunked hands the data on in chunks of size n, as the dumper does.
func feed(w io.Writer, data []byte, n int) error {
	for len(data) > 0 {
		k := min(n, len(data))
		if _, err := w.Write(data[:k]); err != nil {
			return err
		}
		data = data[k:]
	}
	return nil
}

func main() {
	file := flag.String("file", "", "uncompressed dump to compress")
	chunk := flag.Int("chunk", 256<<10, "write size (the dumper hands on >= 256 KiB)")
	flag.Parse()
	data, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mb := float64(len(data)) / (1 << 20)
	fmt.Printf("input %s: %.1f MiB, GOMAXPROCS=%d\n\n", *file, mb, runtime.GOMAXPROCS(0))
	fmt.Println("| codec | level | compress wall | CPU | MiB/s (wall) | MiB/s per CPU-s | output | ratio | decompress wall | decompress CPU |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	type cfg struct {
		c     backup.Compression
		level compress.Level
		name  string
	}
	for _, c := range []cfg{
		{backup.CompressionGzip, 1, "1"},
		{backup.CompressionGzip, 2, "2"},
		{backup.CompressionGzip, compress.LevelDefault, "default (3)"},
		{backup.CompressionGzip, 4, "4"},
		{backup.CompressionGzip, 6, "6"},
		{backup.CompressionZstd, compress.LevelFastest, "fastest"},
		{backup.CompressionZstd, compress.LevelDefault, "default"},
	} {
		runtime.GC()
		var out bytes.Buffer
		out.Grow(len(data) / 3)
		h := sha256.New()
		c0, t0 := cpuNow(), time.Now()
		zw, err := compress.NewWriter(io.MultiWriter(&out, h), c.c, c.level)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := feed(zw, data, *chunk); err != nil {
			panic(err)
		}
		if err := zw.Close(); err != nil {
			panic(err)
		}
		wall, cpu := time.Since(t0), cpuNow()-c0

		runtime.GC()
		c1, t1 := cpuNow(), time.Now()
		zr, err := compress.NewReader(bytes.NewReader(out.Bytes()), c.c)
		if err != nil {
			panic(err)
		}
		n, err := io.CopyBuffer(io.Discard, zr, make([]byte, 1<<20))
		if err != nil || n != int64(len(data)) {
			panic(fmt.Sprint(n, err))
		}
		zr.Close()
		dwall, dcpu := time.Since(t1), cpuNow()-c1
		fmt.Printf("| %s | %s | %.2f s | %.2f s | %.0f | %.0f | %.1f MiB | %.3f | %.2f s | %.2f s |\n",
			c.c, c.name, wall.Seconds(), cpu.Seconds(), mb/wall.Seconds(), mb/cpu.Seconds(),
			float64(out.Len())/(1<<20), float64(out.Len())/float64(len(data)), dwall.Seconds(), dcpu.Seconds())
	}

	// SHA-256 alone, for scale.
	c0, t0 := cpuNow(), time.Now()
	h := sha256.New()
	_ = feed(h, data[:len(data)/4], 1<<20)
	fmt.Printf("\nsha256 of %.1f MiB: %.2f s wall, %.2f s CPU\n", mb/4, time.Since(t0).Seconds(), (cpuNow() - c0).Seconds())
}
