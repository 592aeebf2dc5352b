package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/notify"
	"github.com/hmsbackup/hmsbackup/internal/testutil/smtptest"
)

const (
	cliSMTPPassword = "cli-smtp-Pa55-never-printed"
	cliWebhookToken = "cli-hook-T0KEN-never-printed"
)

// webhookServer records the JSON bodies POSTed to it and answers status.
type webhookServer struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	bodies []map[string]any
}

func startWebhook(t *testing.T, status int) *webhookServer {
	w := &webhookServer{status: status}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		json.Unmarshal(data, &body)
		w.mu.Lock()
		w.bodies = append(w.bodies, body)
		w.mu.Unlock()
		rw.WriteHeader(w.status)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhookServer) url() string { return w.URL + "/hooks/" + cliWebhookToken }

func (w *webhookServer) events() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ev []string
	for _, b := range w.bodies {
		ev = append(ev, fmt.Sprint(b["event"]))
	}
	return ev
}

// notifyEnv is the environment of a data directory whose mail goes to srv
// (a relay on this host, with AUTH but no TLS) and whose webhook is hook.
func notifyEnv(t *testing.T, srv *smtptest.Server, hook string) map[string]string {
	env := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_NOTIFY_HOST": "db1.test"}
	if srv != nil {
		env["HMSBACKUP_SMTP_HOST"] = srv.Host
		env["HMSBACKUP_SMTP_PORT"] = fmt.Sprint(srv.Port)
		env["HMSBACKUP_SMTP_USERNAME"] = "hmsbackup"
		env["HMSBACKUP_SMTP_PASSWORD"] = cliSMTPPassword
		env["HMSBACKUP_SMTP_FROM"] = "HMS Backup <backup@hospital.example>"
		env["HMSBACKUP_SMTP_TLS"] = "none"
	}
	if hook != "" {
		env["HMSBACKUP_WEBHOOK_URL"] = hook
	}
	return env
}

func startRelay(t *testing.T, reject ...string) *smtptest.Server {
	return smtptest.Start(t, smtptest.Options{TLS: notify.TLSNone, Username: "hmsbackup", Password: cliSMTPPassword,
		RejectRcpt: func(a string) bool { return slices.Contains(reject, a) }})
}

