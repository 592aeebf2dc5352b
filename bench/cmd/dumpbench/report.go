package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// machine describes where and when the benchmark ran.
type machine struct {
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	NProc      int       `json:"nproc"`
	CPUModel   string    `json:"cpu_model"`
	MemTotal   string    `json:"mem_total"`
	Kernel     string    `json:"kernel"`
	MariaDB    string    `json:"mariadb"`
	DumpTool   string    `json:"dump_tool"`
	Client     string    `json:"client"`
	Gzip       string    `json:"gzip"`
	GoVersion  string    `json:"go"`
	Commit     string    `json:"commit"`
	BufferPool int64     `json:"innodb_buffer_pool_size"`
	LogFile    int64     `json:"innodb_log_file_size"`
	Load       string    `json:"loadavg_start"`
}

func machineInfo(ctx context.Context, e *env) *machine {
	m := &machine{Started: time.Now(), NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if f := strings.Fields(strings.TrimPrefix(line, "MemTotal:")); len(f) > 0 {
			kib, _ := strconv.ParseFloat(f[0], 64)
			m.MemTotal = fmt.Sprintf("%.1f GiB", kib/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	m.Kernel = cmdOut("uname", "-r")
	m.DumpTool = cmdOut(e.dumpCmd, "--version")
	m.Client = cmdOut(e.clientCmd, "--version")
	m.Gzip, _, _ = strings.Cut(cmdOut("gzip", "--version"), "\n")
	m.Commit = cmdOut("git", "describe", "--always", "--dirty")
	_ = e.root.QueryRowContext(ctx, "SELECT VERSION(), @@innodb_buffer_pool_size, @@innodb_log_file_size").Scan(&m.MariaDB, &m.BufferPool, &m.LogFile)
	return m
}

func cmdOut(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// median of the runs' values; for an even count, the mean of the middle two.
func median(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (res *sizeResult) runsOf(label string) []*run {
	var out []*run
	for _, r := range res.Runs {
		if r.Label == label {
			out = append(out, r)
		}
	}
	return out
}

func pick(runs []*run, f func(*run) float64) []float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	return v
}

// eachOp calls f for every size and operation that has runs, sizes first.
func eachOp(results []*sizeResult, ops []string, f func(r *sizeResult, op string, runs []*run)) {
	for _, r := range results {
		for _, op := range ops {
			if runs := r.runsOf(op); len(runs) > 0 {
				f(r, op, runs)
			}
		}
	}
}

func (res *sizeResult) med(label string, f func(*run) float64) float64 {
	return median(pick(res.runsOf(label), f))
}

func (res *sizeResult) maxOf(label string, f func(*run) float64) float64 {
	return slices.Max(append(pick(res.runsOf(label), f), 0))
}

var (
	wallS      = func(r *run) float64 { return float64(r.WallMS) / 1000 }
	cpuS       = func(r *run) float64 { return float64(r.CPUMS()) / 1000 }
	serverS    = func(r *run) float64 { return float64(r.ServerCPUMS) / 1000 }
	otherS     = func(r *run) float64 { return float64(r.OtherCPUMS) / 1000 }
	maxrssMiB  = func(r *run) float64 { return float64(r.MaxRSSKiB) / 1024 }
	hwmMiB     = func(r *run) float64 { return float64(r.HWMKiB) / 1024 }
	outMiB     = func(r *run) float64 { return float64(r.OutBytes) / (1 << 20) }
	restoreS   = func(r *run) float64 { return float64(r.RestoreMS) / 1000 }
	preS       = func(r *run) float64 { return float64(r.PreRestoreMS) / 1000 }
	pipeS      = func(r *run) float64 { return float64(r.DurationMS) / 1000 }
	ownUserS   = func(r *run) float64 { return float64(r.OwnUserMS) / 1000 }
	ownSysS    = func(r *run) float64 { return float64(r.OwnSysMS) / 1000 }
	childUserS = func(r *run) float64 { return float64(r.ChildUserMS) / 1000 }
	childSysS  = func(r *run) float64 { return float64(r.ChildSysMS) / 1000 }
)

// cell escapes a table cell's pipes.
func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func renderReport(m *machine, opt options, results []*sizeResult) string {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	// The operations in the order the tables list them.
	backupOps := []string{opFloor, opBaseline, opCreateGzip, opCreateZstd}
	restoreOps := []string{opRestoreBase, opRestoreGzip, opRestoreZstd}

	p("## Results\n\n")
	p("Generated by `bench/run.sh` (bench/cmd/dumpbench) on %s, finished %s (%s).\n\n",
		m.Started.Format("2006-01-02 15:04 MST"), m.Finished.Format("15:04 MST"), m.Finished.Sub(m.Started).Round(time.Second))
	p("| | |\n|---|---|\n")
	p("| CPU | %d x %s (`nproc` = %d) |\n", m.NProc, m.CPUModel, m.NProc)
	p("| Memory | %s |\n", m.MemTotal)
	p("| Kernel | Linux %s |\n", m.Kernel)
	p("| Server | MariaDB %s, throw-away instance (testutil.StartMariaDB), innodb_buffer_pool_size=%s, innodb_log_file_size=%s, flush_log_at_trx_commit=2, doublewrite off, no binlog |\n",
		m.MariaDB, mib(m.BufferPool), mib(m.LogFile))
	p("| Tools | %s; %s; %s |\n", m.DumpTool, m.Client, m.Gzip)
	p("| hmsbackup | commit %s, built with %s |\n", m.Commit, m.GoVersion)
	p("| Load average at start | %s (a shared machine: \"other users' CPU\" below shows how busy it was during each run) |\n", m.Load)
	p("| Between runs | the server is left to flush its dirty pages and purge (at most 3 min) so every run starts from the same state |\n\n")

	p("### Databases\n\n")
	p("| size | data set | rows | mysqldump text (exact) | InnoDB data+indexes | fill time |\n")
	p("|---|---|---:|---:|---:|---:|\n")
	for _, r := range results {
		var rows []string
		if d, err := findDataSet(r.Spec.Data); err == nil {
			for i, t := range d.tables {
				if i < len(r.Rows) {
					rows = append(rows, fmt.Sprintf("%s %d", t.name, r.Rows[i]))
				}
			}
		}
		p("| %s | %s | %s | %d bytes (%s) | %s | %.0f s |\n", r.Spec.Name, r.Spec.Data, strings.Join(rows, ", "),
			r.DumpBytes, mib(r.DumpBytes), mib(r.InnoDBBytes), r.FillSeconds)
	}
	p("\n")
	for _, d := range dataSets {
		p("* %s: %s.\n", d.name, d.about)
	}
	p("\n")

	p("### Backup (median of %d interleaved runs)\n\n", opt.reps)
	p("Wall time is the whole process (for hmsbackup: start-up, catalog, dump, compression, fsync, SHA-256). ")
	p("CPU is user+sys of the process and all its children (mysqldump, gzip); mariadbd's CPU is separate. ")
	p("Peak RSS (rusage) is wait4's ru_maxrss: the largest single process in the tree; ")
	p("hmsbackup's own peak is its VmHWM polled every 50 ms.\n\n")
	p("| size | operation | wall (median) | min - max | CPU user+sys | mariadbd CPU | peak RSS (rusage) | hmsbackup VmHWM | output | ratio |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	eachOp(results, backupOps, func(r *sizeResult, op string, runs []*run) {
		walls := pick(runs, wallS)
		hwm, out, ratio := "-", "-", "-"
		if op == opCreateGzip || op == opCreateZstd {
			hwm = fmt.Sprintf("%.1f MiB", slices.Max(pick(runs, hwmMiB)))
		}
		if op != opFloor {
			o := r.med(op, outMiB)
			out = fmt.Sprintf("%.1f MiB", o)
			ratio = fmt.Sprintf("%.3f", o*(1<<20)/float64(r.DumpBytes))
		}
		p("| %s | %s | **%.2f s** | %.2f - %.2f | %.2f s | %.2f s | %.1f MiB | %s | %s | %s |\n",
			r.Spec.Name, cell(op), median(walls), slices.Min(walls), slices.Max(walls),
			r.med(op, cpuS), r.med(op, serverS), slices.Max(pick(runs, maxrssMiB)), hwm, out, ratio)
	})
	p("\n")

	p("### CPU split (medians, seconds)\n\n")
	p("Own is the measured process alone; children are the processes it waited for. ")
	p("For the floor that is mysqldump itself (no children); for the baseline bash, with mysqldump and gzip as children; ")
	p("for hmsbackup create hmsbackup, with mysqldump as its child.\n\n")
	p("| size | operation | own user | own sys | children user | children sys |\n")
	p("|---|---|---:|---:|---:|---:|\n")
	eachOp(results, backupOps, func(r *sizeResult, op string, _ []*run) {
		p("| %s | %s | %.2f | %.2f | %.2f | %.2f |\n", r.Spec.Name, cell(op),
			r.med(op, ownUserS), r.med(op, ownSysS), r.med(op, childUserS), r.med(op, childSysS))
	})
	p("\n")

	p("### Restore\n\n")
	p("hmsbackup restore = SHA-256 check of the file + pre-restore backup of the current data + the restore phase. ")
	p("The restore phase is what compares with `gunzip | mysql`.\n\n")
	p("| size | operation | runs | wall (median) | restore phase | pre-restore backup | CPU user+sys | mariadbd CPU | peak RSS (rusage) | hmsbackup VmHWM |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	eachOp(results, restoreOps, func(r *sizeResult, op string, runs []*run) {
		phase, pre, hwm := "-", "-", "-"
		if op != opRestoreBase {
			phase = fmt.Sprintf("**%.2f s**", r.med(op, restoreS))
			pre = fmt.Sprintf("%.2f s", r.med(op, preS))
			hwm = fmt.Sprintf("%.1f MiB", r.maxOf(op, hwmMiB))
		} else {
			phase = fmt.Sprintf("**%.2f s**", r.med(op, wallS))
		}
		p("| %s | %s | %d | %.2f s | %s | %s | %.2f s | %.2f s | %.1f MiB | %s |\n",
			r.Spec.Name, cell(op), len(runs), r.med(op, wallS), phase, pre, r.med(op, cpuS), r.med(op, serverS),
			r.maxOf(op, maxrssMiB), hwm)
	})
	p("\n")

	p("### Targets\n\n")
	p("| check | target |")
	for _, r := range results {
		p(" %s |", r.Spec.Name)
	}
	p(" met? |\n|---|---|")
	for range results {
		p("---:|")
	}
	p("---|\n")
	type check struct {
		name, target string
		value        func(*sizeResult) float64
		ok           func(float64) bool
		format       string
	}
	ratio := func(a, bOp string, fa, fb func(*run) float64) func(*sizeResult) float64 {
		return func(r *sizeResult) float64 {
			d := r.med(bOp, fb)
			if d == 0 {
				return 0
			}
			return r.med(a, fa) / d
		}
	}
	checks := []check{
		{"hmsbackup create (gzip) / (mysqldump \\| gzip -6), wall", "<= 0.5",
			ratio(opCreateGzip, opBaseline, wallS, wallS), func(v float64) bool { return v > 0 && v <= 0.5 }, "%.2f"},
		{"hmsbackup create (zstd) / (mysqldump \\| gzip -6), wall", "(info)",
			ratio(opCreateZstd, opBaseline, wallS, wallS), nil, "%.2f"},
		{"hmsbackup create (gzip) / mysqldump floor, wall", "<= 1.3 (1.0 is the floor)",
			ratio(opCreateGzip, opFloor, wallS, wallS), func(v float64) bool { return v > 0 && v <= 1.3 }, "%.2f"},
		{"hmsbackup create (zstd) / mysqldump floor, wall", "(info)",
			ratio(opCreateZstd, opFloor, wallS, wallS), nil, "%.2f"},
		{"(mysqldump \\| gzip -6) / mysqldump floor, wall", "(info)",
			ratio(opBaseline, opFloor, wallS, wallS), nil, "%.2f"},
		{"hmsbackup create (gzip) own sys CPU / mysqldump's own sys CPU (floor)", "<= 2",
			ratio(opCreateGzip, opFloor, ownSysS, ownSysS), func(v float64) bool { return v > 0 && v <= 2 }, "%.2f"},
		{"hmsbackup create (zstd) own sys CPU / mysqldump's own sys CPU (floor)", "(info)",
			ratio(opCreateZstd, opFloor, ownSysS, ownSysS), nil, "%.2f"},
		{"hmsbackup restore phase (gzip) / (gunzip \\| mysql)", "<= 1.1",
			ratio(opRestoreGzip, opRestoreBase, restoreS, wallS), func(v float64) bool { return v > 0 && v <= 1.1 }, "%.2f"},
		{"hmsbackup restore phase (zstd) / (gunzip \\| mysql)", "(info)",
			ratio(opRestoreZstd, opRestoreBase, restoreS, wallS), nil, "%.2f"},
		{"hmsbackup restore total / (gunzip \\| mysql)", "(info: includes the pre-restore backup)",
			ratio(opRestoreGzip, opRestoreBase, wallS, wallS), nil, "%.2f"},
		{"hmsbackup peak RSS, create (max VmHWM, MiB)", "< 64",
			func(r *sizeResult) float64 { return max(r.maxOf(opCreateGzip, hwmMiB), r.maxOf(opCreateZstd, hwmMiB)) },
			func(v float64) bool { return v > 0 && v < 64 }, "%.1f"},
		{"hmsbackup peak RSS, restore (max VmHWM, MiB)", "< 64",
			func(r *sizeResult) float64 {
				return max(r.maxOf(opRestoreGzip, hwmMiB), r.maxOf(opRestoreZstd, hwmMiB))
			},
			func(v float64) bool { return v > 0 && v < 64 }, "%.1f"},
	}
	for _, c := range checks {
		p("| %s | %s |", c.name, c.target)
		met := "-"
		if c.ok != nil {
			met = "yes"
		}
		any := false
		for _, r := range results {
			v := c.value(r)
			if v == 0 {
				p(" n/a |")
				continue
			}
			any = true
			p(" "+c.format+" |", v)
			if c.ok != nil && !c.ok(v) {
				met = "**NO**"
			}
		}
		if !any {
			met = "n/a"
		}
		p(" %s |\n", met)
	}
	if len(results) >= 2 {
		// The smallest and the largest dump.
		first, last := results[0], results[0]
		for _, r := range results {
			if r.DumpBytes < first.DumpBytes {
				first = r
			}
			if r.DumpBytes > last.DumpBytes {
				last = r
			}
		}
		hw := func(r *sizeResult) float64 {
			return max(r.maxOf(opCreateGzip, hwmMiB), r.maxOf(opCreateZstd, hwmMiB), r.maxOf(opRestoreGzip, hwmMiB), r.maxOf(opRestoreZstd, hwmMiB))
		}
		a, z := hw(first), hw(last)
		grow := float64(last.DumpBytes) / float64(first.DumpBytes)
		ok := "yes"
		if z > a*1.25+4 {
			ok = "**NO**"
		}
		p("| hmsbackup peak RSS does not grow with size | %s -> %s: dump x%.1f |", first.Spec.Name, last.Spec.Name, grow)
		for range results {
			p(" |")
		}
		p(" %s (%.1f -> %.1f MiB) |\n", ok, a, z)
	}
	p("\n")

	p("### Where the time goes (medians, CPU seconds)\n\n")
	p("| size | operation | wall | tool CPU | mariadbd CPU | total CPU / wall (of %d CPUs) | hmsbackup's own pipeline (duration_ms) | other users' CPU during run |\n", m.NProc)
	p("|---|---|---:|---:|---:|---:|---:|---:|\n")
	eachOp(results, append(slices.Clone(backupOps), restoreOps...), func(r *sizeResult, op string, _ []*run) {
		w := r.med(op, wallS)
		tc, sc := r.med(op, cpuS), r.med(op, serverS)
		pipe := "-"
		if op == opCreateGzip || op == opCreateZstd {
			pipe = fmt.Sprintf("%.2f s", r.med(op, pipeS))
		}
		p("| %s | %s | %.2f s | %.2f s | %.2f s | %.2f | %s | %.2f s |\n", r.Spec.Name, cell(op), w, tc, sc, (tc+sc)/w, pipe, r.med(op, otherS))
	})
	p("\n")
	for _, r := range results {
		if len(r.RestoreChecks) > 0 {
			p("Row counts checked after every restore (%s): %s.\n\n", r.Spec.Name, strings.Join(r.RestoreChecks, "; "))
		}
	}
	return b.String()
}

const (
	beginMarker = "<!-- BEGIN GENERATED RESULTS (bench/run.sh -write-doc rewrites this part) -->"
	endMarker   = "<!-- END GENERATED RESULTS -->"
)

// writeDoc replaces the generated part of path, keeping the hand-written
// rest; a missing file gets a skeleton around it.
func writeDoc(path, report string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	block := beginMarker + "\n\n" + report + endMarker + "\n"
	old, err := os.ReadFile(path)
	if err == nil {
		s := string(old)
		i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
		if i >= 0 && j > i {
			return os.WriteFile(path, []byte(s[:i]+block+strings.TrimPrefix(s[j+len(endMarker):], "\n")), 0o644)
		}
		return os.WriteFile(path, []byte(s+"\n"+block), 0o644)
	}
	skeleton := "# Benchmarks\n\n" +
		"How fast hmsbackup backs up and restores a MySQL/MariaDB database compared with the tools an operator would use by hand.\n\n" +
		"## How to rerun\n\n```sh\nmake bench                                   # or: ./bench/run.sh\n./bench/run.sh -write-doc docs/BENCHMARKS.md # also refresh the results below\n```\n\n" +
		block + "\n## Interpretation\n\n(to be written)\n"
	return os.WriteFile(path, []byte(skeleton), 0o644)
}
