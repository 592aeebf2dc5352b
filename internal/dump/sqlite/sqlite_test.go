package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/dump/sqlite"
)

// richSchema exercises what a dump must carry: foreign keys, indexes,
// views, triggers, AUTOINCREMENT, WITHOUT ROWID, every storage class.
var richSchema = []string{
	"PRAGMA journal_mode = WAL",
	`CREATE TABLE wards (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE)`,
	`CREATE TABLE beds (ward_id INTEGER NOT NULL REFERENCES wards(id), bed TEXT NOT NULL, photo BLOB, weight REAL,
		updated_at TEXT, PRIMARY KEY (ward_id, bed)) WITHOUT ROWID`,
	`CREATE INDEX beds_weight_idx ON beds (weight)`,
	`CREATE VIEW ward_beds AS SELECT w.name, count(*) AS beds FROM wards w JOIN beds b ON b.ward_id = w.id GROUP BY w.name`,
	`CREATE TRIGGER beds_touch AFTER UPDATE ON beds BEGIN UPDATE beds SET updated_at = 'touched' WHERE ward_id = NEW.ward_id AND bed = NEW.bed AND updated_at IS NOT 'touched'; END`,
	`INSERT INTO wards (name) VALUES ('North 🏥'), ('Süd'), ('東')`,
	`DELETE FROM wards WHERE name = 'Süd'`,
	`INSERT INTO beds VALUES (1, 'A1', x'00ff10', 72.5, NULL), (1, 'A2', NULL, -0.0001, 'x'), (3, 'B1', x'', 1e300, '')`,
}

func TestInfo(t *testing.T) {
	dir := t.TempDir()
	d := sqlite.New(filepath.Join(dir, "hms.sqlite3"), t.TempDir())
	got := d.Info()
	want := backup.SourceInfo{
		Engine:   "sqlite",
		Database: "hms",
		Format:   "sqlite",
		Key:      "sqlite:" + filepath.Join(dir, "hms.sqlite3"),
	}
	if got != want {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}

	rel := sqlite.New("data/hms.db", "")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rel.Info().Key, "sqlite:"+filepath.Join(wd, "data", "hms.db"); got != want {
		t.Errorf("Info().Key for a relative path = %q, want %q", got, want)
	}
}

func TestDumpRestoreRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		create func(t *testing.T, p string)
	}{
		{"rich schema", func(t *testing.T, p string) { createDB(t, p, richSchema...) }},
		{"sample database", func(t *testing.T, p string) {
			if err := sqlite.CreateSampleDatabase(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty database", func(t *testing.T, p string) { createDB(t, p, "PRAGMA user_version = 7") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src.db")
			tt.create(t, src)
			want := content(t, src)
			snapDir := t.TempDir()

			raw := dump(t, sqlite.New(src, snapDir))
			if !bytes.HasPrefix(raw, []byte("SQLite format 3\x00")) {
				t.Fatalf("dump starts with %q, want the SQLite header", raw[:min(16, len(raw))])
			}
			if got := listDir(t, snapDir); len(got) != 0 {
				t.Errorf("snapshot directory holds %v after Dump, want it empty", got)
			}

			dstDir := t.TempDir()
			dst := filepath.Join(dstDir, "restored.db")
			if err := sqlite.New(dst, t.TempDir()).Restore(context.Background(), bytes.NewReader(raw)); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got := content(t, dst); got != want {
				t.Errorf("restored content differs:\ngot:\n%s\nwant:\n%s", got, want)
			}
			if got := queryString(t, dst, "PRAGMA integrity_check"); got != "ok" {
				t.Errorf("integrity_check of the restored database = %q, want ok", got)
			}
			if got, want := listDir(t, dstDir), []string{"restored.db"}; !slices.Equal(got, want) {
				t.Errorf("directory after Restore holds %v, want %v", got, want)
			}
		})
	}
}

