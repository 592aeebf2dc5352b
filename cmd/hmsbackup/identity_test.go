package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// wantUsageError fails t unless r failed with exit status 2 and one
// stderr line that says want.
func wantUsageError(t *testing.T, r cliResult, want string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("command succeeded; want exit 2 saying %q\nstdout: %s", want, r.stdout)
	}
	if code := exitCode(r.err); code != 2 {
		t.Errorf("exit status %d, want 2 (%v)", code, r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "hmsbackup: ") || !strings.Contains(lines[0], want) {
		t.Errorf("stderr %q: want one line hmsbackup: ... %q", r.stderr, want)
	}
}

func TestUserCommands(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}

	// Generated password: alone on stdout, once.
	r := mustOK(t, cliRun(t, env, "user", "add", "alice", "--role", "operator"))
	generated := strings.TrimSpace(r.stdout)
	if len(generated) != 20 || strings.ContainsAny(generated, " \n") {
		t.Fatalf("user add printed %q; want the 20-character password alone", r.stdout)
	}
	if !strings.Contains(r.stderr, "shown only this once") || strings.Contains(r.stderr, generated) {
		t.Errorf("stderr %q", r.stderr)
	}
	// A chosen password from stdin: nothing secret printed.
	r = mustOK(t, cliRunIn(t, env, "a chosen long password\n", false, "user", "add", "bob", "--role", "viewer", "--password-stdin"))
	if r.stdout != "Added user bob with role viewer\n" {
		t.Errorf("user add --password-stdin printed %q", r.stdout)
	}

	// Bad input: one clear line, exit 2, nothing added.
	wantUsageError(t, cliRun(t, env, "user", "add", "carol", "--role", "nurse"), `no role "nurse"`)
	wantUsageError(t, cliRun(t, env, "user", "add", "ALICE", "--role", "viewer"), "already exists")
	wantUsageError(t, cliRunIn(t, env, "tiny pw\n", false, "user", "add", "carol", "--role", "viewer", "--password-stdin"), "too short")
	wantUsageError(t, cliRunIn(t, env, "carol's long password\n", false, "user", "add", "carol", "--role", "viewer", "--password-stdin"), "user name")
	wantUsageError(t, cliRunIn(t, env, "", false, "user", "add", "carol", "--role", "viewer", "--password-stdin"), "gave none")
	wantUsageError(t, cliRun(t, env, "user", "add", "carol"), "needs --role")
	wantUsageError(t, cliRun(t, env, "user", "add", "has space", "--role", "viewer"), "not valid")
	wantUsageError(t, cliRun(t, env, "user", "add"), "bad usage")
	wantUsageError(t, cliRun(t, env, "user", "add", "carol", "--role", "viewer", "--bogus"), "bad usage")

	// list, as a table and as JSON, never with a hash.
	r = mustOK(t, cliRun(t, env, "user", "list"))
	if !strings.Contains(r.stdout, "alice") || !strings.Contains(r.stdout, "operator") || strings.Contains(r.stdout, "carol") {
		t.Errorf("user list:\n%s", r.stdout)
	}
	var users []map[string]any
	r = mustOK(t, cliRun(t, env, "user", "list", "--json"))
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil || len(users) != 2 {
		t.Fatalf("user list --json: %v\n%s", err, r.stdout)
	}
	for _, f := range []string{"id", "name", "role", "disabled", "created_at", "updated_at", "last_sign_in_at"} {
		if _, ok := users[0][f]; !ok {
			t.Errorf("user JSON lacks %q: %v", f, users[0])
		}
	}
	if strings.Contains(r.stdout, "argon2") || strings.Contains(r.stdout, "password") {
		t.Errorf("user list --json shows a hash: %s", r.stdout)
	}

	// disable, enable.
	mustOK(t, cliRun(t, env, "user", "disable", "Alice"))
	mustOK(t, cliRun(t, env, "user", "list", "--json"))
	if r := mustOK(t, cliRun(t, env, "user", "list")); !strings.Contains(r.stdout, "disabled") {
		t.Errorf("after disable:\n%s", r.stdout)
	}
	mustOK(t, cliRun(t, env, "user", "enable", "alice"))
	if r := cliRun(t, env, "user", "disable", "nobody"); exitCode(r.err) != 3 || !strings.Contains(r.stderr, `no user "nobody"`) {
		t.Errorf("disable nobody: exit %d, %q; want 3", exitCode(r.err), r.stderr)
	}

	// passwd: generated, then from stdin.
	r = mustOK(t, cliRun(t, env, "user", "passwd", "alice"))
	if reset := strings.TrimSpace(r.stdout); len(reset) != 20 || reset == generated {
		t.Errorf("user passwd printed %q", r.stdout)
	}
	r = mustOK(t, cliRunIn(t, env, "another long password\n", false, "user", "passwd", "alice", "--password-stdin"))
	if strings.Contains(r.stdout+r.stderr, "another long") {
		t.Errorf("passwd echoed the password: %q %q", r.stdout, r.stderr)
	}
	wantUsageError(t, cliRunIn(t, env, "tiny pw 2\n", false, "user", "passwd", "alice", "--password-stdin"), "too short")

	// Every command left an audit entry as cli:<os user>, none with a secret.
	entries := auditEntries(t, env)
	counts := map[backup.Action]int{}
	for _, e := range entries {
		counts[e.Action]++
		if !strings.HasPrefix(e.Actor, "cli:") || e.UserID != nil || e.SourceAddress != "" || e.UserAgent != "" {
			t.Errorf("audit entry %+v: want actor cli:<os user>, no user id, no address", e)
		}
		for _, secret := range []string{generated, "a chosen long password", "another long password", "tiny pw", "carol's long"} {
			if strings.Contains(e.Details, secret) {
				t.Errorf("audit entry holds a password: %+v", e)
			}
		}
	}
	// Usage errors found before the operation (no --role, nothing on
	// stdin, a bad flag) are not audited, as with every other command.
	want := map[backup.Action]int{backup.ActionUserAdd: 7, backup.ActionUserList: 4, backup.ActionUserDisable: 2,
		backup.ActionUserEnable: 1, backup.ActionUserPassword: 3}
	for a, n := range want {
		if counts[a] != n {
			t.Errorf("%d audit entries %s, want %d (all: %v)", counts[a], a, n, counts)
		}
	}
	assertNoSecretsInDataDir(t, env["HMSBACKUP_DATA_DIR"], generated, "a chosen long password", "another long password")
}

