// Package testutil starts real servers for tests: an ephemeral MariaDB in a
// temporary directory, on a free port, owned by the test process.
package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// InstallHint says how to get the MariaDB binaries the helpers need.
const InstallHint = "apt-get install mariadb-server mariadb-client"

// startTimeout bounds how long StartMariaDB waits for the server to accept
// connections.
const startTimeout = 60 * time.Second

// maxSocketPath keeps the unix socket path below the kernel's sun_path limit
// (108 bytes on Linux) with room to spare.
const maxSocketPath = 100

// MariaDB is a running, throw-away mariadbd: its data directory, socket and
// logs live in the directory given to StartMariaDB, it listens on
// 127.0.0.1 only, root has no password, and it runs with durability turned
// off. It must never hold data anyone wants to keep.
type MariaDB struct {
	dir       string // data, logs, pid file
	socketDir string // a short directory made for the socket, or ""
	socket    string
	addr      string // 127.0.0.1:port
	errorLog  string

	cmd    *exec.Cmd
	exited chan struct{} // closed once the server process has been reaped
	root   *sql.DB       // root over the unix socket

	stopOnce sync.Once
	stopErr  error
}

// StartMariaDB initialises a fresh data directory under dir/data, starts
// mariadbd on it and returns once the server accepts connections (at most
// about a minute). If a binary is missing, the error says what to install;
// if the server does not come up, the error holds the tail of its error log.
// The caller must Stop the server; dir is left for the caller to remove.
func StartMariaDB(ctx context.Context, dir string) (*MariaDB, error) {
	server, err := findBinary("mariadbd", "mysqld")
	if err != nil {
		return nil, err
	}
	installDB, err := findBinary("mariadb-install-db", "mysql_install_db")
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("testutil: mariadb directory: %w", err)
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("testutil: mariadb directory: %w", err)
	}

	if err := installDataDir(ctx, installDB, dir, dataDir); err != nil {
		return nil, err
	}

	db := &MariaDB{dir: dir, errorLog: filepath.Join(dir, "error.log")}
	db.socket = filepath.Join(dir, "mysqld.sock")
	if len(db.socket) >= maxSocketPath {
		// t.TempDir() paths get long; the kernel does not accept long socket paths.
		sd, err := os.MkdirTemp(shortTempRoot(), "mdb")
		if err != nil {
			return nil, fmt.Errorf("testutil: directory for the mariadb socket: %w", err)
		}
		db.socketDir = sd
		db.socket = filepath.Join(sd, "s.sock")
	}

	// The free port is found by binding :0 and closing it, so another process
	// may take it before mariadbd binds it; try a few times.
	for attempt := 1; ; attempt++ {
		err = db.start(ctx, server, dataDir)
		if err == nil {
			return db, nil
		}
		if attempt == 3 || !strings.Contains(db.logTail(), "Address already in use") {
			db.removeSocketDir()
			return nil, err
		}
	}
}

