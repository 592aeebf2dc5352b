// Command dumpbench measures hmsbackup against the plain tools on a
// throw-away MariaDB filled with a realistic HMS database: mysqldump alone
// (the floor), mysqldump | gzip -6 (the baseline), hmsbackup create (gzip
// and zstd), gunzip | mysql and hmsbackup restore. It prints a Markdown
// report and, with -write-doc, puts it into docs/BENCHMARKS.md.
//
// Run it with bench/run.sh (or make bench), which builds bin/hmsbackup.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// sizeSpec is one database to measure: a data set at a size.
type sizeSpec struct {
	Name     string `json:"name"`
	Patients int    `json:"patients"`
	Restores int    `json:"restores"`
	Data     string `json:"data"` // a dataSets name
}

// parseSizes parses -sizes: name:patients:restores[:data], comma-separated.
func parseSizes(s string) ([]sizeSpec, error) {
	var out []sizeSpec
	const want = "want name:patients:restores[:data]"
	for part := range strings.SplitSeq(s, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 3 && len(f) != 4 {
			return nil, fmt.Errorf("size %q: %s", part, want)
		}
		p, err1 := strconv.Atoi(f[1])
		r, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || p < 1 || r < 0 {
			return nil, fmt.Errorf("size %q: %s", part, want)
		}
		data := dataSets[0].name
		if len(f) == 4 {
			data = f[3]
		}
		if _, err := findDataSet(data); err != nil {
			return nil, fmt.Errorf("size %q: %w", part, err)
		}
		out = append(out, sizeSpec{Name: f[0], Patients: p, Restores: r, Data: data})
	}
	return out, nil
}

type options struct {
	hmsbackup   string
	sizes       []sizeSpec
	reps        int
	workDir     string
	keep        bool
	writeDoc    string
	jsonOut     string
	bufferPool  string
	logFileSize string
	zstdRestore bool
	sizeOnly    bool
	serve       bool
}

// env is what every measurement needs.
type env struct {
	opt       options
	server    *testutil.MariaDB
	serverPID int
	root      *sql.DB
	dumpCmd   string // mariadb-dump or mysqldump
	clientCmd string // mariadb or mysql
	work      string
	logf      func(string, ...any)
}

// sizeResult holds every run of one size.
type sizeResult struct {
	Spec          sizeSpec `json:"spec"`
	Rows          []int64  `json:"rows"` // per table of the data set
	DumpBytes     int64    `json:"dump_bytes"`
	InnoDBBytes   int64    `json:"innodb_bytes"`
	FillSeconds   float64  `json:"fill_seconds"`
	Runs          []*run   `json:"runs"`
	RestoreChecks []string `json:"restore_checks"`
}

// labels of the measured operations.
const (
	opFloor       = "mysqldump > /dev/null (floor)"
	opBaseline    = "mysqldump | gzip -6 > file (baseline)"
	opCreateGzip  = "hmsbackup create (gzip)"
	opCreateZstd  = "hmsbackup create (zstd)"
	opRestoreBase = "gunzip < file | mysql (restore baseline)"
	opRestoreGzip = "hmsbackup restore --force (gzip backup)"
	opRestoreZstd = "hmsbackup restore --force (zstd backup)"
)

