package tempfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Files of killed runs go; those of live runs (ours, another live
// process's, an older version's just written) and others' files stay.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	dead := deadPID(t)
	files := map[string]bool{ // name -> want removed
		"hmsbackup-mysql-" + strconv.Itoa(os.Getpid()) + "-1.cnf": false,
		"hmsbackup-sqlite-1-2.snapshot":                           false, // init is alive
		"hmsbackup-mysql-" + strconv.Itoa(dead) + "-3.cnf":        true,
		"hmsbackup-sqlite-" + strconv.Itoa(dead) + "-4.snapshot":  true,
		"hmsbackup-mysql-123456789.cnf":                           true, // an older version's, old
		"hmsbackup-sqlite-987654321.snapshot":                     false,
		"unrelated.cnf":                                           false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * LegacyAge)
	os.Chtimes(filepath.Join(dir, "hmsbackup-mysql-123456789.cnf"), old, old)
	n, err := RemoveStale(dir)
	if err != nil || n != 3 {
		t.Fatalf("RemoveStale = %d, %v; want 3", n, err)
	}
	for name, gone := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone != os.IsNotExist(err) {
			t.Errorf("%s: removed %v, want %v", name, os.IsNotExist(err), gone)
		}
	}
}

func TestCreateNamesThePid(t *testing.T) {
	f, err := Create(t.TempDir(), "sqlite", ".snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if want := "hmsbackup-sqlite-" + strconv.Itoa(os.Getpid()) + "-"; !strings.HasPrefix(fi.Name(), want) || fi.Mode().Perm() != 0o600 {
		t.Errorf("Create made %s, mode %v; want %s*, 0600", fi.Name(), fi.Mode(), want)
	}
	if stale(f.Name()) {
		t.Errorf("our own file is taken for stale")
	}
	if _, err := Create(t.TempDir(), "a-b", ""); err == nil {
		t.Errorf("a kind with '-' was accepted")
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
