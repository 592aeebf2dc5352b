package mysql_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/replay"
)

// wantCode fails t unless err has code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := backup.ErrorCode(err); got != code {
		t.Errorf("%s: code %q, want %q; error: %v", what, got, code, err)
	}
}

// wantNoSecret fails t if err's text holds one of the secrets.
func wantNoSecret(t *testing.T, what string, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%s: the error shows a password: %v", what, err)
		}
	}
}

// closedPort is a TCP port on 127.0.0.1 nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return strconv.Itoa(port)
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tool.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWrongPassword(t *testing.T) {
	ctx := context.Background()
	dsn := newDatabase(t, "wrongpw")
	exec(t, openDB(t, dsn), "CREATE TABLE keep (id INT)")
	right := password(t, dsn)
	wrong := `wr0ng 'pa"ss#word;\`
	bad := withDSN(t, dsn, func(c *mysqldrv.Config) { c.Passwd = wrong })
	d := newDumper(t, mysql.Config{DSN: bad})

	err := d.Dump(ctx, io.Discard)
	wantCode(t, "Dump", err, backup.EUNAVAILABLE)
	wantNoSecret(t, "Dump", err, wrong, right)
	if err != nil && (!strings.Contains(err.Error(), "Access denied") || !strings.Contains(err.Error(), "HMSBACKUP_DB_DSN")) {
		t.Errorf("Dump error %q lacks the tool's message or the hint", err)
	}

	err = d.Ping(ctx)
	wantCode(t, "Ping", err, backup.EUNAVAILABLE)
	wantNoSecret(t, "Ping", err, wrong, right)
	if err != nil && !strings.Contains(err.Error(), "HMSBACKUP_DB_DSN") {
		t.Errorf("Ping error %q lacks the hint", err)
	}

	err = d.Restore(ctx, strings.NewReader("CREATE TABLE x (id INT);\n"))
	wantCode(t, "Restore", err, backup.EUNAVAILABLE)
	wantNoSecret(t, "Restore", err, wrong, right)

	if err := newDumper(t, mysql.Config{DSN: dsn}).Ping(ctx); err != nil {
		t.Errorf("Ping with the right password: %v", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	ctx := context.Background()
	for name, dsn := range map[string]string{
		"tcp":  "backup:secret-pw@tcp(127.0.0.1:" + closedPort(t) + ")/hms",
		"unix": "backup:secret-pw@unix(" + filepath.Join(t.TempDir(), "none.sock") + ")/hms",
	} {
		t.Run(name, func(t *testing.T) {
			d := newDumper(t, mysql.Config{DSN: dsn})
			err := d.Dump(ctx, io.Discard)
			wantCode(t, "Dump", err, backup.EUNAVAILABLE)
			wantNoSecret(t, "Dump", err, "secret-pw")
			if err != nil && !strings.Contains(err.Error(), "connect") {
				t.Errorf("Dump error %q lacks the tool's message", err)
			}
			err = d.Ping(ctx)
			wantCode(t, "Ping", err, backup.EUNAVAILABLE)
			wantNoSecret(t, "Ping", err, "secret-pw")
			err = d.Restore(ctx, strings.NewReader("SELECT 1;\n"))
			wantCode(t, "Restore", err, backup.EUNAVAILABLE)
			wantNoSecret(t, "Restore", err, "secret-pw")
		})
	}
}

func TestUnknownDatabase(t *testing.T) {
	dsn := newDatabase(t, "known")
	d := newDumper(t, mysql.Config{DSN: withDSN(t, dsn, func(c *mysqldrv.Config) { c.DBName = "no_such_db" })})
	err := d.Dump(context.Background(), io.Discard)
	wantCode(t, "Dump", err, backup.EUNAVAILABLE)
	wantCode(t, "Ping", d.Ping(context.Background()), backup.EUNAVAILABLE)
}

func TestMissingTools(t *testing.T) {
	ctx := context.Background()
	dsn := newDatabase(t, "notools")
	db := openDB(t, dsn)
	exec(t, db, "CREATE TABLE keep (id INT)", "INSERT INTO keep VALUES (1)")
	d := newDumper(t, mysql.Config{DSN: dsn, DumpCommand: "hmsbackup-no-such-dump", ClientCommand: "hmsbackup-no-such-client"})

	err := d.Dump(ctx, io.Discard)
	wantCode(t, "Dump", err, backup.EUNAVAILABLE)
	if err != nil && !strings.Contains(err.Error(), "apt-get install mariadb-client") {
		t.Errorf("Dump error %q does not say what to install", err)
	}
	err = d.Restore(ctx, strings.NewReader("SELECT 1;\n"))
	wantCode(t, "Restore", err, backup.EUNAVAILABLE)
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM keep").Scan(&n); err != nil || n != 1 {
		t.Errorf("a Restore that cannot run its client touched the database: count %d, %v", n, err)
	}
}

// TestRestoreStopsAtFirstError: with either method, a statement the
// server refuses stops the restore there, and the error quotes the
// server's message (and, from the replayer, the dump line).
func TestRestoreStopsAtFirstError(t *testing.T) {
	for _, method := range []string{mysql.MethodReplay, mysql.MethodClient} {
		t.Run(method, func(t *testing.T) {
			ctx := context.Background()
			dsn := newDatabase(t, "brokenstream")
			db := openDB(t, dsn)
			exec(t, db,
				"CREATE TABLE t1 (id INT PRIMARY KEY)", "INSERT INTO t1 VALUES (1), (2)",
				"CREATE TABLE t2 (id INT PRIMARY KEY)", "INSERT INTO t2 VALUES (3)")
			d := newDumper(t, mysql.Config{DSN: dsn, RestoreMethod: method})
			dumped := dump(t, d)
			cut := bytes.Index(dumped, []byte("-- Table structure for table `t2`"))
			if cut < 0 {
				t.Fatalf("no t2 in the dump:\n%s", dumped)
			}
			broken := append(append(append([]byte{}, dumped[:cut]...), "THIS IS NOT SQL;\n"...), dumped[cut:]...)
			line := bytes.Count(dumped[:cut], []byte("\n")) + 1

			err := d.Restore(ctx, bytes.NewReader(broken))
			if err == nil {
				t.Fatal("Restore of a broken stream succeeded")
			}
			wantCode(t, "Restore", err, backup.EINTERNAL)
			want := []string{"ERROR 1064", "THIS IS NOT SQL"}
			if method == mysql.MethodReplay {
				want = []string{"Error 1064", "THIS IS NOT SQL", fmt.Sprintf("line %d of the dump", line)}
			}
			for _, w := range want {
				if msg := err.Error(); !strings.Contains(msg, w) {
					t.Errorf("Restore error %q lacks %q", msg, w)
				}
			}
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM t1").Scan(&n); err != nil || n != 2 {
				t.Errorf("t1, before the error, has %d rows (%v), want 2", n, err)
			}
			err = db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't2'").Scan(&n)
			if err != nil || n != 0 {
				t.Errorf("t2, after the error, exists (%d, %v): the restore went on", n, err)
			}

			// The intact dump still restores.
			if err := d.Restore(ctx, bytes.NewReader(dumped)); err != nil {
				t.Fatalf("Restore of the intact dump: %v", err)
			}
		})
	}
}

// failingReader returns data, waits until ready says the client has taken
// it in, then fails, like a corrupt gzip stream.
type failingReader struct {
	data     []byte
	ready    func() bool
	err      error
	wasReady bool // ready said yes before the error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if r.ready() {
			r.wasReady = true
			break
		}
	}
	return 0, r.err
}

// TestRestoreReadErrorNeverRunsACutStatement: with either method, a read
// error after part of a statement never lets that part run.
func TestRestoreReadErrorNeverRunsACutStatement(t *testing.T) {
	for _, method := range []string{mysql.MethodReplay, mysql.MethodClient} {
		t.Run(method, func(t *testing.T) {
			dsn := newDatabase(t, "readerr")
			db := openDB(t, dsn)
			d := newDumper(t, mysql.Config{DSN: dsn, RestoreMethod: method})
			corrupt := errors.New("gzip: invalid checksum")
			r := &failingReader{
				// At EOF the client would run the cut-off INSERT.
				// More than the copy buffers before handing on, so the client gets
				// the CREATE (and runs it) before the read error. The header
				// makes it a dump the replayer takes.
				data: []byte("-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\nCREATE TABLE cut (i INT);\n" +
					strings.Repeat("-- a comment the client reads past\n", 10000) + "INSERT INTO cut VALUES (1), (2)"),
				// The client has run the CREATE: the read error comes after it.
				ready: func() bool {
					var n int
					return db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'cut'").Scan(&n) == nil && n == 1
				},
				err: corrupt,
			}
			err := d.Restore(context.Background(), r)
			if !errors.Is(err, corrupt) {
				t.Fatalf("Restore error = %v, want the reader's error", err)
			}
			wantCode(t, "Restore", err, backup.ECORRUPT)
			if !r.wasReady {
				t.Fatal("the restore never ran the CREATE before the read error, so the test proves nothing")
			}
			var n int
			err = db.QueryRow("SELECT COUNT(*) FROM cut").Scan(&n)
			if err == nil && n != 0 {
				t.Errorf("the cut-off INSERT ran: %d rows", n)
			}
		})
	}
}

func TestRestoreCanceled(t *testing.T) {
	dsn := newDatabase(t, "restorecancel")
	d := newDumper(t, mysql.Config{DSN: dsn})
	pr, pw := io.Pipe() // never written: the client waits for input
	defer pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.Restore(ctx, pr)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Restore error = %v, want the context's", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Restore took %v after the context ended", elapsed)
	}
}

func TestDumpCanceled(t *testing.T) {
	dsn := newDatabase(t, "dumpcancel")
	d := newDumper(t, mysql.Config{DSN: dsn, DumpCommand: script(t, "echo '-- MariaDB dump'\nexec sleep 30\n")})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.Dump(ctx, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dump error = %v, want the context's", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Dump took %v after the context ended", elapsed)
	}
}

func TestDumpToolFailures(t *testing.T) {
	dsn := newDatabase(t, "toolfail")
	for _, tc := range []struct {
		name, body, want string
	}{
		{"exit 0, no output", "exit 0\n", "wrote nothing"},
		{"exit 0, no trailer", "printf -- '-- MariaDB dump\\nCREATE TABLE t (i INT);\\n'\n", "-- Dump completed"},
		{"exit 0, trailer not last", "printf -- '-- Dump completed on 2026-01-01\\nCREATE TABLE t (i INT);\\n'\n", "incomplete"},
		{"exit 2", "printf -- '-- MariaDB dump\\n'\necho 'mariadb-dump: Couldn'\\''t execute SHOW CREATE TABLE: boom (1146)' >&2\nexit 2\n", "boom (1146)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDumper(t, mysql.Config{DSN: dsn, DumpCommand: script(t, tc.body)})
			err := d.Dump(context.Background(), io.Discard)
			if err == nil {
				t.Fatal("Dump succeeded")
			}
			wantCode(t, "Dump", err, backup.EINTERNAL)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Dump error %q lacks %q", err, tc.want)
			}
		})
	}
}

// failingWriter fails every write, like a full disk.
type failingWriter struct{ err error }

func (w failingWriter) Write(p []byte) (int, error) { return 0, w.err }

func TestDumpWriteError(t *testing.T) {
	dsn := newDatabase(t, "writeerr")
	exec(t, openDB(t, dsn), "CREATE TABLE t (id INT)")
	full := backup.Errorf(backup.EINTERNAL, "disk full")
	err := newDumper(t, mysql.Config{DSN: dsn}).Dump(context.Background(), failingWriter{full})
	if !errors.Is(err, full) {
		t.Errorf("Dump error = %v, want the writer's", err)
	}
}

func TestRestoreChecksTheClientFirst(t *testing.T) {
	dsn := newDatabase(t, "clientcheck")
	db := openDB(t, dsn)
	exec(t, db, "CREATE TABLE keep (id INT)", "INSERT INTO keep VALUES (1)")
	client := script(t, "echo \"ERROR 1045 (28000): Access denied for user 'x'@'localhost' (using password: YES)\" >&2\nexit 1\n")
	d := newDumper(t, mysql.Config{DSN: dsn, ClientCommand: client})
	err := d.Restore(context.Background(), strings.NewReader("DROP TABLE keep;\n"))
	wantCode(t, "Restore", err, backup.EUNAVAILABLE)
	if err != nil && !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("Restore error %q does not say the database is intact", err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM keep").Scan(&n); err != nil || n != 1 {
		t.Errorf("a Restore whose client cannot log in touched the database: count %d, %v", n, err)
	}
}

// TestReplayStopsAllConnectionsAtAFailingInsert (issue 10): an INSERT
// that fails on one of the replayer's data connections, in the middle of
// a table's data, stops every connection: the error names the table and
// the dump line, nothing after it runs (the next table is never made),
// and no session of the restore is left running.
func TestReplayStopsAllConnectionsAtAFailingInsert(t *testing.T) {
	ctx := context.Background()
	dsn := newDatabase(t, "replaystop")
	db := openDB(t, dsn)
	exec(t, db,
		"CREATE TABLE big (id INT PRIMARY KEY, pad TEXT)",
		"INSERT INTO big SELECT seq, REPEAT('y', 1000) FROM seq_1_to_6000",
		"CREATE TABLE zz_after (id INT PRIMARY KEY)", "INSERT INTO zz_after VALUES (1)")
	d := newDumper(t, mysql.Config{DSN: dsn, RestoreMethod: mysql.MethodReplay, Replay: replay.Options{Parallel: 3, CommitStatements: 1}})
	dumped := dump(t, d)
	first := bytes.Index(dumped, []byte("INSERT INTO `big` VALUES"))
	third := first
	for range 2 {
		next := bytes.Index(dumped[third+1:], []byte("INSERT INTO `big` VALUES"))
		if next < 0 {
			t.Fatal("the dump loads big in fewer than 3 INSERTs")
		}
		third += 1 + next
	}
	line := bytes.Count(dumped[:third], []byte("\n")) + 1
	broken := append(append(append([]byte{}, dumped[:third]...), "INSERT INTO `big` VALUES (5,'duplicate');\n"...), dumped[third:]...)

	err := d.Restore(ctx, bytes.NewReader(broken))
	if err == nil {
		t.Fatal("Restore with a duplicate key succeeded")
	}
	for _, want := range []string{"Error 1062", "data of table `big`", fmt.Sprintf("line %d of the dump", line)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'zz_after'").Scan(&n); err != nil || n != 0 {
		t.Errorf("the table after the failure exists (%d, %v): the restore went on", n, err)
	}
	user := strings.SplitN(dsn, ":", 2)[0]
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'", user).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of the restore still run statements", n)
		}
	}
}

// TestReplayHandsOtherScriptsToTheClient (issue 10): SQL that is not
// mysqldump's or mariadb-dump's output goes to the client before anything
// is changed, and the log says why.
func TestReplayHandsOtherScriptsToTheClient(t *testing.T) {
	dsn := newDatabase(t, "notadump")
	db := openDB(t, dsn)
	var logs bytes.Buffer
	d := newDumper(t, mysql.Config{DSN: dsn, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	script := "CREATE TABLE handwritten (i INT);\nINSERT INTO handwritten VALUES (1), (2);\n"
	if err := d.Restore(context.Background(), strings.NewReader(script)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if !strings.Contains(logs.String(), "restoring with the client") || !strings.Contains(logs.String(), "does not start with their header") {
		t.Errorf("the log does not say why the client restored it:\n%s", logs.String())
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM handwritten").Scan(&n); err != nil || n != 2 {
		t.Errorf("handwritten has %d rows (%v), want 2", n, err)
	}
}
