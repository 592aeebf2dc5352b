package engine_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/compress"
	dumpmysql "github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/lock"
	"github.com/hmsbackup/hmsbackup/internal/storage/local"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
	"pgregory.net/rapid"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// server is the package's MariaDB, started by TestMain.
var server *testutil.MariaDB

func TestMain(m *testing.M) {
	flag.Parse()
	// Each check creates, backs up and restores a real database; 25
	// generated cases per property unless -rapid.checks says otherwise.
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" {
		_ = flag.Set("rapid.checks", "25")
	}
	os.Exit(testutil.RunWithMariaDB(m, func(db *testutil.MariaDB) { server = db }))
}

var dbCounter atomic.Int64

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// mysqlFixture is an engine over a fresh MariaDB database.
type mysqlFixture struct {
	eng    *engine.Engine
	cat    backup.Catalog
	db     *sql.DB
	dir    string
	tables int // extra tables fillPatients has made
}

// newMySQLFixture makes an engine over a new database (and user) on the
// package's server, with its own directory for the catalog, backups and
// locks. t's clean-ups free it all: the database and its user are
// dropped, the directory removed. A rapid case passes its rapidCase, so
// that every case starts from nothing.
func newMySQLFixture(t fixtureT) *mysqlFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	name := fmt.Sprintf("hms_%d", dbCounter.Add(1))
	dsn, err := server.NewDatabase(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = server.Exec(ctx, "DROP DATABASE "+testutil.QuoteIdent(name), "DROP USER "+testutil.QuoteString(cfg.User)+"@'%'")
	})
	cfg.MultiStatements = true
	sqlDB, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	dumper, err := dumpmysql.New(dumpmysql.Config{DSN: dsn, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalogsqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	store, err := local.New(filepath.Join(dir, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	locker, err := lock.New(filepath.Join(dir, "locks"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &engine.Engine{Catalog: cat, Dumper: dumper, Storage: store, Locker: locker, Compression: backup.CompressionGzip}
	return &mysqlFixture{eng: eng, cat: cat, db: sqlDB, dir: dir}
}

func (f *mysqlFixture) exec(t tb, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := f.db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// backupNow takes a CLI backup and fails the test if it does not complete.
func (f *mysqlFixture) backupNow(t tb) *backup.Backup {
	t.Helper()
	b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decompressed returns a backup file's SQL.
func decompressed(t tb, b *backup.Backup) string {
	t.Helper()
	f, err := os.Open(b.FilePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := compress.NewReader(f, b.Compression)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompress %s: %v", b.Filename, err)
	}
	return string(data)
}

var dumpDate = regexp.MustCompile(`(?m)^-- Dump completed.*$`)

// content is a dump's text without what legitimately differs between two
// dumps of the same content (the completion date).
func content(dump string) string { return dumpDate.ReplaceAllString(dump, "-- Dump completed") }

// hmsSchema creates what every generated database has besides its tables:
// a view, a trigger, a procedure, a function and an event.
func hmsSchema(f *mysqlFixture, t tb) {
	f.exec(t,
		"CREATE TABLE audit_counter (n INT NOT NULL)",
		"INSERT INTO audit_counter VALUES (0)",
		"CREATE TABLE patients (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) CHARACTER SET utf8mb4, born DATETIME(6) NULL, balance DECIMAL(20,6) NULL, notes JSON NULL, photo LONGBLOB NULL)",
		"CREATE VIEW patient_names AS SELECT id, name FROM patients",
		"CREATE TRIGGER patients_ai AFTER INSERT ON patients FOR EACH ROW UPDATE audit_counter SET n = n + 1",
		"CREATE PROCEDURE count_patients(OUT c INT) BEGIN SELECT COUNT(*) INTO c FROM patients; END",
		"CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
		"CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DO DELETE FROM audit_counter WHERE n < 0",
		// A system-versioned table with history: four versions of one row.
		"CREATE TABLE admission_status (id INT PRIMARY KEY, status VARCHAR(20)) WITH SYSTEM VERSIONING",
		"INSERT INTO admission_status VALUES (1, 'admitted')",
		"UPDATE admission_status SET status = 'in surgery'",
		"UPDATE admission_status SET status = 'recovering'",
		"UPDATE admission_status SET status = 'discharged'",
	)
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	if _, err := f.db.Exec("INSERT INTO patients (name, photo) VALUES (?, ?)", "every byte", allBytes); err != nil {
		t.Fatal(err)
	}
}

// genText draws text with what breaks naive dumps: emoji, quotes,
// backslashes, newlines, NUL.
func genText() *rapid.Generator[string] {
	runes := rapid.SampledFrom([]rune("aZ09 '\"\\\n\r\t\x00;-#`éßжä中文🙂🏥💉𝄞"))
	return rapid.StringOfN(runes, 0, 60, -1)
}

// fillPatients inserts generated rows with NULLs, emoji, BLOBs, JSON,
// DATETIME(6) and DECIMAL values.
func fillPatients(t *rapid.T, f *mysqlFixture) {
	n := rapid.IntRange(0, 12).Draw(t, "rows")
	for i := 0; i < n; i++ {
		var name, born, balance, notes any
		var photo any
		if rapid.Bool().Draw(t, "hasName") {
			name = genText().Draw(t, "name")
		}
		if rapid.Bool().Draw(t, "hasBorn") {
			sec := rapid.Int64Range(0, 4102444800).Draw(t, "born")
			usec := rapid.Int64Range(0, 999999).Draw(t, "usec")
			born = time.Unix(sec, usec*1000).UTC().Format("2006-01-02 15:04:05.000000")
		}
		if rapid.Bool().Draw(t, "hasBalance") {
			balance = fmt.Sprintf("%d.%06d", rapid.Int64Range(-99999999999999, 99999999999999).Draw(t, "int"), rapid.IntRange(0, 999999).Draw(t, "frac"))
		}
		if rapid.Bool().Draw(t, "hasNotes") {
			doc := map[string]any{"allergy": genText().Draw(t, "allergy"), "score": rapid.IntRange(-1000, 1000).Draw(t, "score"), "flags": []bool{rapid.Bool().Draw(t, "flag")}}
			j, _ := json.Marshal(doc)
			notes = string(j)
		}
		if rapid.Bool().Draw(t, "hasPhoto") {
			photo = rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "photo")
		}
		if _, err := f.db.Exec("INSERT INTO patients (name, born, balance, notes, photo) VALUES (?, ?, ?, ?, ?)", name, born, balance, notes, photo); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	// Extra generated tables of other shapes.
	for k := 0; k < rapid.IntRange(0, 2).Draw(t, "tables"); k++ {
		f.tables++
		table := fmt.Sprintf("extra_%d", f.tables)
		f.exec(t, "CREATE TABLE "+table+" (k BIGINT PRIMARY KEY, v TEXT CHARACTER SET utf8mb4 NULL, b VARBINARY(64) NULL)")
		for r := 0; r < rapid.IntRange(0, 5).Draw(t, "extraRows"); r++ {
			if _, err := f.db.Exec("INSERT INTO "+table+" VALUES (?, ?, ?)", r, genText().Draw(t, "v"), rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "b")); err != nil {
				t.Fatalf("insert extra: %v", err)
			}
		}
	}
}

var sources = []backup.Source{backup.SourceManualUI, backup.SourceManualCLI, backup.SourceScheduled}

// Property 1 (backup creation produces a valid file) and Property 2
// (metadata completeness), for any source, on a real MariaDB.
func TestProperty1And2BackupFileAndMetadata(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		f := newMySQLFixture(t)
		hmsSchema(f, t)
		fillPatients(rt, f)
		src := rapid.SampledFrom(sources).Draw(rt, "source")
		before := time.Now().UTC().Add(-time.Second)
		b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: src, Actor: alice})
		if err != nil {
			rt.Fatalf("CreateBackup(%s): %v", src, err)
		}
		// Property 1: a valid, non-empty SQL dump in local storage.
		fi, err := os.Stat(b.FilePath)
		if err != nil || fi.Size() == 0 {
			rt.Fatalf("file %s: %v, size %v", b.FilePath, err, fi)
		}
		sqlText := decompressed(t, b)
		if !strings.Contains(sqlText, "CREATE TABLE `patients`") || !strings.Contains(sqlText, "-- Dump completed") {
			rt.Fatalf("dump lacks the schema or the completion trailer")
		}
		// Property 2: complete, correct metadata.
		got, err := f.cat.FindBackupByID(context.Background(), b.ID)
		if err != nil {
			rt.Fatal(err)
		}
		switch {
		case got.Status != backup.StatusCompleted:
			rt.Fatalf("status %s", got.Status)
		case got.Source != src:
			rt.Fatalf("source %s, want %s", got.Source, src)
		case got.CreatedAt.Before(before) || got.CompletedAt == nil || got.CompletedAt.Before(got.CreatedAt):
			rt.Fatalf("timestamps created %v completed %v", got.CreatedAt, got.CompletedAt)
		case got.FileSize != fi.Size() || got.FileSize <= 0:
			rt.Fatalf("file_size %d, file has %d", got.FileSize, fi.Size())
		case got.RawSize != int64(len(sqlText)):
			rt.Fatalf("raw_size %d, dump has %d", got.RawSize, len(sqlText))
		case got.FilePath != b.FilePath || !strings.HasPrefix(got.Filename, "hms_backup_") || !strings.HasSuffix(got.Filename, ".sql.gz"):
			rt.Fatalf("path %s name %s", got.FilePath, got.Filename)
		case got.SHA256 != sha256Hex(mustRead(t, got.FilePath)):
			rt.Fatalf("sha256 %s does not match the file", got.SHA256)
		case got.CreatedBy != alice.Name || got.DBEngine != "mysql" || !got.IsLocal:
			rt.Fatalf("created_by %q engine %q is_local %v", got.CreatedBy, got.DBEngine, got.IsLocal)
		}
	})
}

func mustRead(t tb, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Property 8: download returns exactly the stored bytes.
func TestProperty8DownloadReturnsExactBytes(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		f := newMySQLFixture(t)
		hmsSchema(f, t)
		fillPatients(rt, f)
		b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualUI, Actor: alice})
		if err != nil {
			rt.Fatal(err)
		}
		r, _, err := f.eng.Download(context.Background(), b.ID, alice)
		if err != nil {
			rt.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			rt.Fatal(err)
		}
		if want := mustRead(t, b.FilePath); !bytes.Equal(got, want) || sha256Hex(got) != b.SHA256 {
			rt.Fatalf("downloaded %d bytes (sha %s), stored %d (sha %s)", len(got), sha256Hex(got), len(want), b.SHA256)
		}
	})
}