// saveRecipients sets the data directory's notification_emails.
func saveRecipients(t *testing.T, env map[string]string, to ...string) {
	t.Helper()
	ctx := context.Background()
	cat, err := catalogsqlite.Open(ctx, filepath.Join(env["HMSBACKUP_DATA_DIR"], "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	s, err := cat.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.NotificationEmails = to
	if err := cat.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// noCLISecrets fails if a command's output holds the SMTP password or the
// webhook's token.
func noCLISecrets(t *testing.T, r cliResult) {
	t.Helper()
	for _, s := range []string{r.stdout, r.stderr, fmt.Sprint(r.err)} {
		if strings.Contains(s, cliSMTPPassword) || strings.Contains(s, cliWebhookToken) || strings.Contains(s, "/hooks/") {
			t.Errorf("output holds a secret:\n%s", s)
		}
	}
}

func auditNotify(t *testing.T, env map[string]string) []backup.AuditEntry {
	t.Helper()
	var entries []backup.AuditEntry
	r := mustOK(t, cliRun(t, env, "audit", "--json", "--limit", "0"))
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatal(err)
	}
	var out []backup.AuditEntry
	for _, e := range entries {
		if e.Action == backup.ActionNotify {
			out = append(out, e)
		}
		if strings.Contains(e.Details, cliSMTPPassword) || strings.Contains(e.Details, cliWebhookToken) {
			t.Errorf("audit entry holds a secret: %q", e.Details)
		}
	}
	return out
}

func TestNotifyTestSendsToEachRecipientAndTheWebhook(t *testing.T) {
	srv := startRelay(t)
	hook := startWebhook(t, http.StatusOK)
	env := notifyEnv(t, srv, hook.url())
	mustOK(t, cliRun(t, env, "list")) // the sample database and catalog
	saveRecipients(t, env, "alice@hospital.example", "bob@hospital.example")
	r := mustOK(t, cliRun(t, env, "notify", "test"))
	noCLISecrets(t, r)
	for _, want := range []string{"mail to alice@hospital.example", "mail to bob@hospital.example", "webhook", "Notifications work."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || msgs[0].User != "hmsbackup" {
		t.Fatalf("the relay got %+v, want two mails after AUTH", msgs)
	}
	p, err := msgs[0].Parse()
	if err != nil || !strings.Contains(p.Subject, "db1.test: Test notification") || !strings.Contains(p.Body, "hmsbackup notify test") {
		t.Errorf("test mail %q / %v:\n%s", p.Subject, err, p.Body)
	}
	if ev := hook.events(); !slices.Equal(ev, []string{"test"}) {
		t.Errorf("webhook events %v, want [test]", ev)
	}
	if e := auditNotify(t, env); len(e) != 1 || e[0].Outcome != "success" || !strings.Contains(e[0].Details, "test notification") {
		t.Errorf("audit %+v, want one successful test notification", e)
	}

	// --to replaces the settings' recipients.
	mustOK(t, cliRun(t, env, "notify", "test", "--to", "carol@hospital.example"))
	if msgs := srv.Messages(); len(msgs) != 3 || msgs[2].To[0] != "carol@hospital.example" {
		t.Errorf("after --to the relay got %+v", msgs)
	}
}

func TestNotifyTestNamesWhatFailed(t *testing.T) {
	srv := startRelay(t, "gone@hospital.example")
	hook := startWebhook(t, http.StatusInternalServerError)
	env := notifyEnv(t, srv, hook.url())
	r := cliRun(t, env, "notify", "test", "--to", "alice@hospital.example", "--to", "gone@hospital.example")
	noCLISecrets(t, r)
	if exitCode(r.err) != 6 {
		t.Errorf("exit %d, want 6", exitCode(r.err))
	}
	if !strings.Contains(r.stdout, "alice@hospital.example") || !strings.Contains(r.stdout, " ok") {
		t.Errorf("output does not say alice's mail went out:\n%s", r.stdout)
	}
	for _, want := range []string{"mail to gone@hospital.example", "550", "webhook", "500"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error %q lacks %q", r.stderr, want)
		}
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("the relay got %d mails, want alice's only", len(srv.Messages()))
	}
	if e := auditNotify(t, env); len(e) != 1 || e[0].Outcome != "failure" {
		t.Errorf("audit %+v, want one failed test notification", e)
	}

	// Nothing configured: nothing to test.
	r = cliRun(t, map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}, "notify", "test")
	if exitCode(r.err) != 2 || !strings.Contains(r.stderr, "HMSBACKUP_SMTP_HOST") {
		t.Errorf("notify test without channels: exit %d, %q", exitCode(r.err), r.stderr)
	}
	// Mail configured, nobody to write to.
	r = cliRun(t, notifyEnv(t, srv, ""), "notify", "test")
	if exitCode(r.err) != 6 || !strings.Contains(r.stderr, "notification_emails") {
		t.Errorf("notify test without recipients: exit %d, %q", exitCode(r.err), r.stderr)
	}
}

func TestSMTPAndWebhookSettingsAreValidated(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir(), "HMSBACKUP_SMTP_HOST": "mail.hospital.example",
			"HMSBACKUP_SMTP_FROM": "backup@hospital.example", "HMSBACKUP_SMTP_USERNAME": "u", "HMSBACKUP_SMTP_PASSWORD": cliSMTPPassword}
	}
	cases := []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"HMSBACKUP_SMTP_PORT": "smtp"}, "HMSBACKUP_SMTP_PORT"},
		{map[string]string{"HMSBACKUP_SMTP_PORT": "0"}, "HMSBACKUP_SMTP_PORT"},
		{map[string]string{"HMSBACKUP_SMTP_TLS": "ssl"}, "HMSBACKUP_SMTP_TLS"},
		{map[string]string{"HMSBACKUP_SMTP_FROM": ""}, "HMSBACKUP_SMTP_FROM is not"},
		{map[string]string{"HMSBACKUP_SMTP_FROM": "backup at hospital"}, "HMSBACKUP_SMTP_FROM"},
		{map[string]string{"HMSBACKUP_SMTP_USERNAME": ""}, "HMSBACKUP_SMTP_USERNAME is not"},
		{map[string]string{"HMSBACKUP_SMTP_TLS": "none"}, "unencrypted"},
		{map[string]string{"HMSBACKUP_SMTP_HOST": ""}, "HMSBACKUP_SMTP_HOST is not"},
		{map[string]string{"HMSBACKUP_SMTP_HOST": "mail.example:587"}, "HMSBACKUP_SMTP_HOST"},
		{map[string]string{"HMSBACKUP_WEBHOOK_URL": "hooks.example.org/services/" + cliWebhookToken}, "HMSBACKUP_WEBHOOK_URL"},
	}
	for _, c := range cases {
		env := base()
		for k, v := range c.set {
			env[k] = v
		}
		r := cliRun(t, env, "list")
		if exitCode(r.err) != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 naming %s", c.set, exitCode(r.err), r.stderr, c.want)
		}
		noCLISecrets(t, r)
	}
	// A valid configuration is accepted.
	env := base()
	env["HMSBACKUP_SMTP_TLS"], env["HMSBACKUP_SMTP_PORT"] = "tls", "465"
	env["HMSBACKUP_WEBHOOK_URL"] = "https://hooks.example.org/services/" + cliWebhookToken
	noCLISecrets(t, mustOK(t, cliRun(t, env, "list")))
}

