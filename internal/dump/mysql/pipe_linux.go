package mysql

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// toolPipe returns a pipe for a tool's stdout and the pipe's capacity. The
// read end r is a plain blocking file, outside Go's netpoller: a pipe that
// has once been polled wakes its poller on every write (the kernel does so
// for epoll's sake), and each wake-up costs the netpoller a read that fails
// with EAGAIN and a park. Reads of r block their thread instead. The
// capacity is toolPipeSize if the system allows it (fs.pipe-max-size and
// the user's pipe quota), otherwise the pipe's default. The caller passes
// w to the tool, closes its own w after starting it, and closes r.
func toolPipe() (r, w *os.File, capacity int, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, 0, fmt.Errorf("pipe2: %w", err)
	}
	// Over the limit or the quota (EPERM) the pipe keeps its default size:
	// it works, only with more wake-ups.
	_, _ = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, toolPipeSize)
	capacity, err = unix.FcntlInt(uintptr(fds[1]), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		capacity = 0 // unknown: never pause
	}
	return os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1"), capacity, nil
}
