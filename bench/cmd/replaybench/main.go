// Command replaybench times one restore of a backup file into the
// database of HMSBACKUP_DB_DSN through internal/dump/mysql (no catalog,
// no pre-restore backup), with the method and replayer settings given, and
// prints one JSON line: wall time, this process's CPU and peak RSS, and
// the server's CPU (with -server-pid).
//
//	HMSBACKUP_DB_DSN=... go run ./bench/cmd/replaybench -file backup.sql.gz -parallel 2
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/compress"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/replay"
)

func main() {
	file := flag.String("file", "", "the backup file (.sql.gz or .sql.zst)")
	method := flag.String("method", mysql.MethodReplay, "replay or client")
	parallel := flag.Int("parallel", 0, "data connections (0: the default)")
	commitMB := flag.Int("commit-mb", 0, "MiB per data transaction (0: the default)")
	commitStmts := flag.Int("commit-statements", 0, "statements per data transaction (0: the default)")
	serverPID := flag.Int("server-pid", 0, "mariadbd's pid, to report its CPU")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the restore to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "replaybench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*file, *method, *parallel, *commitMB, *commitStmts, *serverPID); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "replaybench:", err)
		os.Exit(1)
	}
}

func run(file, method string, parallel, commitMB, commitStmts, serverPID int) error {
	ctx := context.Background()
	d, err := mysql.New(mysql.Config{DSN: os.Getenv("HMSBACKUP_DB_DSN"), RestoreMethod: method,
		Replay: replay.Options{Parallel: parallel, CommitBytes: int64(commitMB) << 20, CommitStatements: commitStmts}})
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	c := backup.CompressionGzip
	if strings.HasSuffix(file, ".zst") {
		c = backup.CompressionZstd
	}
	zr, err := compress.NewReader(f, c)
	if err != nil {
		return err
	}
	defer zr.Close()
	serverBefore := serverCPU(serverPID)
	start := time.Now()
	if err := d.Restore(ctx, zr); err != nil {
		return err
	}
	wall := time.Since(start)
	var ru, rc syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &rc)
	cpu := func(r syscall.Rusage) float64 {
		return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
	}
	out := map[string]any{
		"method": method, "parallel": parallel, "commit_mb": commitMB, "commit_statements": commitStmts,
		"wall_s": wall.Seconds(), "cpu_s": cpu(ru), "children_cpu_s": cpu(rc),
		"maxrss_kib": ru.Maxrss, "children_maxrss_kib": rc.Maxrss,
	}
	if serverPID > 0 {
		out["server_cpu_s"] = serverCPU(serverPID) - serverBefore
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// serverCPU is a process's user+system CPU seconds from /proc.
func serverCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100 // USER_HZ
}
