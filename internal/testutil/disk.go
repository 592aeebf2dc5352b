package testutil

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// SmallTmpfs mounts a tmpfs of size (e.g. "256k") in a new temporary
// directory and returns that directory: a real disk that a test can fill.
// It is unmounted when the test ends. Mounting needs root, which CI has:
// the test fails (it is never skipped) when the mount is impossible.
func SmallTmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("mounting a tmpfs needs root; CI runs as root, and nothing may be skipped there")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a %s tmpfs: %v: %s", size, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// FillDisk writes the file at path until its file system has no free block
// left (the kernel answers ENOSPC) and returns how many bytes it wrote.
// Removing the file gives the room back.
func FillDisk(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("fill the disk: %v", err)
	}
	defer f.Close()
	var n int64
	// Big writes first, then single blocks: the last one that fits is
	// written too, so not even one block is left.
	for _, size := range []int{1 << 20, 4 << 10} {
		buf := make([]byte, size)
		for {
			m, err := f.Write(buf)
			n += int64(m)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("fill the disk: %v", err)
			}
		}
	}
	return n
}
