package mysql

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/tempfile"
)

// credentialsFD is the descriptor the tools read their option file from
// when it is an in-memory file: the first of exec.Cmd.ExtraFiles.
const credentialsFD = 3

// credentials hands the tools the connection settings (user, password,
// host) as an option file that nothing else can read: on Linux a sealed
// in-memory file (memfd) inherited as descriptor 3 and named
// /proc/self/fd/3, which leaves nothing on disk even if hmsbackup is killed;
// elsewhere a 0600 file in the temp directory, removed afterwards (and by
// tempfile.RemoveStale after a crash).
type credentials struct {
	path   string   // for --defaults-file
	memfd  *os.File // the in-memory file, or nil
	remove func()
}

// openCredentials makes the option file for one run; Close it after the
// tools exited.
func (d *Dumper) openCredentials() (*credentials, error) {
	content, err := d.optionFile()
	if err != nil {
		return nil, err
	}
	defer clear(content)
	if f, err := memCredentials(content); err == nil {
		// /proc/self/fd rather than /dev/fd: small containers may lack the
		// latter.
		return &credentials{path: "/proc/self/fd/" + strconv.Itoa(credentialsFD), memfd: f, remove: func() {}}, nil
	}
	// No memfd (not Linux, or forbidden): a file only we can read.
	path, remove, err := writeCredentialsFile(d.tempDir, content)
	if err != nil {
		return nil, err
	}
	return &credentials{path: path, remove: remove}, nil
}

// Close releases the option file.
func (c *credentials) Close() {
	if c.memfd != nil {
		c.memfd.Close()
	}
	c.remove()
}

// command is exec.CommandContext for a tool reading these credentials,
// with only the environment the tools need (toolEnv).
func (c *credentials) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = toolEnv()
	cmd.WaitDelay = waitDelay
	if c.memfd != nil {
		cmd.ExtraFiles = []*os.File{c.memfd} // fd 3 in the child
	}
	return cmd
}

// writeCredentialsFile writes content to a new 0600 file in dir whose name
// carries our pid, so tempfile.RemoveStale can tell a live run's file from
// a killed one's.
func writeCredentialsFile(dir string, content []byte) (path string, remove func(), err error) {
	f, err := tempfile.Create(dir, "mysql", ".cnf")
	if err != nil {
		return "", nil, backup.Wrap(err, backup.EINTERNAL, "cannot create the credentials file for the MySQL tools in %s", dir)
	}
	path = f.Name()
	remove = func() { _ = os.Remove(path) }
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", nil, backup.Wrap(err, backup.EINTERNAL, "cannot write the credentials file %s", path)
	}
	return path, remove, nil
}

// toolEnvAllowed are the only variables the tools get from our
// environment: what finding programs, the locale, the time zone and TLS
// certificate checks (as our own Go connection does them) need.
// Nothing else passes: not HMSBACKUP_* (the DSN holds the password), not
// other secrets, not MYSQL_*/MARIADB_* (the option file alone decides the
// connection).
var toolEnvAllowed = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"}

// toolEnv is the environment for the tools: the allowed variables and the
// locale's LC_* ones from ours.
func toolEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LC_") || slices.Contains(toolEnvAllowed, name) {
			env = append(env, kv)
		}
	}
	return env
}