// A failed backup is mailed to each recipient and posted to the webhook;
// with the mail server down and the webhook failing, the backup fails (or
// succeeds) exactly as before, says so in its own last line, warns that
// the notification was not sent, and the audit records it.
func TestBackupNotificationsThroughTheCLI(t *testing.T) {
	srv := startRelay(t)
	hook := startWebhook(t, http.StatusOK)
	env := notifyEnv(t, srv, hook.url())
	mustOK(t, cliRun(t, env, "create"))
	saveRecipients(t, env, "alice@hospital.example", "bob@hospital.example")

	broken := map[string]string{}
	for k, v := range env {
		broken[k] = v
	}
	broken["HMSBACKUP_DB_DSN"] = filepath.Join(t.TempDir(), "missing", "hms.db")
	// What the failure looks like without notifications, in a data
	// directory with one backup too (the ids match).
	plain := map[string]string{"HMSBACKUP_DATA_DIR": t.TempDir()}
	mustOK(t, cliRun(t, plain, "create"))
	plain["HMSBACKUP_DB_DSN"] = broken["HMSBACKUP_DB_DSN"]
	want := cliRun(t, plain, "create")
	r := cliRun(t, broken, "create")
	noCLISecrets(t, r)
	if r.err == nil || exitCode(r.err) != exitCode(want.err) || r.stderr != want.stderr {
		t.Fatalf("failing backup with notifications: exit %d, %q; without: exit %d, %q", exitCode(r.err), r.stderr, exitCode(want.err), want.stderr)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the relay got %d mails, want one to each recipient", len(msgs))
	}
	// The command's line is "backup N failed: <the engine's error>".
	_, errLine, _ := strings.Cut(strings.TrimSpace(r.stderr), " failed: ")
	for _, m := range msgs {
		p, err := m.Parse()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(p.Subject, "db1.test: Backup FAILED") || !strings.Contains(p.Body, errLine) {
			t.Errorf("mail %q lacks the error %q:\n%s", p.Subject, errLine, p.Body)
		}
	}
	if ev := hook.events(); !slices.Equal(ev, []string{"backup_failed"}) {
		t.Errorf("webhook events %v", ev)
	}

	// Now the mail server is down and the webhook fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	broken["HMSBACKUP_SMTP_PORT"] = fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	failing := startWebhook(t, http.StatusInternalServerError)
	broken["HMSBACKUP_WEBHOOK_URL"] = failing.url()
	want = cliRun(t, plain, "create")
	r = cliRun(t, broken, "create")
	noCLISecrets(t, r)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if exitCode(r.err) != exitCode(want.err) || lines[len(lines)-1] != strings.TrimSpace(want.stderr) {
		t.Errorf("with notifications failing: exit %d, last line %q; want exit %d, %q", exitCode(r.err), lines[len(lines)-1], exitCode(want.err), want.stderr)
	}
	if !strings.Contains(r.stderr, "warning: the backup_failed notification could not be sent") || !strings.Contains(r.stderr, "webhook") {
		t.Errorf("no warning that the notification failed:\n%s", r.stderr)
	}
	// The same data directory's next good backup succeeds, and its
	// recovery notification cannot be sent either.
	env["HMSBACKUP_SMTP_PORT"], env["HMSBACKUP_WEBHOOK_URL"] = broken["HMSBACKUP_SMTP_PORT"], broken["HMSBACKUP_WEBHOOK_URL"]
	r = mustOK(t, cliRun(t, env, "create"))
	noCLISecrets(t, r)
	var kinds []string
	for _, e := range auditNotify(t, env) {
		if e.Outcome != "failure" || !strings.Contains(e.Details, "mail") {
			t.Errorf("notify audit entry %+v", e)
		}
		kinds = append(kinds, strings.Fields(e.Details)[0])
	}
	if w := []string{"backup_recovered", "backup_failed"}; !slices.Equal(kinds, w) {
		t.Errorf("audited unsent notifications %v, want %v", kinds, w)
	}
}