// installDataDir creates the system tables in dataDir.
func installDataDir(ctx context.Context, installDB, dir, dataDir string) error {
	args := []string{
		"--no-defaults",
		"--auth-root-authentication-method=normal",
		"--datadir=" + dataDir,
		"--skip-test-db",
		"--skip-name-resolve",
		"--innodb-log-file-size=16M", // the same as the server's, so it need not resize
		"--innodb-buffer-pool-size=64M",
		"--innodb-use-native-aio=0",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	cmd := exec.CommandContext(ctx, installDB, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testutil: %s failed: %w\n%s", installDB, err, tail(out, 4096))
	}
	return nil
}

// start runs mariadbd on a fresh free port and waits until it answers.
func (db *MariaDB) start(ctx context.Context, server, dataDir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	db.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	_ = os.Remove(db.errorLog) // so logTail shows this attempt only

	args := []string{
		"--no-defaults",
		"--datadir=" + dataDir,
		"--socket=" + db.socket,
		"--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--pid-file=" + filepath.Join(db.dir, "mariadbd.pid"),
		"--log-error=" + db.errorLog,
		"--tmpdir=" + db.dir,
		"--skip-name-resolve",
		"--skip-log-bin",
		"--event-scheduler=ON",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_unicode_ci",
		"--max-allowed-packet=64M",
		"--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=16M",
		"--innodb-log-buffer-size=8M",
		"--innodb-flush-log-at-trx-commit=2",
		"--innodb-doublewrite=0",
		"--innodb-use-native-aio=0", // io_uring/libaio are often unavailable in containers
		"--sync-binlog=0",
		"--key-buffer-size=8M",
		"--aria-pagecache-buffer-size=8M",
		"--table-open-cache=400",
		"--performance-schema=OFF",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	// Not CommandContext: ctx bounds the start, not the server's life.
	cmd := exec.Command(server, args...)
	cmd.Dir = db.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// If the test binary dies without calling Stop (a panic, a timeout),
		// the server must not outlive it.
		Pdeathsig: syscall.SIGKILL,
	}
	// Pdeathsig fires when the OS thread that forked the server exits; the Go
	// runtime keeps its threads alive (unless a goroutine exits while locked
	// to one, which this package never does).
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testutil: starting %s: %w", server, err)
	}
	db.cmd = cmd
	db.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(db.exited)
	}()

	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = db.socket
	cfg.Timeout = 2 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		db.kill()
		return fmt.Errorf("testutil: root connector: %w", err)
	}
	root := sql.OpenDB(connector)

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-db.exited:
			_ = root.Close()
			return fmt.Errorf("testutil: mariadbd exited during start-up (%v); error log %s:\n%s",
				cmd.ProcessState, db.errorLog, db.logTail())
		case <-ctx.Done():
			_ = root.Close()
			db.kill()
			return fmt.Errorf("testutil: mariadbd did not accept connections on %s within %v (last error: %v); error log %s:\n%s",
				db.socket, startTimeout, lastErr, db.errorLog, db.logTail())
		case <-tick.C:
		}
		if _, err := os.Stat(db.socket); err != nil {
			lastErr = err
			continue
		}
		pingCtx, pingCancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr = root.PingContext(pingCtx)
		pingCancel()
		if lastErr == nil {
			db.root = root
			return nil
		}
	}
}

// Stop kills the server's process group and waits for it to exit. The data
// directory is left in place. Stop may be called more than once.
func (db *MariaDB) Stop() error {
	db.stopOnce.Do(func() {
		if db.root != nil {
			_ = db.root.Close()
		}
		db.kill()
		db.removeSocketDir()
	})
	return db.stopErr
}

// kill SIGKILLs the process group and waits until the server is reaped.
func (db *MariaDB) kill() {
	if db.cmd == nil || db.cmd.Process == nil {
		return
	}
	select {
	case <-db.exited:
		return
	default:
	}
	if err := syscall.Kill(-db.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		db.stopErr = fmt.Errorf("testutil: killing mariadbd (pid %d): %w", db.cmd.Process.Pid, err)
	}
	select {
	case <-db.exited:
	case <-time.After(30 * time.Second):
		db.stopErr = fmt.Errorf("testutil: mariadbd (pid %d) did not exit after SIGKILL", db.cmd.Process.Pid)
	}
}

func (db *MariaDB) removeSocketDir() {
	if db.socketDir != "" {
		_ = os.RemoveAll(db.socketDir)
	}
}

// Socket is the path of the server's unix socket.
func (db *MariaDB) Socket() string { return db.socket }

// Addr is the server's TCP address, "127.0.0.1:port".
func (db *MariaDB) Addr() string { return db.addr }

// RootDSN is a go-sql-driver DSN for root (no password) over the unix
// socket, with no default database.
func (db *MariaDB) RootDSN() string {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = db.socket
	return cfg.FormatDSN()
}

// awkwardPassword holds the characters that break naive quoting in SQL,
// shell, MySQL option files and DSNs. NewDatabase appends random hex to it.
const awkwardPassword = `p'a"s\s #w$o;r%d@:/?&=é` + "`"

