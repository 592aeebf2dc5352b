// Command drivebench measures the Google Drive storage (internal/storage/gdrive)
// against the in-process fake Drive (drivefake) over loopback: the upload
// (Put, a resumable upload in chunks) and the download (Open + io.Copy to
// /dev/null) of a large file of incompressible bytes, with the same transfers
// made by curl as the yardstick.
//
//	go run ./bench/cmd/drivebench                  # 1 GiB, chunks of 8 and 16 MiB
//	go run ./bench/cmd/drivebench -size 256 -reps 3
//
// Every party runs in its own process, so that each one's peak RSS is its
// own: the fake server (drivebench -serve, which holds whole files in
// memory), each measured hmsbackup client (drivebench -client-put /
// -client-get) and curl. The clients report their VmHWM from
// /proc/self/status; the parent also reports the kernel's ru_maxrss of each
// child from wait4.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

const mib = 1 << 20

// result is what a measured client prints as one JSON line on stdout.
type result struct {
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	VmHWMKiB int64   `json:"vmhwm_kib"`
	ID       string  `json:"id,omitempty"`
}

func main() {
	serve := flag.Bool("serve", false, "internal: run the fake Drive server, print its URL and folder ID, serve until stdin closes")
	clientPut := flag.String("client-put", "", "internal: upload this file with gdrive.Storage.Put and print a JSON result")
	clientGet := flag.String("client-get", "", "internal: download this name with gdrive.Storage.Open to /dev/null and print a JSON result")
	url := flag.String("url", "", "internal: the fake's endpoint (ends in /drive/v3/)")
	folder := flag.String("folder", "", "internal: the Drive folder ID")
	name := flag.String("name", "bench.bin", "internal: the backup file name to put")
	chunk := flag.Int("chunk", gdrive.DefaultChunkSize, "internal: the upload chunk size in bytes")

	size := flag.Int64("size", 1024, "file size in MiB")
	file := flag.String("file", "", "use this existing file instead of generating one (its size wins over -size)")
	chunks := flag.String("chunks", "8,16", "upload chunk sizes to measure, in MiB, comma-separated")
	reps := flag.Int("reps", 3, "rounds of every measurement")
	noCurl := flag.Bool("no-curl", false, "skip the curl yardstick")
	flag.Parse()

	var err error
	switch {
	case *serve:
		err = runServer()
	case *clientPut != "":
		err = runClientPut(*clientPut, *url, *folder, *name, *chunk)
	case *clientGet != "":
		err = runClientGet(*clientGet, *url, *folder)
	default:
		err = runBench(*size, *file, *chunks, *reps, !*noCurl)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "drivebench:", err)
		os.Exit(1)
	}
}

// runServer serves a fake Drive with one folder; it prints "URL FOLDERID"
// and, once stdin closes, its own peak RSS in KiB.
func runServer() error {
	fake := drivefake.New()
	defer fake.Close()
	fmt.Printf("%s %s\n", fake.URL(), fake.CreateFolder("hmsbackup bench"))
	io.Copy(io.Discard, os.Stdin)
	fmt.Printf("%d\n", vmHWM())
	return nil
}

func newStorage(url, folder string, chunk int) (*gdrive.Storage, error) {
	return gdrive.New(context.Background(), gdrive.Config{
		FolderID:    folder,
		Endpoint:    url,
		ChunkSize:   chunk,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: drivefake.Token}),
	})
}

func runClientPut(path, url, folder, name string, chunk int) error {
	s, err := newStorage(url, folder, chunk)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx := context.Background()
	start := time.Now()
	n, err := s.Put(ctx, name, f)
	secs := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	id, err := s.FileID(ctx, name)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result{Bytes: n, Seconds: secs, VmHWMKiB: vmHWM(), ID: id})
}

func runClientGet(name, url, folder string) error {
	s, err := newStorage(url, folder, 0)
	if err != nil {
		return err
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	start := time.Now()
	rc, err := s.Open(context.Background(), name)
	if err != nil {
		return err
	}
	n, err := io.Copy(null, rc)
	rc.Close()
	secs := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result{Bytes: n, Seconds: secs, VmHWMKiB: vmHWM()})
}

// vmHWM is this process's peak resident set in KiB, from /proc/self/status.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	return parseHWM(b)
}