func main() {
	var opt options
	var sizes string
	flag.StringVar(&opt.hmsbackup, "hmsbackup", "bin/hmsbackup", "the hmsbackup binary to measure")
	flag.StringVar(&sizes, "sizes", "small:145000:2,large:650000:2,text:1000000:0:text",
		"comma-separated name:patients:restores[:data]; data is mixed (the default: patients with notes and 2 x patients appointments) or text (patients of short text columns only)")
	flag.IntVar(&opt.reps, "reps", 3, "repetitions of each backup measurement (interleaved); the median is reported")
	flag.StringVar(&opt.workDir, "workdir", "", "directory for the server and the backups (default: a new temp dir, removed at the end)")
	flag.BoolVar(&opt.keep, "keep", false, "keep the work directory")
	flag.StringVar(&opt.writeDoc, "write-doc", "", "also write the report into this Markdown file (e.g. docs/BENCHMARKS.md)")
	flag.StringVar(&opt.jsonOut, "json", "", "also write every raw measurement to this JSON file")
	flag.StringVar(&opt.bufferPool, "innodb-buffer-pool-size", "1073741824", "SET GLOBAL innodb_buffer_pool_size (bytes; empty: leave the test server's 64M)")
	flag.StringVar(&opt.logFileSize, "innodb-log-file-size", "536870912", "SET GLOBAL innodb_log_file_size (bytes; empty: leave the test server's 16M)")
	flag.BoolVar(&opt.zstdRestore, "zstd-restore", true, "also time one hmsbackup restore of a zstd backup per size")
	flag.BoolVar(&opt.sizeOnly, "size-only", false, "only fill each database and print its dump size (to calibrate -sizes)")
	flag.BoolVar(&opt.serve, "serve", false, "only fill the databases, write DIR/SIZE/env.sh (0600: HMSBACKUP_* and the client defaults file) and keep the server up until interrupted, for experiments by hand")
	flag.Parse()
	var err error
	if opt.sizes, err = parseSizes(sizes); err != nil {
		fatal(err)
	}
	if opt.reps < 1 {
		fatal(errors.New("-reps must be at least 1"))
	}
	if opt.hmsbackup, err = filepath.Abs(opt.hmsbackup); err != nil {
		fatal(err)
	}
	if _, err := os.Stat(opt.hmsbackup); err != nil && !opt.sizeOnly && !opt.serve {
		fatal(fmt.Errorf("%w (build it with: go build -o bin/hmsbackup ./cmd/hmsbackup)", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := benchmark(ctx, opt); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "dumpbench:", err)
	os.Exit(1)
}

func benchmark(ctx context.Context, opt options) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	work := opt.workDir
	if work == "" {
		d, err := os.MkdirTemp("", "hmsbench-")
		if err != nil {
			return err
		}
		work = d
		if !opt.keep {
			defer os.RemoveAll(work)
		}
	} else if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	logf("work directory %s", work)

	e := &env{opt: opt, work: work, logf: logf}
	e.dumpCmd = firstOnPath("mariadb-dump", "mysqldump")
	e.clientCmd = firstOnPath("mariadb", "mysql")

	server, err := testutil.StartMariaDB(ctx, filepath.Join(work, "mariadb"))
	if err != nil {
		return err
	}
	defer server.Stop()
	e.server = server
	if b, err := os.ReadFile(filepath.Join(work, "mariadb", "mariadbd.pid")); err == nil {
		e.serverPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	connector, err := mysqldrv.NewConnector(mustParseDSN(server.RootDSN()))
	if err != nil {
		return err
	}
	e.root = sql.OpenDB(connector)
	defer e.root.Close()
	if err := e.tuneServer(ctx); err != nil {
		return err
	}

	machine := machineInfo(ctx, e)
	var results []*sizeResult
	for _, spec := range opt.sizes {
		res, err := e.benchSize(ctx, spec)
		if res != nil {
			results = append(results, res)
		}
		if err != nil {
			return fmt.Errorf("size %s: %w", spec.Name, err)
		}
	}
	machine.Finished = time.Now()
	if opt.serve {
		logf("serving until interrupted (Ctrl-C / SIGTERM)")
		<-ctx.Done()
		return nil
	}
	if opt.sizeOnly {
		return nil
	}

	report := renderReport(machine, opt, results)
	fmt.Print(report)
	if opt.jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"machine": machine, "results": results}, "", "  ")
		if err := os.MkdirAll(filepath.Dir(opt.jsonOut), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(opt.jsonOut, b, 0o644); err != nil {
			return err
		}
		logf("wrote %s", opt.jsonOut)
	}
	if opt.writeDoc != "" {
		if err := writeDoc(opt.writeDoc, report); err != nil {
			return err
		}
		logf("wrote %s", opt.writeDoc)
	}
	return nil
}

