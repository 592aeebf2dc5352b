package mysql_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	mysqldrv "github.com/go-sql-driver/mysql"
	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/dump/mysql"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// recordingTool writes a script that records its argv, environment, and the
// --defaults-file it got (name, what it really is, mode, whether it holds a
// password line), then runs the real tool.
func recordingTool(t *testing.T, real, out string) string {
	t.Helper()
	path, err := osexec.LookPath(real)
	if err != nil {
		t.Fatalf("%s: %v (%s)", real, err, testutil.InstallHint)
	}
	return script(t, fmt.Sprintf(`out=%q
printf '%%s\n' "$@" > "$out/argv"
env > "$out/env"
f="${1#--defaults-file=}"
echo "$f" > "$out/file"
readlink -f "$f" > "$out/target"
stat -L -c '%%a' "$f" > "$out/mode"
grep -c '^password=' "$f" > "$out/haspw"
exec %q "$@"
`, out, path))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCredentialsOnlyInTheDefaultsFile runs both tools through recording
// scripts: the password is in neither argv nor the environment (which holds
// no HMSBACKUP_ variable, though ours has the DSN and other secrets), the
// defaults file comes first and is an in-memory file (memfd) of mode 0600
// inherited as /proc/self/fd/3, and nothing is left on disk.
func TestCredentialsOnlyInTheDefaultsFile(t *testing.T) {
	dsn := newDatabase(t, "creds")
	exec(t, openDB(t, dsn), "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	pw := password(t, dsn)
	t.Setenv("MYSQL_PWD", "env-password-must-not-be-used")
	t.Setenv("HMSBACKUP_DB_DSN", dsn)
	t.Setenv("HMSBACKUP_S3_SECRET_KEY", "s3-secret-must-not-pass")
	t.Setenv("LC_TIME", "C.UTF-8")

	dumpOut, clientOut, tempDir := t.TempDir(), t.TempDir(), t.TempDir()
	d := newDumper(t, mysql.Config{
		DSN:           dsn,
		TempDir:       tempDir,
		DumpCommand:   recordingTool(t, "mariadb-dump", dumpOut),
		ClientCommand: recordingTool(t, "mariadb", clientOut),
		RestoreMethod: mysql.MethodClient, // the replayer runs no tool
	})
	var buf bytes.Buffer
	if err := d.Dump(context.Background(), &buf); err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if err := d.Restore(context.Background(), &buf); err != nil {
		t.Fatalf("Restore: %v", err)
	}

	for tool, out := range map[string]string{"dump": dumpOut, "client": clientOut} {
		argv := readFile(t, filepath.Join(out, "argv"))
		for _, arg := range strings.Split(argv, "\n") {
			if strings.Contains(arg, pw) || strings.HasPrefix(arg, "--password") || strings.HasPrefix(arg, "-p") {
				t.Errorf("%s argv holds credentials: %q", tool, arg)
			}
		}
		if !strings.HasPrefix(argv, "--defaults-file=") {
			t.Errorf("%s argv does not start with --defaults-file:\n%s", tool, argv)
		}
		if !strings.Contains(argv, "\n--\n"+dbName(t, dsn)+"\n") || strings.Contains(argv, "--databases") {
			t.Errorf("%s argv does not name the database alone:\n%s", tool, argv)
		}
		env := readFile(t, filepath.Join(out, "env"))
		if strings.Contains(env, pw) || strings.Contains(env, "MYSQL_PWD") || strings.Contains(env, "HMSBACKUP_") || strings.Contains(env, "s3-secret") {
			t.Errorf("%s environment holds a password, a secret or an HMSBACKUP_ variable:\n%s", tool, env)
		}
		if !strings.Contains(env, "PATH=") || !strings.Contains(env, "LC_TIME=C.UTF-8") {
			t.Errorf("%s environment lacks PATH or the locale:\n%s", tool, env)
		}
		if mode := strings.TrimSpace(readFile(t, filepath.Join(out, "mode"))); mode != "600" {
			t.Errorf("%s defaults file mode = %s, want 600", tool, mode)
		}
		if file := strings.TrimSpace(readFile(t, filepath.Join(out, "file"))); file != "/proc/self/fd/3" {
			t.Errorf("%s defaults file is %s, want the inherited /proc/self/fd/3", tool, file)
		}
		if target := strings.TrimSpace(readFile(t, filepath.Join(out, "target"))); !strings.HasPrefix(target, "/memfd:") {
			t.Errorf("%s defaults file is %s, want an in-memory file (memfd)", tool, target)
		}
		if n := strings.TrimSpace(readFile(t, filepath.Join(out, "haspw"))); n != "1" {
			t.Errorf("%s defaults file has %s password lines, want 1", tool, n)
		}
	}
	if entries, _ := os.ReadDir(tempDir); len(entries) != 0 {
		t.Errorf("TempDir holds %d files after the runs, want none", len(entries))
	}
	for _, s := range []string{"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", "--quick", "--no-tablespaces", "--skip-lock-tables", "--default-character-set=utf8mb4"} {
		if argv := readFile(t, filepath.Join(dumpOut, "argv")); !strings.Contains(argv, s+"\n") {
			t.Errorf("dump argv lacks %s", s)
		}
	}
	for _, s := range []string{"--binary-mode", "--default-character-set=utf8mb4"} {
		if argv := readFile(t, filepath.Join(clientOut, "argv")); !strings.Contains(argv, s+"\n") || strings.Contains(argv, "--force") {
			t.Errorf("client argv lacks %s or has --force", s)
		}
	}
}

// TestAnyPasswordReachesTheTools checks the option-file quoting: for any
// password, the dump tool logs in with it.
func TestAnyPasswordReachesTheTools(t *testing.T) {
	ctx := context.Background()
	dsn := newDatabase(t, "anypw")
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	user := testutil.QuoteString(cfg.User) + "@'%'"
	awkward := rapid.SampledFrom([]rune("'\"\\#;$ `\t\n\r\b=[]!%@:/?&()*~-+{}<>|^"))
	other := rapid.RuneFrom(nil, unicode.Latin, unicode.Greek, unicode.Han, unicode.So, unicode.Zs)
	printable := rapid.RuneFrom(nil, &unicode.RangeTable{R16: []unicode.Range16{{Lo: 0x20, Hi: 0x7e, Stride: 1}}})
	passwords := rapid.StringOfN(rapid.OneOf(awkward, other, printable), 0, 40, -1)

	rapid.Check(t, func(t *rapid.T) {
		pw := passwords.Draw(t, "password")
		if err := server.Exec(ctx, "ALTER USER "+user+" IDENTIFIED BY "+testutil.QuoteString(pw)); err != nil {
			t.Fatalf("ALTER USER: %v", err)
		}
		cfg.Passwd = pw
		d, err := mysql.New(mysql.Config{DSN: cfg.FormatDSN()})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := d.Dump(ctx, io.Discard); err != nil {
			t.Fatalf("Dump with password %q: %v", pw, err)
		}
	})
}

func TestStringHidesThePassword(t *testing.T) {
	const pw = "sup3r-s3cret"
	cfg := mysql.Config{DSN: "backup:" + pw + "@tcp(127.0.0.1:3306)/hms", TempDir: "/tmp"}
	d := newDumper(t, cfg)
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		for name, v := range map[string]any{"Config": cfg, "*Config": &cfg, "Dumper": d} {
			if got := fmt.Sprintf(f, v); strings.Contains(got, pw) {
				t.Errorf("Sprintf(%q, %s) = %q shows the password", f, name, got)
			}
		}
	}
	if got := cfg.String(); !strings.Contains(got, "backup:xxxxx@tcp(127.0.0.1:3306)/hms") {
		t.Errorf("Config.String() = %q, want the DSN with the password hidden", got)
	}
}
