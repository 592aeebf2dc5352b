package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

func TestScratch(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.db")
	db, err := sql.Open("sqlite", "file:"+p+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("create table t(x); insert into t values(1)"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.db")
	os.WriteFile(out, nil, 0o600)
	if _, err := db.Exec("VACUUM INTO ?", out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	t.Logf("header 18,19 = %d %d, len %d", b[18], b[19], len(b))
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		t.Log(e.Name())
	}
	var v string
	db.QueryRow("select sqlite_version()").Scan(&v)
	t.Log(v)
	// garbage open
	g := filepath.Join(dir, "g.db")
	os.WriteFile(g, []byte("SQLite format 3\x00garbagegarbagegarbage"), 0o600)
	gdb, _ := sql.Open("sqlite", "file:"+g+"?mode=rw")
	var s string
	err = gdb.QueryRow("pragma integrity_check").Scan(&s)
	t.Logf("garbage: %q %v %T", s, err, err)
	mdb, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "missing.db")+"?mode=rw")
	err = mdb.Ping()
	t.Logf("missing: %v %T", err, err)
}