func TestRestoreRemovesTablesNotInDump(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	createDB(t, src, "CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO patients VALUES (1, 'Alice Example')")
	want := content(t, src)
	raw := dump(t, sqlite.New(src, t.TempDir()))

	dst := filepath.Join(t.TempDir(), "hms.db")
	createDB(t, dst,
		"CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT, extra TEXT)",
		"INSERT INTO patients VALUES (1, 'Old', 'x'), (2, 'Gone', 'y')",
		"CREATE TABLE added_later (id INTEGER PRIMARY KEY)",
		"CREATE VIEW added_view AS SELECT * FROM added_later",
		"CREATE TRIGGER added_trigger AFTER INSERT ON patients BEGIN DELETE FROM added_later; END",
	)
	if err := sqlite.New(dst, t.TempDir()).Restore(context.Background(), bytes.NewReader(raw)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := content(t, dst); got != want {
		t.Errorf("restored content differs:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestRestoreKeepsJournalModeAndPermissions(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	createDB(t, src, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)") // rollback journal
	raw := dump(t, sqlite.New(src, t.TempDir()))

	dir := t.TempDir()
	dst := filepath.Join(dir, "hms.db")
	createDB(t, dst, "PRAGMA journal_mode = WAL", "CREATE TABLE old (y)")
	if err := os.Chmod(dst, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.New(dst, t.TempDir()).Restore(context.Background(), bytes.NewReader(raw)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := queryString(t, dst, "PRAGMA journal_mode"); got != "wal" {
		t.Errorf("journal_mode after restoring over a WAL database = %q, want wal", got)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o640); got != want {
		t.Errorf("permissions after Restore = %v, want %v", got, want)
	}
	if got, want := content(t, dst), content(t, src); got != want {
		t.Errorf("restored content differs:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// An idle connection of the HMS application holds committed but not yet
// checkpointed WAL frames of the old database. Its WAL must not leak into the
// restored database.
func TestRestoreOverDatabaseWithPendingWAL(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	createDB(t, src, richSchema...)
	want := content(t, src)
	raw := dump(t, sqlite.New(src, t.TempDir()))

	dir := t.TempDir()
	dst := filepath.Join(dir, "hms.db")
	app := openTestDB(t, dst, "_pragma=journal_mode(WAL)")
	defer app.Close()
	for _, s := range []string{"CREATE TABLE beds (x)", "INSERT INTO beds VALUES ('stale')", "CREATE TABLE noise (x)"} {
		if _, err := app.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(dst + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("test setup: want a non-empty -wal file, got %v, %v", fi, err)
	}

	if err := sqlite.New(dst, t.TempDir()).Restore(context.Background(), bytes.NewReader(raw)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dst + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stat %s after Restore: %v, want it removed", dst+suffix, err)
		}
	}
	if got := content(t, dst); got != want {
		t.Errorf("restored content differs:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestRestoreRejectsCorruptDump(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	createDB(t, src, richSchema...)
	createDB(t, src, "CREATE TABLE filler (x)", "INSERT INTO filler WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 200) SELECT randomblob(300) FROM s")
	good := dump(t, sqlite.New(src, t.TempDir()))
	pageSize := 4096

	tests := []struct {
		name string
		dump []byte
	}{
		{"empty", nil},
		{"garbage", bytes.Repeat([]byte("not a database \x00\xff"), 1000)},
		{"header only", []byte("SQLite format 3\x00")},
		{"header and garbage", append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xAB}, 8000)...)},
		{"truncated snapshot, half", good[:len(good)/2]},
		{"truncated snapshot, one page", good[:pageSize]},
		{"truncated snapshot, mid page", good[:len(good)-100]},
		{"damaged page", func() []byte {
			b := bytes.Clone(good)
			copy(b[pageSize:2*pageSize], bytes.Repeat([]byte{0xFF}, pageSize)) // page 2
			return b
		}()},
		{"truncated snapshot, header without a valid size", func() []byte {
			b := bytes.Clone(good[:len(good)/2])
			b[95] ^= 0xFF // version-valid-for no longer matches: SQLite trusts the file size
			return b
		}()},
		{"SQL text dump", bytes.Repeat([]byte("INSERT INTO patients VALUES (1, 'Alice Example');\n"), 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "hms.db")
			createDB(t, dst, "CREATE TABLE keep (x)", "INSERT INTO keep VALUES ('original')")
			wantContent := content(t, dst)
			wantBytes, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := listDir(t, dir)

			err = sqlite.New(dst, t.TempDir()).Restore(context.Background(), bytes.NewReader(tt.dump))
			if got, want := backup.ErrorCode(err), backup.ECORRUPT; got != want {
				t.Fatalf("Restore error code = %q (%v), want %q", got, err, want)
			}
			t.Logf("Restore: %v", err)
			gotBytes, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotBytes, wantBytes) {
				t.Errorf("database file changed after a rejected Restore")
			}
			if got := content(t, dst); got != wantContent {
				t.Errorf("content after a rejected Restore:\ngot:\n%s\nwant:\n%s", got, wantContent)
			}
			if got := listDir(t, dir); !slices.Equal(got, wantFiles) {
				t.Errorf("directory after a rejected Restore holds %v, want %v", got, wantFiles)
			}
		})
	}
}

func TestRestoreReaderError(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "hms.db")
	createDB(t, dst, "CREATE TABLE keep (x)")
	want := content(t, dst)
	readErr := backup.Errorf(backup.ECORRUPT, "gzip: invalid checksum")
	r := io.MultiReader(strings.NewReader("SQLite format 3\x00"), &failingReader{err: readErr})

	err := sqlite.New(dst, t.TempDir()).Restore(context.Background(), r)
	if !errors.Is(err, readErr) {
		t.Errorf("Restore error = %v, want it to wrap %v", err, readErr)
	}
	if got := content(t, dst); got != want {
		t.Errorf("content after a failed Restore:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if got, want := listDir(t, dir), []string{"hms.db"}; !slices.Equal(got, want) {
		t.Errorf("directory after a failed Restore holds %v, want %v", got, want)
	}
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestCancelledContext(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	createDB(t, src, richSchema...)
	raw := dump(t, sqlite.New(src, t.TempDir()))

	t.Run("Dump before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		snapDir := t.TempDir()
		var buf bytes.Buffer
		err := sqlite.New(src, snapDir).Dump(ctx, &buf)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dump error = %v, want context.Canceled", err)
		}
		if buf.Len() != 0 {
			t.Errorf("Dump wrote %d bytes, want 0", buf.Len())
		}
		if got := listDir(t, snapDir); len(got) != 0 {
			t.Errorf("snapshot directory holds %v, want it empty", got)
		}
	})

	t.Run("Dump while streaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		snapDir := t.TempDir()
		w := writerFunc(func(p []byte) (int, error) { cancel(); return len(p), nil })
		err := sqlite.New(src, snapDir).Dump(ctx, w)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dump error = %v, want context.Canceled", err)
		}
		if got := listDir(t, snapDir); len(got) != 0 {
			t.Errorf("snapshot directory holds %v, want it empty", got)
		}
	})

	for _, mid := range []bool{false, true} {
		name := "Restore before start"
		if mid {
			name = "Restore while streaming"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "hms.db")
			createDB(t, dst, "CREATE TABLE keep (x)", "INSERT INTO keep VALUES (42)")
			want := content(t, dst)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var r io.Reader = bytes.NewReader(raw)
			if mid {
				r = &cancellingReader{r: r, cancel: cancel}
			} else {
				cancel()
			}
			err := sqlite.New(dst, t.TempDir()).Restore(ctx, r)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Restore error = %v, want context.Canceled", err)
			}
			if got := content(t, dst); got != want {
				t.Errorf("content after a cancelled Restore:\ngot:\n%s\nwant:\n%s", got, want)
			}
			if got, want := listDir(t, dir), []string{"hms.db"}; !slices.Equal(got, want) {
				t.Errorf("directory after a cancelled Restore holds %v, want %v", got, want)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// cancellingReader cancels its context after the first chunk it returns.
type cancellingReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 512)])
	c.cancel()
	return n, err
}

