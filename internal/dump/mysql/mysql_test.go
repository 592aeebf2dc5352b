package mysql_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// server is the MariaDB shared by this package's tests.
var server *testutil.MariaDB

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithMariaDB(m, func(db *testutil.MariaDB) { server = db }))
}

// newDatabase creates a database named prefix plus a random suffix (tests
// may run more than once against the one server) and its own user, and
// returns the DSN.
func newDatabase(t testing.TB, prefix string) string {
	t.Helper()
	dsn, err := server.NewDatabase(context.Background(), uniqueName(t, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

func uniqueName(t testing.TB, prefix string) string {
	t.Helper()
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	return prefix + "_" + hex.EncodeToString(suffix)
}

// dbName is the database a DSN names.
func dbName(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.DBName
}

func newDumper(t *testing.T, cfg mysql.Config) *mysql.Dumper {
	t.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	d, err := mysql.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func password(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Passwd
}

// withDSN returns dsn changed by fn.
func withDSN(t *testing.T, dsn string, fn func(*mysqldrv.Config)) string {
	t.Helper()
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	fn(cfg)
	return cfg.FormatDSN()
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// createFixture fills db with one of everything a hospital schema may hold.
func createFixture(t *testing.T, db *sql.DB) {
	t.Helper()
	exec(t, db,
		`CREATE TABLE patients (
			id INT AUTO_INCREMENT PRIMARY KEY,
			name VARCHAR(200) NOT NULL,
			notes TEXT NULL,
			photo LONGBLOB NULL,
			attrs JSON NULL,
			admitted DATETIME(6) NULL,
			balance DECIMAL(20,6) NULL,
			KEY name_idx (name)
		) ENGINE=InnoDB`,
		`CREATE TABLE visits (
			id INT PRIMARY KEY,
			patient_id INT NOT NULL,
			CONSTRAINT visits_patient FOREIGN KEY (patient_id) REFERENCES patients (id)
		) ENGINE=InnoDB`,
		`CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, patient_id INT, what VARCHAR(20)) ENGINE=InnoDB`,
		`CREATE TRIGGER patients_ai AFTER INSERT ON patients FOR EACH ROW
			INSERT INTO audit (patient_id, what) VALUES (NEW.id, 'insert')`,
		`CREATE VIEW patient_names AS SELECT id, name FROM patients`,
		`CREATE PROCEDURE add_patient(IN n VARCHAR(200))
		BEGIN
			INSERT INTO patients (name) VALUES (n);
		END`,
		`CREATE FUNCTION greet(n VARCHAR(200)) RETURNS VARCHAR(250) CHARSET utf8mb4 DETERMINISTIC
			RETURN CONCAT('Hello, ', n, ' 👋')`,
		// Far in the future, so the scheduler never runs it during the test.
		`CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 00:00:00'
			DO DELETE FROM audit WHERE id < 0`,
		`CREATE SEQUENCE ticket_seq START WITH 100 INCREMENT BY 1`,
	)
	_, err := db.Exec(`INSERT INTO patients (id, name, notes, photo, attrs, admitted, balance) VALUES
		(1, ?, ?, ?, ?, '2024-02-29 23:59:59.123456', '12345678901234.123456'),
		(2, 'all NULL', NULL, NULL, NULL, NULL, NULL),
		(3, '', '', ?, '{}', '1970-01-01 00:00:01.000001', '-0.000001')`,
		"Zoë 😀 Ñandú 中文 \U0001F9D1\u200D\u2695\uFE0F",
		"line 1\nline 2\ttab \\ backslash 'single' \"double\" `back` ; -- not a comment /* nor this */ \r\n\x00nul",
		allBytes(),
		`{"allergies": ["penicillin", "😷"], "nested": {"n": 1.5, "null": null}}`,
		[]byte{},
	)
	if err != nil {
		t.Fatalf("inserting patients: %v", err)
	}
	exec(t, db,
		`INSERT INTO visits VALUES (10, 1), (11, 1), (12, 3)`,
		`SELECT NEXT VALUE FOR ticket_seq`,
	)
}

// rowsAsText runs q and renders every row, NULLs and bytes exactly.
func rowsAsText(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	return rowsAsTextExcept(t, db, nil, q, args...)
}

// rowsAsTextExcept is rowsAsText without the columns in skip.
func rowsAsTextExcept(t *testing.T, db *sql.DB, skip []string, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if slices.Contains(skip, cols[i]) {
				continue
			}
			if v == nil {
				fmt.Fprintf(&b, "%s=NULL ", cols[i])
			} else {
				fmt.Fprintf(&b, "%s=%q ", cols[i], []byte(v))
			}
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// snapshot describes everything in the database: each object's definition
// and each table's rows.
func snapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	type object struct{ kind, name string }
	var objects []object
	rows, err := db.Query(`
		SELECT TABLE_TYPE, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
		UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
		UNION ALL SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()
		UNION ALL SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.kind, &o.name); err != nil {
			t.Fatal(err)
		}
		objects = append(objects, o)
	}
	rows.Close()
	for _, o := range objects {
		id := testutil.QuoteIdent(o.name)
		fmt.Fprintf(&b, "== %s %s\n", o.kind, o.name)
		switch o.kind {
		case "BASE TABLE":
			b.WriteString(rowsAsText(t, db, "SHOW CREATE TABLE "+id))
			b.WriteString(rowsAsText(t, db, "SELECT * FROM "+id+" ORDER BY 1"))
			// Table is db.name, which differs in another database.
			b.WriteString(rowsAsTextExcept(t, db, []string{"Table"}, "CHECKSUM TABLE "+id+" EXTENDED"))
		case "VIEW":
			b.WriteString(rowsAsText(t, db, "SHOW CREATE VIEW "+id))
		case "SEQUENCE":
			b.WriteString(rowsAsText(t, db, "SHOW CREATE SEQUENCE "+id))
			b.WriteString(rowsAsText(t, db, "SELECT * FROM "+id))
		case "TRIGGER":
			// Created is when the trigger was made: at restore time.
			b.WriteString(rowsAsTextExcept(t, db, []string{"Created"}, "SHOW CREATE TRIGGER "+id))
		case "PROCEDURE", "FUNCTION", "EVENT":
			b.WriteString(rowsAsText(t, db, "SHOW CREATE "+o.kind+" "+id))
		}
	}
	return b.String()
}

// dump runs d.Dump into memory.
func dump(t *testing.T, d *mysql.Dumper) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := d.Dump(context.Background(), &buf); err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return buf.Bytes()
}

// dumpDate matches the parts of a dump that change with the time it is taken.
var dumpDate = regexp.MustCompile(`(?m)^-- Dump completed.*$`)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	dsn := newDatabase(t, "rt_src")
	db := openDB(t, dsn)
	createFixture(t, db)
	want := snapshot(t, db)
	d := newDumper(t, mysql.Config{DSN: dsn})

	first := dump(t, d)
	if !bytes.Contains(first, []byte("CREATE TABLE `patients`")) || bytes.Contains(first, []byte("CREATE DATABASE")) {
		t.Fatalf("the dump lacks the table or creates a database:\n%.2000s", first)
	}

	// Change everything the dump holds, and add what it does not.
	exec(t, db,
		"DELETE FROM visits WHERE id = 12",
		"UPDATE patients SET name = 'changed', photo = NULL WHERE id = 1",
		"DROP VIEW patient_names",
		"DROP PROCEDURE add_patient",
		"CREATE TABLE extra_t (id INT PRIMARY KEY, v TEXT)",
		"INSERT INTO extra_t VALUES (1, 'not in the dump')",
		"CREATE TABLE extra_child (id INT PRIMARY KEY, t INT, FOREIGN KEY (t) REFERENCES extra_t (id))",
		"CREATE VIEW extra_v AS SELECT id FROM extra_t",
		"CREATE PROCEDURE extra_p() SELECT 1",
		"CREATE FUNCTION extra_f() RETURNS INT DETERMINISTIC RETURN 7",
		"CREATE EVENT extra_e ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 00:00:00' DO DELETE FROM extra_t",
		"CREATE SEQUENCE extra_s",
		"CREATE TRIGGER extra_tr BEFORE UPDATE ON patients FOR EACH ROW SET NEW.name = UPPER(NEW.name)",
	)
	if snapshot(t, db) == want {
		t.Fatal("the changes did not change the snapshot")
	}

	if err := d.Restore(ctx, bytes.NewReader(first)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := snapshot(t, db); got != want {
		t.Errorf("after Restore the database differs from the original:\n%s", diff(want, got))
	}
	for _, extra := range []string{"extra_t", "extra_child", "extra_v", "extra_p", "extra_f", "extra_e", "extra_s", "extra_tr"} {
		var n int
		err := db.QueryRow(`SELECT
			(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?) +
			(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME = ?) +
			(SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() AND EVENT_NAME = ?) +
			(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = ?)`,
			extra, extra, extra, extra).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s, which is not in the dump, is still there after Restore", extra)
		}
	}

	// The exact values survive.
	var name string
	var photo []byte
	if err := db.QueryRow("SELECT name, photo FROM patients WHERE id = 1").Scan(&name, &photo); err != nil {
		t.Fatal(err)
	}
	if name != "Zoë 😀 Ñandú 中文 \U0001F9D1\u200D\u2695\uFE0F" || !bytes.Equal(photo, allBytes()) {
		t.Errorf("patient 1 = %q, %x; want the emoji name and all 256 byte values", name, photo)
	}

	// A second dump is the first, but for its date.
	second := dump(t, d)
	if a, b := dumpDate.ReplaceAll(first, nil), dumpDate.ReplaceAll(second, nil); !bytes.Equal(a, b) {
		t.Errorf("the dump of the restored database differs from the original dump:\n%s", diff(string(a), string(b)))
	}

	// Triggers, routines and the view work.
	exec(t, db, "CALL add_patient('new one')")
	var audits, viewRows int
	var greeting string
	if err := db.QueryRow("SELECT COUNT(*) FROM audit WHERE what = 'insert'").Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM patient_names").Scan(&viewRows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT greet('Ana')").Scan(&greeting); err != nil {
		t.Fatal(err)
	}
	if audits != 4 || viewRows != 4 || greeting != "Hello, Ana 👋" {
		t.Errorf("audit rows, view rows, greeting = %d, %d, %q; want 4, 4, %q", audits, viewRows, greeting, "Hello, Ana 👋")
	}
}

// The dump names no database, so it restores into another one.
func TestRestoreIntoAnotherDatabase(t *testing.T) {
	ctx := context.Background()
	srcDSN := newDatabase(t, "other_src")
	src := openDB(t, srcDSN)
	createFixture(t, src)
	want := snapshot(t, src)
	dumped := dump(t, newDumper(t, mysql.Config{DSN: srcDSN}))

	// Objects keep their DEFINER, so the same user restores them.
	dst := dbName(t, newDatabase(t, "other_dst"))
	cfg, err := mysqldrv.ParseDSN(srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Exec(ctx, "GRANT ALL PRIVILEGES ON "+testutil.QuoteIdent(dst)+".* TO "+testutil.QuoteString(cfg.User)+"@'%'"); err != nil {
		t.Fatal(err)
	}
	dstDSN := withDSN(t, srcDSN, func(c *mysqldrv.Config) { c.DBName = dst })
	if err := newDumper(t, mysql.Config{DSN: dstDSN}).Restore(ctx, bytes.NewReader(dumped)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := snapshot(t, openDB(t, dstDSN)); got != want {
		t.Errorf("the other database differs from the original:\n%s", diff(want, got))
	}
	if got := snapshot(t, src); got != want {
		t.Errorf("restoring into another database changed the source:\n%s", diff(want, got))
	}
}

func TestUnixSocket(t *testing.T) {
	ctx := context.Background()
	dsn := newDatabase(t, "sock")
	exec(t, openDB(t, dsn), "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
	sockDSN := withDSN(t, dsn, func(c *mysqldrv.Config) { c.Net = "unix"; c.Addr = server.Socket() })
	d := newDumper(t, mysql.Config{DSN: sockDSN})
	if got, want := d.Info().Key, "mysql:"+server.Socket()+"/"+dbName(t, dsn); got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	dumped := dump(t, d)
	exec(t, openDB(t, dsn), "DELETE FROM t")
	if err := d.Restore(ctx, bytes.NewReader(dumped)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := rowsAsText(t, openDB(t, dsn), "SELECT id FROM t ORDER BY id"); got != "id=\"1\" \nid=\"2\" \n" {
		t.Errorf("rows after restore over the socket = %q", got)
	}
}

func TestInfo(t *testing.T) {
	d := newDumper(t, mysql.Config{DSN: "backup:s3cret-pass@tcp(db.example:3307)/hms"})
	want := backup.SourceInfo{Engine: "mysql", Database: "hms", Format: "sql", Key: "mysql:db.example:3307/hms"}
	if got := d.Info(); got != want {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
}

func TestNewRejects(t *testing.T) {
	for _, dsn := range []string{
		"",
		"user:pw@tcp(127.0.0.1:3306)/",
		"user:pw@tcp(127.0.0.1:3306",
		"user:pw@udp(127.0.0.1:3306)/hms",
		"user:pw\x00nul@tcp(127.0.0.1:3306)/hms",
		"user:pw@tcp(127.0.0.1:3306)/hms?tls=no-such-config",
		"user:p?/pw%zz@tcp(127.0.0.1:3306)hms", // the slash is in the password
	} {
		_, err := mysql.New(mysql.Config{DSN: dsn})
		if got := backup.ErrorCode(err); got != backup.EINVALID {
			t.Errorf("New(%q): code %q (%v), want %q", dsn, got, err, backup.EINVALID)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q): error %q shows the password", dsn, err)
		}
	}
}

// diff shows the first lines where want and got differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %.300s\n  got  %.300s\n", i+1, wl, gl)
			if shown++; shown == 5 {
				break
			}
		}
	}
	return b.String()
}

// BenchmarkDump measures the dump path (tool + pipe + copy) into a
// discarding writer, over about 50 MB of SQL.
func BenchmarkDump(b *testing.B) {
	dsn := newDatabase(b, "bench")
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(100), notes TEXT, photo BLOB, n DECIMAL(20,6))",
		`INSERT INTO t SELECT seq, CONCAT('patient ', seq), REPEAT(MD5(seq), 4), UNHEX(REPEAT(MD5(seq), 4)), seq * 1.5
			FROM seq_1_to_150000`,
	} {
		if _, err := db.Exec(s); err != nil {
			b.Fatal(err)
		}
	}
	d, err := mysql.New(mysql.Config{DSN: dsn, TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	var size countingWriter
	if err := d.Dump(context.Background(), &size); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		if err := d.Dump(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