// Property 10 (a pre-restore backup with source pre_restore holds the state
// before the restore) and Property 11 (round trip: restoring a backup and
// backing up again gives equivalent content; objects absent from the
// backup are gone).
func TestProperty10And11PreRestoreBackupAndRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		f := newMySQLFixture(t)
		hmsSchema(f, t)
		fillPatients(rt, f)
		ctx := context.Background()
		original := f.backupNow(t)
		// Change everything: rows, schema, and objects the backup lacks.
		f.exec(t,
			"DELETE FROM patients WHERE id % 2 = 0",
			"UPDATE admission_status SET status = 'readmitted'",
			"UPDATE patients SET name = 'changed'",
			"DROP VIEW patient_names",
			"DROP PROCEDURE count_patients",
			"CREATE TABLE only_after (x INT)",
			"CREATE VIEW only_after_v AS SELECT 1 AS one",
			"CREATE PROCEDURE only_after_p() SELECT 1",
			"CREATE EVENT only_after_e ON SCHEDULE EVERY 1 HOUR DO SELECT 1",
		)
		changed := f.backupNow(t)

		res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: original.ID, Actor: alice})
		if err != nil {
			rt.Fatalf("Restore: %v", err)
		}
		// Property 10.
		pre := res.PreRestore
		if pre == nil || pre.Source != backup.SourcePreRestore || pre.Status != backup.StatusCompleted {
			rt.Fatalf("pre-restore backup %+v, want a completed pre_restore backup", pre)
		}
		if got, want := content(decompressed(t, pre)), content(decompressed(t, changed)); got != want {
			rt.Fatalf("pre-restore backup does not hold the state before the restore")
		}
		// Property 11.
		after := f.backupNow(t)
		if got, want := content(decompressed(t, after)), content(decompressed(t, original)); got != want {
			rt.Fatalf("after restore the database differs from the backup:\n%s", firstDiff(got, want))
		}
		var leftovers int
		if err := f.db.QueryRow(`SELECT (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'only_after%')
			+ (SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = DATABASE() AND routine_name LIKE 'only_after%')
			+ (SELECT COUNT(*) FROM information_schema.events WHERE event_schema = DATABASE() AND event_name LIKE 'only_after%')`).Scan(&leftovers); err != nil {
			rt.Fatal(err)
		}
		if leftovers != 0 {
			rt.Fatalf("%d objects absent from the backup survived the restore", leftovers)
		}
		// The system-versioned table's history came back whole.
		var versions int
		if err := f.db.QueryRow("SELECT COUNT(*) FROM admission_status FOR SYSTEM_TIME ALL").Scan(&versions); err != nil || versions != 4 {
			rt.Fatalf("admission_status has %d versions after the restore (%v), want 4", versions, err)
		}
	})
}