// NewDatabase creates database name (utf8mb4, utf8mb4_unicode_ci) and a user
// allowed to do everything in it (ALL PRIVILEGES on name.*, which includes
// EVENT, TRIGGER, CREATE/ALTER ROUTINE, SHOW VIEW, LOCK TABLES) and nothing
// outside it. The user's password contains quotes, a backslash, '#', '$',
// a space, ';' and other awkward characters. It returns a go-sql-driver DSN
// for that user over TCP with name as the default database. Returns an
// error if the database already exists.
func (db *MariaDB) NewDatabase(ctx context.Context, name string) (dsn string, err error) {
	if name == "" || strings.ContainsRune(name, 0) || len(name) > 64 {
		return "", fmt.Errorf("testutil: invalid database name %q", name)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("testutil: random password: %w", err)
	}
	user := "u_" + hex.EncodeToString(suffix)
	password := awkwardPassword + hex.EncodeToString(suffix)

	stmts := []string{
		"CREATE DATABASE " + QuoteIdent(name) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		"CREATE USER " + QuoteString(user) + "@'%' IDENTIFIED BY " + QuoteString(password),
		"GRANT ALL PRIVILEGES ON " + QuoteIdent(name) + ".* TO " + QuoteString(user) + "@'%'",
	}
	for _, s := range stmts {
		if _, err := db.root.ExecContext(ctx, s); err != nil {
			// Never echo the statement: it holds the password.
			return "", fmt.Errorf("testutil: creating database %q and its user: %w", name, err)
		}
	}

	cfg := mysql.NewConfig()
	cfg.User = user
	cfg.Passwd = password
	cfg.Net = "tcp"
	cfg.Addr = db.addr
	cfg.DBName = name
	return cfg.FormatDSN(), nil
}

// Exec runs statements as root, in order, stopping at the first error,
// which quotes the failing statement (so keep secrets out of statements
// whose failure could end up in a log).
func (db *MariaDB) Exec(ctx context.Context, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.root.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("testutil: %s: %w", s, err)
		}
	}
	return nil
}

// RunWithMariaDB is for TestMain: it starts one server in a fresh temporary
// directory, hands it to fn (which typically stores it for the package's
// tests), runs the tests, stops the server and removes the directory. It
// returns the exit code for os.Exit. If the server cannot start, it prints
// why and returns 1: tests that need MariaDB fail, they are never skipped.
func RunWithMariaDB(m *testing.M, fn func(*MariaDB)) int {
	dir, err := os.MkdirTemp("", "hmsbackup-mariadb-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testutil: temporary directory for mariadb: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	db, err := StartMariaDB(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cannot start the MariaDB server the tests need: %v\n", err)
		return 1
	}
	code := func() int {
		defer db.Stop() // also when fn panics
		fn(db)
		return m.Run()
	}()
	if err := db.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testutil: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// QuoteIdent quotes a MySQL identifier with backticks.
func QuoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// QuoteString quotes s as a MySQL string literal for a server with the
// default sql_mode (backslash escapes on).
func QuoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

// logTail returns the end of the server's error log.
func (db *MariaDB) logTail() string {
	b, err := os.ReadFile(db.errorLog)
	if err != nil {
		return fmt.Sprintf("(cannot read the error log: %v)", err)
	}
	return tail(b, 4096)
}

// findBinary looks for the first of names in PATH and then in the sbin
// directories, which are often not in a non-root PATH.
func findBinary(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	for _, n := range names {
		for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/bin", "/usr/bin"} {
			p := filepath.Join(d, n)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("testutil: %s not found in PATH or /usr/sbin: install it with %q", names[0], InstallHint)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testutil: finding a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("testutil: finding a free port: %w", err)
	}
	return port, nil
}

// shortTempRoot is a temp root short enough for a socket path.
func shortTempRoot() string {
	if t := os.TempDir(); len(t) < maxSocketPath-20 {
		return t
	}
	return "/tmp"
}

// tail returns the last n bytes of b, starting at a line boundary when
// possible.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
	}
	return strings.TrimSpace(string(b))
}
