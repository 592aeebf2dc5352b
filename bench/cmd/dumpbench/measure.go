package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// clockTick is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTick = 10 * time.Millisecond

// run is one timed execution of a command.
type run struct {
	Label string `json:"label"`
	Round int    `json:"round"`

	WallMS int64 `json:"wall_ms"`
	// CPU of the process and every descendant it waited for (rusage of wait4).
	UserMS int64 `json:"user_ms"`
	SysMS  int64 `json:"sys_ms"`
	// The same split into the process's own CPU and that of the children
	// it waited for (mysqldump under hmsbackup; mysqldump and gzip under
	// the baseline's bash), read from /proc/PID/stat of the exited process
	// before it is reaped; 10 ms resolution.
	OwnUserMS   int64 `json:"own_user_ms"`
	OwnSysMS    int64 `json:"own_sys_ms"`
	ChildUserMS int64 `json:"children_user_ms"`
	ChildSysMS  int64 `json:"children_sys_ms"`
	// MaxRSSKiB is wait4's ru_maxrss: the largest RSS of the process or of
	// any descendant it waited for (e.g. mysqldump under hmsbackup).
	MaxRSSKiB int64 `json:"maxrss_kib"`
	// HWMKiB is the process's own VmHWM from /proc/PID/status, polled every
	// 50 ms (0 if not polled): hmsbackup alone, without its children.
	HWMKiB int64 `json:"vmhwm_kib,omitempty"`
	// ServerCPUMS is the CPU mariadbd used during the run.
	ServerCPUMS int64 `json:"server_cpu_ms"`
	// OtherCPUMS is the machine's busy CPU during the run that was neither
	// ours nor the server's: other people's work on the shared machine.
	OtherCPUMS int64   `json:"other_cpu_ms"`
	Load1      float64 `json:"load1_before"`

	OutBytes int64 `json:"out_bytes,omitempty"`
	// From hmsbackup's JSON.
	BackupID     int64 `json:"backup_id,omitempty"`
	RawBytes     int64 `json:"raw_bytes,omitempty"`
	DurationMS   int64 `json:"duration_ms,omitempty"`
	PreRestoreMS int64 `json:"pre_restore_ms,omitempty"`
	RestoreMS    int64 `json:"restore_ms,omitempty"`
	PreRestoreID int64 `json:"pre_restore_id,omitempty"`

	Stdout string `json:"-"`
}

func (r *run) Wall() time.Duration { return time.Duration(r.WallMS) * time.Millisecond }
func (r *run) CPUMS() int64        { return r.UserMS + r.SysMS }

// measure runs cmd to completion and records its wall time, rusage and,
// if pollHWM, its own peak RSS. serverPID is mariadbd's pid (0: unknown).
func measure(label string, cmd *exec.Cmd, pollHWM bool, serverPID int) (*run, error) {
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	r := &run{Label: label, Load1: load1()}
	srv0 := procCPU(serverPID)
	busy0 := machineBusy()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start: %w", label, err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	var hwm int64
	if pollHWM {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				if v := statusKiB(path, "VmHWM:"); v > hwm {
					hwm = v
				}
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		}()
	}
	if t, err := exitedTimes(cmd.Process.Pid); err == nil {
		r.OwnUserMS, r.OwnSysMS = t[0].Milliseconds(), t[1].Milliseconds()
		r.ChildUserMS, r.ChildSysMS = t[2].Milliseconds(), t[3].Milliseconds()
	}
	err := cmd.Wait()
	r.WallMS = time.Since(start).Milliseconds()
	close(done)
	wg.Wait()
	r.HWMKiB = hwm
	r.ServerCPUMS = (procCPU(serverPID) - srv0).Milliseconds()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.UserMS = time.Duration(ru.Utime.Nano()).Milliseconds()
		r.SysMS = time.Duration(ru.Stime.Nano()).Milliseconds()
		r.MaxRSSKiB = ru.Maxrss
	}
	r.OtherCPUMS = max(0, (machineBusy()-busy0).Milliseconds()-r.CPUMS()-r.ServerCPUMS)
	r.Stdout = stdout.String()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 4000 {
			msg = "..." + msg[len(msg)-4000:]
		}
		return r, fmt.Errorf("%s: %w: %s", label, err, msg)
	}
	return r, nil
}

// exitedTimes waits until the child pid has exited, without reaping it
// (waitid with WNOWAIT), and returns its utime, stime, cutime and cstime
// from /proc/PID/stat, which a zombie still has.
func exitedTimes(pid int) ([4]time.Duration, error) {
	var t [4]time.Duration
	const pPID, wExited, wNoWait = 1, 4, 0x1000000
	var siginfo [128]byte
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&siginfo[0])), wExited|wNoWait, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return t, fmt.Errorf("waitid %d: %w", pid, errno)
		}
		break
	}
	f, err := statFields(pid)
	if err != nil {
		return t, err
	}
	for i := range t {
		v, _ := strconv.ParseInt(f[11+i], 10, 64)
		t[i] = time.Duration(v) * clockTick
	}
	return t, nil
}

// statFields returns the fields of /proc/PID/stat after the command name,
// so f[0] is the state (field 3) and f[11] utime (field 14).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return f, nil
}

// statusKiB reads a "Key:   123 kB" line of /proc/PID/status.
func statusKiB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line[len(key):])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// procCPU is a process's user+system CPU so far.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	f, err := statFields(pid)
	if err != nil {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * clockTick
}

// machineBusy is the machine's non-idle CPU time so far (all CPUs).
func machineBusy() time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range fields[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * clockTick
}

func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
