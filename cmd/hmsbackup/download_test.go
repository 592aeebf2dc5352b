package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Issue 7: download -o writes only new files, or regular files with
// --force; it never replaces a device, FIFO, symlink or directory, and
// never writes inside the data directory, whatever --force says.
func TestDownloadRefusesDangerousTargets(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test makes a character device with mknod, which needs root (CI runs as root)")
	}
	dataDir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir}
	mustOK(t, cliRun(t, env, "create"))
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(existing, link)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	device := filepath.Join(dir, "null")
	if err := syscall.Mknod(device, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	subdir := filepath.Join(dir, "subdir")
	os.Mkdir(subdir, 0o700)
	intoData := filepath.Join(dir, "data-link")
	os.Symlink(dataDir, intoData)

	for _, c := range []struct {
		name, target, want string
		force              bool
	}{
		{"existing file", existing, "already exists: add --force", false},
		{"symlink", link, "is a symbolic link", true},
		{"FIFO", fifo, "is a FIFO", true},
		{"character device", device, "is a character device", true},
		{"directory", subdir, "is a directory", true},
		{"the catalog", filepath.Join(dataDir, "catalog.db"), "inside the data directory", true},
		{"a new file in the data directory", filepath.Join(dataDir, "copy.gz"), "inside the data directory", true},
		{"the data directory through a symlink", filepath.Join(intoData, "copy.gz"), "inside the data directory", true},
	} {
		args := []string{"download", "1", "-o", c.target}
		if c.force {
			args = append(args, "--force")
		}
		r := cliRun(t, env, args...)
		if exitCode(r.err) != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, %q; want 2 and %q", c.name, exitCode(r.err), r.stderr, c.want)
		}
	}
	// Nothing was touched.
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file now holds %q", b)
	}
	for path, mode := range map[string]os.FileMode{link: os.ModeSymlink, fifo: os.ModeNamedPipe, device: os.ModeCharDevice | os.ModeDevice, subdir: os.ModeDir} {
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != mode {
			t.Errorf("%s: %v, type %v; want it left as %v", path, err, fi.Mode().Type(), mode)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "copy.gz")); !os.IsNotExist(err) {
		t.Errorf("a file was written in the data directory: %v", err)
	}
	mustOK(t, cliRun(t, env, "list")) // the catalog still works

	// A new file, then --force over that regular file.
	fresh := filepath.Join(dir, "fresh.gz")
	mustOK(t, cliRun(t, env, "download", "1", "-o", fresh))
	mustOK(t, cliRun(t, env, "download", "1", "-o", existing, "--force"))
	a, _ := os.ReadFile(fresh)
	b, _ := os.ReadFile(existing)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("download wrote %d and %d bytes, want the same backup twice", len(a), len(b))
	}
	// Standard output.
	if r := mustOK(t, cliRun(t, env, "download", "1", "-o", "-")); r.stdout != string(a) {
		t.Errorf("-o - wrote %d bytes, want %d", len(r.stdout), len(a))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 7 {
		t.Errorf("%d entries in the target directory, want 7 (no temp files left)", len(entries))
	}
}