// The webhook_url setting (sealed) and notification_emails set with
// `settings set` are what notifications use; HMSBACKUP_WEBHOOK_URL wins
// over the setting.
func TestNotificationsUseTheSettings(t *testing.T) {
	srv := startRelay(t)
	hook := startWebhook(t, http.StatusOK)
	env := notifyEnv(t, srv, "")
	mustOK(t, cliRun(t, env, "list"))
	r := mustOK(t, cliRunIn(t, env, hook.url()+"\n", false, "settings", "set", "webhook_url=-", "notification_emails=alice@hospital.example,bob@hospital.example"))
	noCLISecrets(t, r)
	noCLISecrets(t, mustOK(t, cliRun(t, env, "notify", "test")))
	if ev := hook.events(); !slices.Equal(ev, []string{"test"}) {
		t.Errorf("webhook events %v, want the test from the setting's URL", ev)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("the relay got %d mails, want one to each of the settings' recipients", n)
	}
	other := startWebhook(t, http.StatusOK)
	env["HMSBACKUP_WEBHOOK_URL"] = other.url()
	mustOK(t, cliRun(t, env, "notify", "test"))
	if len(other.events()) != 1 || len(hook.events()) != 1 {
		t.Errorf("with HMSBACKUP_WEBHOOK_URL set: env hook %v, setting's hook %v; want the environment's only", other.events(), hook.events())
	}
	// A sealed URL that cannot be opened (another key) is a failed channel, not a leak.
	delete(env, "HMSBACKUP_WEBHOOK_URL")
	env["HMSBACKUP_SECRET_KEY"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	r = cliRun(t, env, "notify", "test")
	noCLISecrets(t, r)
	if exitCode(r.err) != 6 || !strings.Contains(r.stderr, "webhook_url setting cannot be opened") {
		t.Errorf("with another secret key: exit %d, %q", exitCode(r.err), r.stderr)
	}
}