// tuneServer gives the throw-away server the memory a 1M-row database
// needs: testutil starts it with a 64M buffer pool and a 16M redo log,
// sized for unit tests. Both are dynamic in MariaDB 10.11.
func (e *env) tuneServer(ctx context.Context) error {
	if v := e.opt.bufferPool; v != "" {
		if _, err := e.root.ExecContext(ctx, "SET GLOBAL innodb_buffer_pool_size = "+v); err != nil {
			return fmt.Errorf("innodb_buffer_pool_size: %w", err)
		}
		// The resize runs in the background.
		want, _ := strconv.ParseInt(v, 10, 64)
		for i := 0; i < 600; i++ {
			var got int64
			if err := e.root.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size").Scan(&got); err == nil && got >= want {
				var name, status string
				_ = e.root.QueryRowContext(ctx, "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'").Scan(&name, &status)
				if status == "" || strings.Contains(status, "Completed") || strings.Contains(status, "completed") {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if v := e.opt.logFileSize; v != "" {
		if _, err := e.root.ExecContext(ctx, "SET GLOBAL innodb_log_file_size = "+v); err != nil {
			e.logf("warning: cannot resize the redo log (%v); keeping the server's", err)
		}
	}
	var bp, lf int64
	_ = e.root.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size, @@innodb_log_file_size").Scan(&bp, &lf)
	e.logf("server: innodb_buffer_pool_size=%dM innodb_log_file_size=%dM", bp>>20, lf>>20)
	return nil
}

func (e *env) benchSize(ctx context.Context, spec sizeSpec) (*sizeResult, error) {
	res := &sizeResult{Spec: spec}
	data, err := findDataSet(spec.Data)
	if err != nil {
		return nil, err
	}
	for _, t := range data.tables {
		res.Rows = append(res.Rows, int64(t.rows(spec.Patients)))
	}
	dbName := "hms_" + spec.Name
	dsn, err := e.server.NewDatabase(ctx, dbName)
	if err != nil {
		return nil, err
	}
	cfg := mustParseDSN(dsn)
	dir := filepath.Join(e.work, spec.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defaults := filepath.Join(dir, "client.cnf")
	if err := writeDefaultsFile(defaults, cfg); err != nil {
		return nil, err
	}

	e.logf("[%s] filling %s: data set %s, %d patients", spec.Name, dbName, data.name, spec.Patients)
	start := time.Now()
	if err := data.fill(ctx, e.root, dbName, cfg.User, spec.Patients, e.logf); err != nil {
		return nil, err
	}
	res.FillSeconds = time.Since(start).Seconds()
	_ = e.root.QueryRowContext(ctx, "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = ?", dbName).Scan(&res.InnoDBBytes)

	// The dump's exact size, and a warm-up so every measured run finds
	// the same pages in the buffer pool.
	n, err := e.countDump(ctx, defaults, dbName)
	if err != nil {
		return res, err
	}
	res.DumpBytes = n
	e.logf("[%s] mysqldump text: %d bytes (%.1f MiB); InnoDB data+indexes %.1f MiB; filled in %.0fs",
		spec.Name, n, float64(n)/(1<<20), float64(res.InnoDBBytes)/(1<<20), res.FillSeconds)
	if e.opt.serve {
		envFile := filepath.Join(dir, "env.sh")
		content := fmt.Sprintf("export HMSBACKUP_DATA_DIR=%s HMSBACKUP_DB_DRIVER=mysql HMSBACKUP_DB_DSN=%s\nDEFAULTS=%s\nDB=%s\n",
			shellQuote(filepath.Join(dir, "hmsbackup")), shellQuote(dsn), shellQuote(defaults), shellQuote(dbName))
		if err := os.WriteFile(envFile, []byte(content), 0o600); err != nil {
			return res, err
		}
		e.logf("[%s] ready: . %s (server socket %s)", spec.Name, envFile, e.server.Socket())
		return res, nil
	}
	if e.opt.sizeOnly {
		fmt.Printf("%s: %d patients, dump %d bytes (%.1f bytes/patient incl. other tables' rows)\n",
			spec.Name, spec.Patients, n, float64(n)/float64(spec.Patients))
		return res, e.server.Exec(ctx, "DROP DATABASE `"+dbName+"`")
	}

	hmsEnv := func(compression string) []string {
		env := []string{
			"HMSBACKUP_DATA_DIR=" + filepath.Join(dir, "hmsbackup"),
			"HMSBACKUP_DB_DRIVER=mysql",
			"HMSBACKUP_DB_DSN=" + dsn,
			"HMSBACKUP_COMPRESSION=" + compression,
		}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "HMSBACKUP_") {
				env = append(env, kv)
			}
		}
		return env
	}

	baselineFile := filepath.Join(dir, "baseline.sql.gz")
	var keepGzip, keepZstd int64 // backups kept for the restores
	ops := []string{opFloor, opBaseline, opCreateGzip, opCreateZstd}
	for round := 1; round <= e.opt.reps; round++ {
		for i := range ops {
			op := ops[(i+round-1)%len(ops)] // rotate the order each round
			var cmd *exec.Cmd
			poll := false
			switch op {
			case opFloor:
				devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				if err != nil {
					return res, err
				}
				cmd = exec.CommandContext(ctx, e.dumpCmd, dumpArgs(defaults, dbName)...)
				cmd.Stdout = devnull
				defer devnull.Close()
			case opBaseline:
				cmd = exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c",
					`"$0" "$@" | gzip -6 > "$OUT"`, e.dumpCmd)
				cmd.Args = append(cmd.Args, dumpArgs(defaults, dbName)...)
				cmd.Env = append(os.Environ(), "OUT="+baselineFile)
			case opCreateGzip, opCreateZstd:
				comp := "gzip"
				if op == opCreateZstd {
					comp = "zstd"
				}
				cmd = exec.CommandContext(ctx, e.opt.hmsbackup, "create", "--json")
				cmd.Env = hmsEnv(comp)
				poll = true
			}
			e.settle(ctx)
			e.logf("[%s] round %d: %s", spec.Name, round, op)
			r, err := measure(op, cmd, poll, e.serverPID)
			if err != nil {
				return res, err
			}
			r.Round = round
			switch op {
			case opBaseline:
				if fi, err := os.Stat(baselineFile); err == nil {
					r.OutBytes = fi.Size()
				}
			case opCreateGzip, opCreateZstd:
				var b struct {
					ID         int64 `json:"id"`
					FileSize   int64 `json:"file_size"`
					RawSize    int64 `json:"raw_size"`
					DurationMS int64 `json:"duration_ms"`
				}
				if err := json.Unmarshal([]byte(r.Stdout), &b); err != nil {
					return res, fmt.Errorf("%s: parsing its JSON: %w: %q", op, err, r.Stdout)
				}
				r.BackupID, r.OutBytes, r.RawBytes, r.DurationMS = b.ID, b.FileSize, b.RawSize, b.DurationMS
				// Keep the last of each kind for the restores; delete the rest.
				prev := &keepGzip
				if op == opCreateZstd {
					prev = &keepZstd
				}
				if *prev != 0 {
					e.hmsDelete(ctx, hmsEnv("gzip"), *prev)
				}
				*prev = b.ID
			}
			e.logf("[%s]   %.2fs wall, cpu %.2fs, server cpu %.2fs, other cpu %.2fs, maxrss %d KiB, hwm %d KiB, out %d",
				spec.Name, r.Wall().Seconds(), float64(r.CPUMS())/1000, float64(r.ServerCPUMS)/1000,
				float64(r.OtherCPUMS)/1000, r.MaxRSSKiB, r.HWMKiB, r.OutBytes)
			res.Runs = append(res.Runs, r)
		}
	}

	want, err := data.rowCounts(ctx, e.root, dbName)
	if err != nil {
		return res, err
	}
	check := func(what string) error {
		got, err := data.rowCounts(ctx, e.root, dbName)
		if err != nil {
			return err
		}
		var counts []string
		for i, t := range data.tables {
			counts = append(counts, fmt.Sprintf("%s %d", t.name, got[i]))
		}
		msg := fmt.Sprintf("after %s: %s", what, strings.Join(counts, ", "))
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s, want %v", msg, want)
		}
		res.RestoreChecks = append(res.RestoreChecks, msg)
		return nil
	}
	restoreOps := []string{opRestoreBase, opRestoreGzip}
	for round := 1; round <= spec.Restores; round++ {
		for i := range restoreOps {
			op := restoreOps[(i+round-1)%len(restoreOps)]
			r, err := e.restore(ctx, op, defaults, dbName, baselineFile, keepGzip, hmsEnv("gzip"))
			if err != nil {
				return res, err
			}
			r.Round = round
			res.Runs = append(res.Runs, r)
			if err := check(op); err != nil {
				return res, err
			}
		}
	}
	if e.opt.zstdRestore && spec.Restores > 0 && keepZstd != 0 {
		r, err := e.restore(ctx, opRestoreZstd, defaults, dbName, baselineFile, keepZstd, hmsEnv("zstd"))
		if err != nil {
			return res, err
		}
		r.Round = 1
		res.Runs = append(res.Runs, r)
		if err := check(opRestoreZstd); err != nil {
			return res, err
		}
	}

	// Free the disk and the buffer pool for the next size.
	if err := e.server.Exec(ctx, "DROP DATABASE `"+dbName+"`"); err != nil {
		e.logf("warning: %v", err)
	}
	if !e.opt.keep {
		_ = os.RemoveAll(dir)
	}
	return res, nil
}

