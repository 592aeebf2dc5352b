package testutil_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// server is the MariaDB shared by this package's tests.
var server *testutil.MariaDB

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithMariaDB(m, func(db *testutil.MariaDB) { server = db }))
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRootOverSocketAndTCP(t *testing.T) {
	ctx := context.Background()
	if got := len(server.Socket()); got >= 100 {
		t.Errorf("socket path is %d bytes, want < 100: %s", got, server.Socket())
	}
	var version string
	if err := open(t, server.RootDSN()).QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatalf("root over the socket: %v", err)
	}
	if !strings.Contains(version, "MariaDB") {
		t.Errorf("version = %q, want a MariaDB server", version)
	}

	host, _, err := net.SplitHostPort(server.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:port", server.Addr())
	}
	conn, err := net.DialTimeout("tcp", server.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", server.Addr(), err)
	}
	conn.Close()

	var scheduler, logBin string
	err = open(t, server.RootDSN()).QueryRowContext(ctx,
		"SELECT @@event_scheduler, @@log_bin").Scan(&scheduler, &logBin)
	if err != nil {
		t.Fatal(err)
	}
	if scheduler != "ON" || logBin != "0" {
		t.Errorf("event_scheduler, log_bin = %s, %s; want ON, 0", scheduler, logBin)
	}
}

func TestNewDatabase(t *testing.T) {
	ctx := context.Background()
	// Unique names: the tests may run more than once against one server.
	first := "newdb_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	second := first + "_other"
	dsn, err := server.NewDatabase(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("the DSN does not parse back: %v", err)
	}
	if cfg.Net != "tcp" || cfg.Addr != server.Addr() || cfg.DBName != first {
		t.Errorf("DSN net, addr, db = %s, %s, %s; want tcp, %s, %s", cfg.Net, cfg.Addr, cfg.DBName, server.Addr(), first)
	}
	for _, c := range []string{`'`, `"`, `\`, `#`, `$`, ` `, `;`} {
		if !strings.Contains(cfg.Passwd, c) {
			t.Errorf("password lacks %q", c)
		}
	}

	db := open(t, dsn)
	var name, charset, collation string
	err = db.QueryRowContext(ctx,
		"SELECT DATABASE(), @@character_set_database, @@collation_database").Scan(&name, &charset, &collation)
	if err != nil {
		t.Fatalf("connecting as the new user: %v", err)
	}
	if name != first || charset != "utf8mb4" || collation != "utf8mb4_unicode_ci" {
		t.Errorf("database, charset, collation = %s, %s, %s; want %s, utf8mb4, utf8mb4_unicode_ci", name, charset, collation, first)
	}
	for _, s := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY)",
		"CREATE VIEW v AS SELECT id FROM t",
		"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.id = NEW.id",
		"CREATE PROCEDURE p() SELECT 1",
		"CREATE EVENT e ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 00:00:00' DO DELETE FROM t",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Errorf("the new user cannot %s: %v", s, err)
		}
	}

	// The user sees nothing of another database.
	if _, err := server.NewDatabase(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+second+".x (id INT)"); err == nil {
		t.Error("the user of one database could create a table in another")
	}

	if _, err := server.NewDatabase(ctx, first); err == nil {
		t.Error("NewDatabase of an existing database succeeded")
	}
}

func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second server")
	}
	// t.TempDir() is long enough here to need the short socket directory.
	dir := t.TempDir() + "/a-rather-long-directory-name-to-push-the-socket-path-over-the-limit"
	ctx := context.Background()
	db, err := testutil.StartMariaDB(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Stop() })
	if db.Addr() == server.Addr() {
		t.Errorf("two servers on the same address %s", db.Addr())
	}
	if len(db.Socket()) >= 100 {
		t.Errorf("socket path is %d bytes, want < 100", len(db.Socket()))
	}
	root, err := sql.Open("mysql", db.RootDSN())
	if err != nil {
		t.Fatal(err)
	}
	err = root.PingContext(ctx)
	root.Close() // before Stop, or the driver logs a broken pipe on COM_QUIT
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	pidBytes, err := os.ReadFile(dir + "/mariadbd.pid")
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, c := range strings.TrimSpace(string(pidBytes)) {
		pid = pid*10 + int(c-'0')
	}

	if err := db.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := db.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("mariadbd pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(db.Socket()); !os.IsNotExist(err) {
		t.Errorf("socket %s still there after Stop: %v", db.Socket(), err)
	}
}

func TestStartMariaDBFailsWithoutHanging(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	db, err := testutil.StartMariaDB(ctx, t.TempDir())
	if err == nil {
		db.Stop()
		t.Fatal("StartMariaDB with a canceled context succeeded")
	}
}
