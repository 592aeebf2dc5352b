package mysql

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The on-disk fallback (no memfd): a 0600 file named with our pid, gone
// after Close.
func TestCredentialsFileFallback(t *testing.T) {
	dir := t.TempDir()
	path, remove, err := writeCredentialsFile(dir, []byte("[client]\npassword=x\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := &credentials{path: path, remove: remove}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(path) != dir {
		t.Fatalf("fallback file %s: %v, mode %v", path, err, fi.Mode())
	}
	if want := "hmsbackup-mysql-" + strconv.Itoa(os.Getpid()) + "-"; !strings.HasPrefix(filepath.Base(path), want) {
		t.Errorf("fallback file %s is not named %s*, so a crash could not be cleaned up", path, want)
	}
	c.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the file is still there after Close: %v", err)
	}
}