func TestPing(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.db")
	createDB(t, ok, "CREATE TABLE t (x)")
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("garbage!"), 512), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := sqlite.New(ok, t.TempDir()).Ping(context.Background()); err != nil {
		t.Errorf("Ping(%s) = %v, want nil", ok, err)
	}
	for _, p := range []string{filepath.Join(dir, "missing.db"), garbage, dir} {
		err := sqlite.New(p, t.TempDir()).Ping(context.Background())
		if got, want := backup.ErrorCode(err), backup.EUNAVAILABLE; got != want {
			t.Errorf("Ping(%s) code = %q (%v), want %q", p, got, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Errorf("Ping(%s) = %q, want the message to name the path", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Ping created the missing database file (stat: %v)", err)
	}
}

func TestDumpMissingDatabase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing.db")
	var buf bytes.Buffer
	err := sqlite.New(p, t.TempDir()).Dump(context.Background(), &buf)
	if got, want := backup.ErrorCode(err), backup.EUNAVAILABLE; got != want {
		t.Errorf("Dump code = %q (%v), want %q", got, err, want)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dump created the missing database file (stat: %v)", err)
	}
}

func TestDumpNotADatabase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hms.db")
	if err := os.WriteFile(p, bytes.Repeat([]byte("garbage!"), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	snapDir := t.TempDir()
	var buf bytes.Buffer
	err := sqlite.New(p, snapDir).Dump(context.Background(), &buf)
	if got, want := backup.ErrorCode(err), backup.ECORRUPT; got != want {
		t.Errorf("Dump code = %q (%v), want %q", got, err, want)
	}
	if buf.Len() != 0 {
		t.Errorf("Dump wrote %d bytes, want 0", buf.Len())
	}
	if got := listDir(t, snapDir); len(got) != 0 {
		t.Errorf("snapshot directory holds %v, want it empty", got)
	}
}

// TestDumpWhileWriting takes snapshots while four writers, each on its own
// connection, keep inserting rows and bumping a counter in one transaction.
// Every snapshot must be a sound database in which the counter equals the
// row count, and no writer may fail.
func TestDumpWhileWriting(t *testing.T) {
	for _, mode := range []string{"wal", "delete"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "hms.db")
			createDB(t, src,
				"PRAGMA journal_mode = "+mode,
				"CREATE TABLE items (id INTEGER PRIMARY KEY, worker INTEGER NOT NULL, payload BLOB)",
				"CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), total INTEGER NOT NULL)",
				"INSERT INTO items (worker, payload) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) SELECT 0, randomblob(400) FROM s",
				"INSERT INTO counter VALUES (1, 20000)",
			)

			var stop atomic.Bool
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			var commits atomic.Int64
			for w := 1; w <= 4; w++ {
				db := openTestDB(t, src, "_txlock=immediate")
				defer db.Close()
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						tx, err := db.Begin()
						if err != nil {
							errs <- err
							return
						}
						_, err = tx.Exec("INSERT INTO items (worker, payload) VALUES (?, randomblob(100))", w)
						if err == nil {
							_, err = tx.Exec("UPDATE counter SET total = total + 1 WHERE id = 1")
						}
						if err == nil {
							err = tx.Commit()
						} else {
							tx.Rollback()
						}
						if err != nil {
							errs <- err
							return
						}
						commits.Add(1)
					}
				}()
			}
			defer func() {
				stop.Store(true)
				wg.Wait()
			}()

			// Let the writers get going before the first snapshot.
			for deadline := time.Now().Add(10 * time.Second); commits.Load() < 20 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			snapDir := t.TempDir()
			d := sqlite.New(src, snapDir)
			var counts []int64
			for i := range 4 {
				before := commits.Load()
				snap := filepath.Join(t.TempDir(), "snap.db")
				f, err := os.Create(snap)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Dump(context.Background(), f); err != nil {
					t.Fatalf("Dump %d: %v", i, err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				if commits.Load() == before {
					t.Logf("Dump %d: no writer committed while it ran", i)
				}
				if got := queryString(t, snap, "PRAGMA integrity_check"); got != "ok" {
					t.Fatalf("snapshot %d integrity_check = %q, want ok", i, got)
				}
				if got := queryString(t, snap,
					"SELECT (SELECT count(*) FROM items) || ' rows, counter ' || (SELECT total FROM counter)"); !consistent(got) {
					t.Errorf("snapshot %d: %s, want the counter to equal the row count", i, got)
				}
				var n int64
				db := openTestDB(t, snap, "mode=rw")
				if err := db.QueryRow("SELECT count(*) FROM items").Scan(&n); err != nil {
					t.Fatal(err)
				}
				db.Close()
				counts = append(counts, n)
			}
			stop.Store(true)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("writer failed while snapshots were taken: %v", err)
			}
			if counts[len(counts)-1] <= counts[0] {
				t.Errorf("row counts of successive snapshots = %v, want them to grow while writers run", counts)
			}
			if got := listDir(t, snapDir); len(got) != 0 {
				t.Errorf("snapshot directory holds %v, want it empty", got)
			}
		})
	}
}