func TestRoleCommands(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	r := mustOK(t, cliRun(t, env, "role", "list"))
	for _, want := range []string{"admin", "operator", "viewer", "backups.manage-settings"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("role list lacks %q:\n%s", want, r.stdout)
		}
	}
	var roles []struct {
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
		BuiltIn     bool     `json:"built_in"`
	}
	if err := json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "role", "list", "--json")).stdout), &roles); err != nil || len(roles) != 3 {
		t.Fatalf("role list --json: %v %v", err, roles)
	}
	if roles[0].Name != "admin" || len(roles[0].Permissions) != 5 || roles[2].Name != "viewer" || len(roles[2].Permissions) != 1 || !roles[1].BuiltIn {
		t.Errorf("roles %+v", roles)
	}
	mustOK(t, cliRun(t, env, "role", "add", "restorer", "--permission", "backups.view,backups.restore"))
	wantUsageError(t, cliRun(t, env, "role", "add", "x", "--permission", "backups.everything"), "not a permission")
	wantUsageError(t, cliRun(t, env, "role", "add", "restorer"), "already exists")
	wantUsageError(t, cliRun(t, env, "role", "delete", "admin"), "built in")
	mustOK(t, cliRun(t, env, "user", "add", "rita", "--role", "restorer"))
	wantUsageError(t, cliRun(t, env, "role", "delete", "restorer"), "role of 1 user")
	mustOK(t, cliRun(t, env, "role", "add", "temp"))
	mustOK(t, cliRun(t, env, "role", "delete", "temp"))
	if r := mustOK(t, cliRun(t, env, "role", "list")); !strings.Contains(r.stdout, "restorer  no        backups.view, backups.restore") {
		t.Errorf("role list:\n%s", r.stdout)
	}
}