// restore times one restore. hms restores take a pre-restore backup first;
// that backup is deleted afterwards so the disk does not fill up.
func (e *env) restore(ctx context.Context, op, defaults, db, baselineFile string, id int64, hmsEnv []string) (*run, error) {
	var cmd *exec.Cmd
	poll := false
	if op == opRestoreBase {
		cmd = exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c",
			`gunzip < "$IN" | "$0" "$@"`, e.clientCmd, "--defaults-file="+defaults, db)
		cmd.Env = append(os.Environ(), "IN="+baselineFile)
	} else {
		cmd = exec.CommandContext(ctx, e.opt.hmsbackup, "restore", strconv.FormatInt(id, 10), "--force", "--json")
		cmd.Env = hmsEnv
		poll = true
	}
	e.settle(ctx)
	e.logf("restore: %s", op)
	r, err := measure(op, cmd, poll, e.serverPID)
	if err != nil {
		return nil, err
	}
	if op != opRestoreBase {
		var out struct {
			PreRestoreMS int64 `json:"pre_restore_ms"`
			RestoreMS    int64 `json:"restore_ms"`
			Pre          *struct {
				ID int64 `json:"id"`
			} `json:"pre_restore_backup"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
			return nil, fmt.Errorf("%s: parsing its JSON: %w: %q", op, err, r.Stdout)
		}
		r.PreRestoreMS, r.RestoreMS = out.PreRestoreMS, out.RestoreMS
		if out.Pre != nil {
			r.PreRestoreID = out.Pre.ID
			e.hmsDelete(ctx, hmsEnv, out.Pre.ID)
		}
	}
	e.logf("  %.2fs wall (pre-restore %dms, restore %dms), cpu %.2fs, server cpu %.2fs, other cpu %.2fs, maxrss %d KiB, hwm %d KiB",
		r.Wall().Seconds(), r.PreRestoreMS, r.RestoreMS, float64(r.CPUMS())/1000, float64(r.ServerCPUMS)/1000,
		float64(r.OtherCPUMS)/1000, r.MaxRSSKiB, r.HWMKiB)
	return r, nil
}

// settle waits (at most settleTimeout) until InnoDB has flushed its dirty
// pages and purged the undo history of the previous run, so every run
// starts from the same server state. Without it a restore that follows
// another restore pays for flushing its predecessor's ~500 MB of pages.
func (e *env) settle(ctx context.Context) {
	const settleTimeout = 3 * time.Minute
	start := time.Now()
	// Flush everything, as fast as the disk allows, while waiting only; the
	// measured runs see the server's own settings again.
	var pct, capacity, capacityMax string
	if err := e.root.QueryRowContext(ctx, "SELECT @@innodb_max_dirty_pages_pct, @@innodb_io_capacity, @@innodb_io_capacity_max").
		Scan(&pct, &capacity, &capacityMax); err == nil {
		for _, q := range []string{
			"SET GLOBAL innodb_max_dirty_pages_pct = 0",
			"SET GLOBAL innodb_io_capacity_max = 100000",
			"SET GLOBAL innodb_io_capacity = 50000",
		} {
			_, _ = e.root.ExecContext(ctx, q)
		}
		defer func() {
			bg := context.WithoutCancel(ctx)
			for _, q := range []string{
				"SET GLOBAL innodb_io_capacity = " + capacity,
				"SET GLOBAL innodb_io_capacity_max = " + capacityMax,
				"SET GLOBAL innodb_max_dirty_pages_pct = " + pct,
			} {
				if _, err := e.root.ExecContext(bg, q); err != nil {
					e.logf("warning: %s: %v", q, err)
				}
			}
		}()
	}
	var dirty, history int64
	for time.Since(start) < settleTimeout && ctx.Err() == nil {
		dirty, history = e.innodbBacklog(ctx)
		if dirty < 256 && history < 1000 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if d := time.Since(start); d > time.Second {
		e.logf("  (settled in %v: %d dirty pages, history list %d)", d.Round(100*time.Millisecond), dirty, history)
	}
}

// innodbBacklog returns the dirty pages in the buffer pool and the purge
// backlog (history list length).
func (e *env) innodbBacklog(ctx context.Context) (dirty, history int64) {
	var name string
	_ = e.root.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'").Scan(&name, &dirty)
	var typ, status string
	if err := e.root.QueryRowContext(ctx, "SHOW ENGINE INNODB STATUS").Scan(&typ, &name, &status); err == nil {
		if i := strings.Index(status, "History list length "); i >= 0 {
			f := strings.Fields(status[i+len("History list length "):])
			if len(f) > 0 {
				history, _ = strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return dirty, history
}

func (e *env) hmsDelete(ctx context.Context, env []string, id int64) {
	cmd := exec.CommandContext(ctx, e.opt.hmsbackup, "delete", strconv.FormatInt(id, 10), "--force")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		e.logf("warning: hmsbackup delete %d: %v: %s", id, err, strings.TrimSpace(string(out)))
	}
}

// countDump runs the dump once into a counter: the exact text size.
func (e *env) countDump(ctx context.Context, defaults, db string) (int64, error) {
	cmd := exec.CommandContext(ctx, e.dumpCmd, dumpArgs(defaults, db)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var sink io.Writer = io.Discard
	if e.opt.sizeOnly && e.opt.keep {
		// Keep the text to look at.
		f, err := os.Create(filepath.Join(e.work, db+".sql"))
		if err != nil {
			return 0, err
		}
		defer f.Close()
		sink = f
	}
	n, cerr := io.CopyBuffer(sink, out, make([]byte, 1<<20))
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("%s: %w: %s", e.dumpCmd, err, stderr.String())
	}
	return n, cerr
}

// dumpArgs are the dump options hmsbackup itself uses (internal/dump/mysql),
// so the floor and the baseline dump exactly the same text.
func dumpArgs(defaults, db string) []string {
	return []string{
		"--defaults-file=" + defaults,
		"--single-transaction",
		"--skip-lock-tables",
		"--routines",
		"--triggers",
		"--events",
		"--hex-blob",
		"--quick",
		"--default-character-set=utf8mb4",
		"--no-tablespaces",
		"--max-allowed-packet=1G",
		"--",
		db,
	}
}

// writeDefaultsFile writes the DSN's credentials to a 0600 option file:
// they never appear in any argv.
func writeDefaultsFile(path string, cfg *mysqldrv.Config) error {
	host, port, err := splitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "user=%s\n", quoteOption(cfg.User))
	fmt.Fprintf(&b, "password=%s\n", quoteOption(cfg.Passwd))
	fmt.Fprintf(&b, "host=%s\nport=%s\nprotocol=TCP\n", quoteOption(host), port)
	b.WriteString("default-character-set=utf8mb4\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func splitHostPort(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("address %q has no port", addr)
	}
	return addr[:i], addr[i+1:], nil
}

// quoteOption quotes a value for a MySQL option file (double quotes with
// the escapes the option-file reader understands).
func quoteOption(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`)
	return `"` + r.Replace(v) + `"`
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func mustParseDSN(dsn string) *mysqldrv.Config {
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		fatal(err)
	}
	return cfg
}

func firstOnPath(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return names[0]
}