// Property 12: a restore that fails midway (the file's checksum matches
// the catalog, but its SQL breaks half way) leaves the database equal to
// its state before the restore.
func TestProperty12FailedRestoreLeavesDatabaseAsBefore(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		f := newMySQLFixture(t)
		hmsSchema(f, t)
		fillPatients(rt, f)
		ctx := context.Background()
		good := f.backupNow(t)
		// A catalogued backup whose SQL fails after dropping and partly
		// re-creating the tables.
		sqlText := decompressed(t, good)
		cut := rapid.IntRange(len(sqlText)/4, len(sqlText)*3/4).Draw(rt, "cut")
		if i := strings.LastIndex(sqlText[:cut], ";\n"); i > 0 {
			cut = i + 2
		}
		broken := sqlText[:cut] + "\nTHIS IS NOT SQL;\n" + sqlText[cut:]
		bad := storeBackup(t, f, broken)

		fillPatients(rt, f) // the state before the restore differs from the backup
		before := f.backupNow(t)
		res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: bad.ID, Actor: alice})
		if err == nil {
			rt.Fatal("restore of broken SQL succeeded")
		}
		if !res.RolledBack || !strings.Contains(err.Error(), "put back as it was") {
			rt.Fatalf("RolledBack %v, err %v", res.RolledBack, err)
		}
		after := f.backupNow(t)
		if got, want := content(decompressed(t, after)), content(decompressed(t, before)); got != want {
			rt.Fatalf("after the failed restore the database differs from before:\n%s", firstDiff(got, want))
		}
		entries, _, _ := f.cat.FindAuditEntries(ctx, backup.AuditFilter{BackupID: &bad.ID})
		if len(entries) == 0 || entries[0].Action != backup.ActionRestore || entries[0].Outcome != "failure" {
			rt.Fatalf("audit for the failed restore: %+v", entries)
		}
	})
}

