// Command enginebench times engine.CreateBackup wired as the CLI wires it,
// but with a compression level the CLI cannot choose yet, to see what a
// different default would give:
//
//	HMSBACKUP_DB_DSN=... go run ./bench/cmd/enginebench -dir /tmp/x -compression zstd -level 1
//
// It prints one JSON line: compression, level, wall_ms, cpu_ms (this
// process only; the dump tool is a child), file_size, raw_size, vmhwm_kib.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/compress"
	dumpmysql "github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/lock"
	"github.com/hmsbackup/hmsbackup/internal/storage/local"
)

func main() {
	dir := flag.String("dir", "", "data directory (catalog, backups)")
	comp := flag.String("compression", "gzip", "gzip or zstd")
	level := flag.Int("level", 0, "compress.Level: 0 default, 1 fastest, 2-9")
	keep := flag.Bool("keep", false, "keep the backup file")
	cpuProfile := flag.String("cpuprofile", "", "write a pprof CPU profile of the backup to this file")
	blockProfile := flag.String("blockprofile", "", "write a pprof block profile (every blocking event) to this file")
	flag.Parse()
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(1)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "enginebench: cpu profile:", err)
			os.Exit(1)
		}
	}
	err := run(*dir, *comp, *level, *keep)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *blockProfile != "" {
		if f, perr := os.Create(*blockProfile); perr == nil {
			_ = pprof.Lookup("block").WriteTo(f, 0)
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginebench:", err)
		os.Exit(1)
	}
}

func run(dir, comp string, level int, keep bool) error {
	ctx := context.Background()
	c, err := backup.ParseCompression(comp)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	dumper, err := dumpmysql.New(dumpmysql.Config{DSN: os.Getenv("HMSBACKUP_DB_DSN"), TempDir: tmp})
	if err != nil {
		return err
	}
	cat, err := catalogsqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		return err
	}
	defer cat.Close()
	store, err := local.New(filepath.Join(dir, "backups"))
	if err != nil {
		return err
	}
	locker, err := lock.New(filepath.Join(dir, "locks"))
	if err != nil {
		return err
	}
	eng := &engine.Engine{Catalog: cat, Dumper: dumper, Storage: store, Locker: locker,
		Compression: c, Level: compress.Level(level)}

	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	b, err := eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualCLI, Actor: engine.Actor{Name: "bench"}})
	wall := time.Since(start)
	if err != nil {
		return err
	}
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	out, _ := json.Marshal(map[string]any{
		"compression": comp, "level": level, "wall_ms": wall.Milliseconds(), "cpu_ms": cpu.Milliseconds(),
		"file_size": b.FileSize, "raw_size": b.RawSize, "vmhwm_kib": vmHWM(),
	})
	fmt.Println(string(out))
	if !keep {
		_ = store.Delete(ctx, b.Filename)
		_ = cat.DeleteBackup(ctx, b.ID)
	}
	return nil
}

func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}