func TestTokenCommands(t *testing.T) {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	mustOK(t, cliRun(t, env, "user", "add", "hms", "--role", "operator"))
	r := mustOK(t, cliRun(t, env, "token", "create", "--user", "hms", "--name", "nightly export"))
	token := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(token, "hms_") || len(token) != 47 {
		t.Fatalf("token create printed %q; want the token alone", r.stdout)
	}
	if !strings.Contains(r.stderr, "created API token 1 for user hms") || strings.Contains(r.stderr, token) {
		t.Errorf("stderr %q", r.stderr)
	}
	second := strings.TrimSpace(mustOK(t, cliRun(t, env, "token", "create", "--user", "HMS")).stdout)
	if second == token {
		t.Errorf("two tokens are equal")
	}
	wantUsageError(t, cliRun(t, env, "token", "create"), "needs --user")
	if r := cliRun(t, env, "token", "create", "--user", "nobody"); exitCode(r.err) != 3 {
		t.Errorf("token create for nobody: exit %d, %q", exitCode(r.err), r.stderr)
	}

	r = mustOK(t, cliRun(t, env, "token", "list"))
	if !strings.Contains(r.stdout, "nightly export") || !strings.Contains(r.stdout, "active") || strings.Contains(r.stdout, token[4:]) {
		t.Errorf("token list:\n%s", r.stdout)
	}
	mustOK(t, cliRun(t, env, "token", "revoke", "1"))
	mustOK(t, cliRun(t, env, "token", "revoke", "1")) // again: no change, no error
	var ts []map[string]any
	r = mustOK(t, cliRun(t, env, "token", "list", "--user", "hms", "--json"))
	if err := json.Unmarshal([]byte(r.stdout), &ts); err != nil || len(ts) != 2 {
		t.Fatalf("token list --json: %v\n%s", err, r.stdout)
	}
	if ts[0]["revoked_at"] == nil || ts[1]["revoked_at"] != nil || ts[0]["label"] != "nightly export" || ts[0]["user"] != "hms" {
		t.Errorf("tokens %v", ts)
	}
	for _, secret := range []string{token, second, token[4:], second[4:]} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("token list --json shows a token")
		}
	}
	wantUsageError(t, cliRun(t, env, "token", "revoke", "abc"), "not a token ID")
	wantUsageError(t, cliRun(t, env, "token", "revoke"), "bad usage")
	if r := cliRun(t, env, "token", "revoke", "99"); exitCode(r.err) != 3 || !strings.Contains(r.stderr, "no API token 99") {
		t.Errorf("revoke 99: exit %d, %q", exitCode(r.err), r.stderr)
	}
	if r := cliRun(t, env, "token", "list", "--user", "nobody"); exitCode(r.err) != 3 {
		t.Errorf("token list --user nobody: exit %d", exitCode(r.err))
	}

	entries := auditEntries(t, env)
	counts := map[backup.Action]int{}
	for _, e := range entries {
		counts[e.Action]++
		if strings.Contains(e.Details, token[4:]) || strings.Contains(e.Details, second[4:]) {
			t.Errorf("audit entry holds a token: %+v", e)
		}
	}
	if counts[backup.ActionTokenCreate] != 3 || counts[backup.ActionTokenRevoke] != 3 || counts[backup.ActionTokenList] != 3 {
		t.Errorf("audit counts %v", counts)
	}
	assertNoSecretsInDataDir(t, env["HMSBACKUP_DATA_DIR"], token[4:], second[4:])
}

func auditEntries(t *testing.T, env map[string]string) []*backup.AuditEntry {
	t.Helper()
	var es []*backup.AuditEntry
	if err := json.Unmarshal([]byte(mustOK(t, cliRun(t, env, "audit", "--json", "--limit", "0")).stdout), &es); err != nil {
		t.Fatalf("audit --json: %v", err)
	}
	var own []*backup.AuditEntry
	for _, e := range es {
		if e.Action != "" && strings.ContainsAny(string(e.Action), ".-") {
			own = append(own, e)
		}
	}
	return own
}

// assertNoSecretsInDataDir greps every file under dir (the catalog, its
// WAL, anything else) for each secret.
func assertNoSecretsInDataDir(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret in clear", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
}