// storeBackup compresses sqlText into a completed, catalogued backup with
// a correct checksum.
func storeBackup(t tb, f *mysqlFixture, sqlText string) *backup.Backup {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	zw, err := compress.NewWriter(&buf, backup.CompressionGzip, compress.LevelDefault)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(zw, sqlText)
	zw.Close()
	name := fmt.Sprintf("hms_backup_20000101_000000_%d.sql.gz", time.Now().UnixNano())
	store := f.eng.Storage
	if _, err := store.Put(ctx, name, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	b := &backup.Backup{Filename: name, FilePath: store.Path(name), FileSize: int64(buf.Len()), Status: backup.StatusCompleted,
		Source: backup.SourceManualCLI, CompletedAt: &now, SHA256: sha256Hex(buf.Bytes()), Compression: backup.CompressionGzip,
		DBEngine: "mysql", DBName: f.eng.Dumper.Info().Database, IsLocal: true}
	if err := f.cat.CreateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got: %.300s\nwant: %.300s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

func TestUnreachableServerAndWrongPasswordFailClearly(t *testing.T) {
	ctx := context.Background()
	f := newMySQLFixture(t)
	cases := map[string]string{
		"unreachable":    "hms:secret-pw@tcp(127.0.0.1:1)/hms",
		"wrong password": strings.Replace(mustDSN(t), ":", ":wrong-secret-pw", 1),
	}
	for name, dsn := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := dumpmysql.New(dumpmysql.Config{DSN: dsn, TempDir: f.dir})
			if err != nil {
				t.Fatal(err)
			}
			eng := *f.eng
			eng.Dumper = d
			b, err := eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
			if backup.ErrorCode(err) != backup.EUNAVAILABLE {
				t.Fatalf("got %v (code %s), want EUNAVAILABLE", err, backup.ErrorCode(err))
			}
			if strings.Contains(err.Error(), "secret-pw") || strings.Contains(b.ErrorMessage, "secret-pw") {
				t.Fatalf("the password leaked into the error: %v", err)
			}
			if b.Status != backup.StatusFailed {
				t.Fatalf("status %s", b.Status)
			}
		})
	}
}

