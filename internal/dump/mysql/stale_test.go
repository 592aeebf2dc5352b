package mysql

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Credentials files of killed runs go; those of live runs (ours, another
// live process's, an older version's just written) stay.
func TestRemoveStaleCredentials(t *testing.T) {
	dir := t.TempDir()
	// A pid that is surely dead: a child that has exited and been waited for.
	dead := deadPID(t)
	files := map[string]bool{ // name -> want removed
		credentialFilePrefix + strconv.Itoa(os.Getpid()) + "-1.cnf": false,
		credentialFilePrefix + "1-2.cnf":                            false, // init is alive
		credentialFilePrefix + strconv.Itoa(dead) + "-3.cnf":        true,
		credentialFilePrefix + "123456789.cnf":                      true, // an older version's, old
		credentialFilePrefix + "987654321.cnf":                      false,
		"unrelated.cnf":                                             false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("[client]\npassword=x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(dir, credentialFilePrefix+"123456789.cnf"), old, old)
	n, err := RemoveStaleCredentials(dir)
	if err != nil || n != 2 {
		t.Fatalf("RemoveStaleCredentials = %d, %v; want 2", n, err)
	}
	for name, gone := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone != os.IsNotExist(err) {
			t.Errorf("%s: removed %v, want %v", name, os.IsNotExist(err), gone)
		}
	}
}

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
	if staleCredentials(path) {
		t.Errorf("our own live file is taken for stale")
	}
	c.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the file is still there after Close: %v", err)
	}
}

func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}