// consistent reports whether "N rows, counter M" has N == M.
func consistent(s string) bool {
	rows, counter, ok := strings.Cut(s, " rows, counter ")
	return ok && rows == counter
}

// Restoring is how a damaged database is repaired, so a live file that is
// not a database at all must not stop it.
func TestRestoreOverDamagedDatabase(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.db")
	createDB(t, src, richSchema...)
	want := content(t, src)
	raw := dump(t, sqlite.New(src, t.TempDir()))

	dir := t.TempDir()
	dst := filepath.Join(dir, "hms.db")
	if err := os.WriteFile(dst, append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xEE}, 5000)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst+"-journal", bytes.Repeat([]byte{0xDD}, 600), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.New(dst, t.TempDir()).Restore(context.Background(), bytes.NewReader(raw)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := content(t, dst); got != want {
		t.Errorf("restored content differs:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if got, want := listDir(t, dir), []string{"hms.db"}; !slices.Equal(got, want) {
		t.Errorf("directory after Restore holds %v, want %v", got, want)
	}
}

// Paths reach SQLite as URIs: characters with a meaning there must not
// change which file is opened.
func TestPathsWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "hms db?mode=memory#1 100%.sqlite")
	createDB(t, src, richSchema...)
	want := content(t, src)
	snapDir := filepath.Join(t.TempDir(), "snap?shots #%")
	d := sqlite.New(src, snapDir)
	if err := d.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	raw := dump(t, d)

	dst := filepath.Join(dir, "restored ?&# %41.db")
	if err := sqlite.New(dst, snapDir).Restore(context.Background(), bytes.NewReader(raw)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := content(t, dst); got != want {
		t.Errorf("restored content differs:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if got, want := listDir(t, dir), []string{filepath.Base(src), filepath.Base(dst)}; !slices.Equal(got, want) {
		t.Errorf("directory holds %v, want %v", got, want)
	}
}