func mustDSN(t testing.TB) string {
	dsn, err := server.NewDatabase(context.Background(), fmt.Sprintf("hms_%d", dbCounter.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// TestReplayFailureOnADataConnectionRollsBack (issue 10): a restore whose
// dump breaks in the middle of a table's data, in an INSERT that one of
// the replayer's data connections runs while the others load the rest,
// stops, names the table and the dump line, and the rollback puts back
// exactly the previous state.
func TestReplayFailureOnADataConnectionRollsBack(t *testing.T) {
	f := newMySQLFixture(t)
	hmsSchema(f, t)
	ctx := context.Background()
	// About 4 MB of rows: mariadb-dump writes them as several INSERTs of
	// at most 1 MB, which the replayer spreads over its connections.
	f.exec(t, "CREATE TABLE big (id INT PRIMARY KEY, pad TEXT CHARACTER SET utf8mb4)",
		"INSERT INTO big SELECT seq, CONCAT(seq, ';', REPEAT('x''\\\\', 330)) FROM seq_1_to_4000",
		"CREATE TABLE after_big (id INT PRIMARY KEY)", "INSERT INTO after_big VALUES (1)")
	good := f.backupNow(t)
	sqlText := decompressed(t, good)
	first := strings.Index(sqlText, "INSERT INTO `big` VALUES")
	second := strings.Index(sqlText[first+1:], "INSERT INTO `big` VALUES")
	if first < 0 || second < 0 {
		t.Fatalf("the dump does not load big in several INSERTs")
	}
	cut := first + 1 + second
	line := strings.Count(sqlText[:cut], "\n") + 1
	broken := sqlText[:cut] + "INSERT INTO `big` VALUES (1,'a duplicate key');\n" + sqlText[cut:]
	bad := storeBackup(t, f, broken)

	f.exec(t, "DELETE FROM big WHERE id > 10", "INSERT INTO patients (name) VALUES ('only before the restore')")
	before := f.backupNow(t)
	res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: bad.ID, Actor: alice})
	if err == nil {
		t.Fatal("restore of a dump with a duplicate key succeeded")
	}
	for _, want := range []string{"Error 1062", "`big`", fmt.Sprintf("line %d of the dump", line), "put back as it was"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !res.RolledBack {
		t.Fatalf("not rolled back: %+v", res)
	}
	after := f.backupNow(t)
	if got, want := content(decompressed(t, after)), content(decompressed(t, before)); got != want {
		t.Fatalf("after the failed restore the database differs from before:\n%s", firstDiff(got, want))
	}
}

// TestReplayFallsBackToTheClient (issue 10): a dump the replayer's
// splitter cannot prove it understands (here a USE, which the client
// handles itself), met after the replay began, is restored again from its
// start by the client, the log says why, and the result is the dump's
// content.
func TestReplayFallsBackToTheClient(t *testing.T) {
	f := newMySQLFixture(t)
	hmsSchema(f, t)
	var logs bytes.Buffer
	f.eng.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	good := f.backupNow(t)
	sqlText := decompressed(t, good)
	cut := strings.Index(sqlText, "-- Table structure for table `patients`")
	if cut < 0 {
		t.Fatal("no patients table in the dump")
	}
	db := f.eng.Dumper.Info().Database
	// Past the first 16 KiB, which Restore looks at before it chooses:
	// the replayer meets the USE only after it began.
	odd := sqlText[:cut] + strings.Repeat("-- padding\n", 2000) + "USE " + testutil.QuoteIdent(db) + ";\n" + sqlText[cut:]
	oddBackup := storeBackup(t, f, odd)

	f.exec(t, "DELETE FROM patients", "DROP VIEW patient_names")
	if _, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: oddBackup.ID, Actor: alice}); err != nil {
		t.Fatalf("restore with the fallback: %v", err)
	}
	if !strings.Contains(logs.String(), "fallback method") || !strings.Contains(logs.String(), "USE") {
		t.Errorf("the log does not say why the client took over:\n%s", logs.String())
	}
	after := f.backupNow(t)
	if got, want := content(decompressed(t, after)), content(sqlText); got != want {
		t.Fatalf("after the fallback restore the database differs from the dump:\n%s", firstDiff(got, want))
	}
}