func parseHWM(status []byte) int64 {
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// procCPU is the user + system CPU time of process pid so far, from
// /proc/<pid>/stat (in clock ticks of 1/100 s, as on all Linux builds).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name may hold spaces: the fields after it follow ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// generate writes size bytes from a ChaCha8 stream with a fixed seed:
// incompressible and the same on every run.
func generate(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{'h', 'm', 's', 'b', 'a', 'c', 'k', 'u', 'p'})
	buf := make([]byte, mib)
	w := bufio.NewWriterSize(f, mib)
	for left := size; left > 0; {
		k := min(left, int64(len(buf)))
		rng.Read(buf[:k])
		if _, err := w.Write(buf[:k]); err != nil {
			f.Close()
			return err
		}
		left -= k
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// row is one measurement of the report.
type row struct {
	op, who  string
	chunk    int // MiB, 0 if none
	bytes    int64
	secs     float64 // the transfer alone, as the client times it
	procSecs float64 // the whole child process, as the parent times it
	cpuSecs  float64 // user + system CPU of the child
	srvSecs  float64 // CPU the fake server used meanwhile
	hwmKiB   int64   // VmHWM reported by the child, -1 if none
	maxrss   int64   // ru_maxrss of the child from wait4, KiB
}

func (r row) mibps() float64 { return float64(r.bytes) / mib / r.secs }

// run runs a child process and returns its stdout, wall time, rusage and
// its VmHWM as last sampled from /proc/<pid>/status (every 10 ms; VmHWM
// only grows, so the last sample is the peak unless the child grew in its
// final 10 ms). The sample is needed for curl: the ru_maxrss that wait4
// gives for a child Go started can be this process's own peak, because Go
// starts children with CLONE_VM|CLONE_VFORK and Linux folds the parent's
// memory high-water mark into the child's at exec.
func run(name string, args ...string) ([]byte, float64, *syscall.Rusage, int64, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	var stdout strings.Builder
	cmd.Stdout = &stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, nil, -1, err
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan struct{})
	sampled := make(chan int64, 1)
	go func() {
		var peak int64 = -1
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(status); err == nil {
				if v := parseHWM(b); v > 0 { // 0 once the child is a zombie
					peak = max(peak, v)
				}
			}
			select {
			case <-done:
				sampled <- peak
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	secs := time.Since(start).Seconds()
	close(done)
	peak := <-sampled
	out := []byte(stdout.String())
	if err != nil {
		return out, secs, nil, peak, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return out, secs, ru, peak, nil
}

func cpu(ru *syscall.Rusage) float64 {
	if ru == nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func maxrss(ru *syscall.Rusage) int64 {
	if ru == nil {
		return -1
	}
	return ru.Maxrss // KiB on Linux
}

// runClient runs this program as a measured client.
func runClient(self string, args ...string) (result, row, error) {
	out, secs, ru, _, err := run(self, args...)
	if err != nil {
		return result{}, row{}, err
	}
	var res result
	if err := json.Unmarshal(out, &res); err != nil {
		return result{}, row{}, fmt.Errorf("client output %q: %w", out, err)
	}
	return res, row{bytes: res.Bytes, secs: res.Seconds, procSecs: secs, cpuSecs: cpu(ru), hwmKiB: res.VmHWMKiB, maxrss: maxrss(ru)}, nil
}

func deleteFile(base, id string) error {
	req, err := http.NewRequest(http.MethodDelete, base+"/drive/v3/files/"+id, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+drivefake.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("delete %s: %s", id, resp.Status)
	}
	return nil
}

// curlStats parses curl's -w "%{http_code} %{time_total} %{size_upload} %{size_download}".
func curlStats(out []byte) (code int, secs float64, up, down int64, err error) {
	_, err = fmt.Sscan(string(out), &code, &secs, &up, &down)
	return
}

func runBench(sizeMiB int64, file, chunkList string, reps int, withCurl bool) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var chunkMiB []int
	for c := range strings.SplitSeq(chunkList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad -chunks %q", chunkList)
		}
		chunkMiB = append(chunkMiB, n)
	}
	curl := ""
	if withCurl {
		if curl, err = exec.LookPath("curl"); err != nil {
			return fmt.Errorf("curl not found (use -no-curl): %w", err)
		}
	}

	if file == "" {
		dir, err := os.MkdirTemp("", "drivebench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		file = filepath.Join(dir, "random.bin")
		start := time.Now()
		if err := generate(file, sizeMiB*mib); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "generated %s (%d MiB) in %.1fs\n", file, sizeMiB, time.Since(start).Seconds())
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	size := st.Size()
	// Warm the page cache so that every upload reads the file from memory.
	if f, err := os.Open(file); err == nil {
		io.Copy(io.Discard, f)
		f.Close()
	}

	srv := exec.Command(self, "-serve")
	srv.Stderr = os.Stderr
	stdin, err := srv.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	srvOut := bufio.NewReader(stdout)
	line, err := srvOut.ReadString('\n')
	if err != nil {
		srv.Process.Kill()
		return fmt.Errorf("fake server: %w", err)
	}
	url, folder, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok {
		srv.Process.Kill()
		return fmt.Errorf("fake server said %q", line)
	}
	base := strings.TrimSuffix(url, "/drive/v3/")
	fmt.Fprintf(os.Stderr, "fake Drive at %s, folder %s\n", url, folder)

	var rows []row
	srvPid := srv.Process.Pid
	srvMark := procCPU(srvPid)
	// add records r with the server CPU used since the previous add.
	add := func(r row) {
		now := procCPU(srvPid)
		r.srvSecs = now - srvMark
		srvMark = now
		rows = append(rows, r)
	}
	bench := func() error {
		for rep := 0; rep < reps; rep++ {
			for _, c := range chunkMiB {
				name := fmt.Sprintf("bench-%d-%d.bin", c, rep)
				res, r, err := runClient(self, "-client-put", file, "-url", url, "-folder", folder, "-name", name, "-chunk", strconv.Itoa(c*mib))
				if err != nil {
					return err
				}
				if r.bytes != size {
					return fmt.Errorf("Put sent %d bytes, want %d", r.bytes, size)
				}
				r.op, r.who, r.chunk = "upload", "hmsbackup Put", c
				add(r)
				fmt.Fprintf(os.Stderr, "put chunk %d MiB: %.2fs, %.0f MiB/s, VmHWM %d KiB\n", c, r.secs, r.mibps(), r.hwmKiB)

				_, r, err = runClient(self, "-client-get", name, "-url", url, "-folder", folder)
				if err != nil {
					return err
				}
				if r.bytes != size {
					return fmt.Errorf("Open read %d bytes, want %d", r.bytes, size)
				}
				r.op, r.who = "download", "hmsbackup Open + io.Copy"
				add(r)
				fmt.Fprintf(os.Stderr, "get: %.2fs, %.0f MiB/s, VmHWM %d KiB\n", r.secs, r.mibps(), r.hwmKiB)
				if err := deleteFile(base, res.ID); err != nil {
					return err
				}
				srvMark = procCPU(srvPid)
			}
			if curl == "" {
				continue
			}
			// -T streams the file (--data-binary @file would read all of it
			// into memory first); "Expect:" drops the 100-continue round trip.
			resp := filepath.Join(os.TempDir(), fmt.Sprintf("drivebench-%d.json", os.Getpid()))
			out, secs, ru, peak, err := run(curl, "-sS", "-X", "POST", "-T", file, "-o", resp,
				"-H", "Authorization: Bearer "+drivefake.Token, "-H", "Content-Type: application/octet-stream", "-H", "Expect:",
				"-w", "%{http_code} %{time_total} %{size_upload} %{size_download}",
				base+"/upload/drive/v3/files?uploadType=media")
			if err != nil {
				return err
			}
			body, _ := os.ReadFile(resp)
			os.Remove(resp)
			code, tsecs, up, _, err := curlStats(out)
			if err != nil || code != 200 || up != size {
				return fmt.Errorf("curl upload: %q %s (%v)", out, body, err)
			}
			var meta struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(body, &meta); err != nil || meta.ID == "" {
				return fmt.Errorf("curl upload answered %s", body)
			}
			r := row{op: "upload", who: "curl (uploadType=media)", bytes: up, secs: tsecs, procSecs: secs, cpuSecs: cpu(ru), hwmKiB: peak, maxrss: maxrss(ru)}
			add(r)
			fmt.Fprintf(os.Stderr, "curl put: %.2fs, %.0f MiB/s\n", r.secs, r.mibps())

			out, secs, ru, peak, err = run(curl, "-sS", "-o", os.DevNull, "-H", "Authorization: Bearer "+drivefake.Token,
				"-w", "%{http_code} %{time_total} %{size_upload} %{size_download}",
				base+"/drive/v3/files/"+meta.ID+"?alt=media")
			if err != nil {
				return err
			}
			code, tsecs, _, down, err := curlStats(out)
			if err != nil || code != 200 || down != size {
				return fmt.Errorf("curl download: %q (%v)", out, err)
			}
			r = row{op: "download", who: "curl (alt=media)", bytes: down, secs: tsecs, procSecs: secs, cpuSecs: cpu(ru), hwmKiB: peak, maxrss: maxrss(ru)}
			add(r)
			fmt.Fprintf(os.Stderr, "curl get: %.2fs, %.0f MiB/s\n", r.secs, r.mibps())
			if err := deleteFile(base, meta.ID); err != nil {
				return err
			}
			srvMark = procCPU(srvPid)
		}
		return nil
	}
	berr := bench()
	stdin.Close()
	var srvHWM int64 = -1
	if l, err := srvOut.ReadString('\n'); err == nil {
		srvHWM, _ = strconv.ParseInt(strings.TrimSpace(l), 10, 64)
	}
	werr := srv.Wait()
	if berr != nil {
		return berr
	}
	if werr != nil {
		return fmt.Errorf("fake server: %w", werr)
	}
	report(rows, size, reps, srvHWM)
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	for i := range s { // insertion sort: a handful of values
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(rows []row, size int64, reps int, srvHWMKiB int64) {
	host, _ := os.Hostname()
	fmt.Printf("file: %d MiB of ChaCha8 bytes (incompressible), %d round(s); %s, %s/%s, %d CPUs, %s\n\n",
		size/mib, reps, host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	// Group by operation, client and chunk; medians over the rounds.
	type key struct {
		op, who string
		chunk   int
	}
	var order []key
	groups := map[key][]row{}
	for _, r := range rows {
		k := key{r.op, r.who, r.chunk}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	curlMiBps := map[string]float64{}
	for _, k := range order {
		if strings.HasPrefix(k.who, "curl") {
			var v []float64
			for _, r := range groups[k] {
				v = append(v, r.mibps())
			}
			curlMiBps[k.op] = median(v)
		}
	}
	fmt.Println("| operation | client | chunk | runs | time | MiB/s | vs curl | client CPU | fake server CPU | peak RSS (VmHWM) | ru_maxrss | RSS target (chunk + 32 MiB) |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, k := range order {
		g := groups[k]
		var secs, mbps, cpus, srvs []float64
		var hwm, mrss int64 = -1, -1
		for _, r := range g {
			secs = append(secs, r.secs)
			mbps = append(mbps, r.mibps())
			cpus = append(cpus, r.cpuSecs)
			srvs = append(srvs, r.srvSecs)
			hwm = max(hwm, r.hwmKiB)
			mrss = max(mrss, r.maxrss)
		}
		chunk, ratio, target := "-", "1.00", "-"
		if k.chunk > 0 {
			chunk = fmt.Sprintf("%d MiB", k.chunk)
		}
		if !strings.HasPrefix(k.who, "curl") {
			ratio = "-"
			if c := curlMiBps[k.op]; c > 0 {
				ratio = fmt.Sprintf("%.2f", median(mbps)/c)
			}
			peak := max(hwm, 0)
			if k.op == "upload" {
				t := int64(k.chunk+32) * 1024
				target = fmt.Sprintf("%d MiB: %s", k.chunk+32, metOrNot(peak <= t))
			} else {
				t := int64(8+32) * 1024
				target = fmt.Sprintf("40 MiB (no chunk; 8 MiB assumed): %s", metOrNot(peak <= t))
			}
		}
		hwmS := "-"
		if hwm >= 0 {
			hwmS = fmt.Sprintf("%.1f MiB", float64(hwm)/1024)
			if strings.HasPrefix(k.who, "curl") {
				hwmS += " (sampled)"
			}
		}
		fmt.Printf("| %s | %s | %s | %d | %.2f s | %.0f | %s | %.2f s | %.2f s | %s | %.1f MiB | %s |\n",
			k.op, k.who, chunk, len(g), median(secs), median(mbps), ratio, median(cpus), median(srvs), hwmS, float64(mrss)/1024, target)
	}
	if srvHWMKiB >= 0 {
		fmt.Printf("\nfake server (separate process) peak RSS: %.0f MiB\n", float64(srvHWMKiB)/1024)
	}
	fmt.Println("\ntime and MiB/s: medians; time is the transfer alone (curl's time_total; the client's own clock around Put, or Open + io.Copy).")
	fmt.Println("peak RSS: the Go clients' own VmHWM at exit; curl's sampled from /proc every 10 ms. ru_maxrss (wait4) can show the parent's peak instead (Go's vfork + exec).")
}

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}
