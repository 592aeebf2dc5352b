package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/notify"
	"github.com/hmsbackup/hmsbackup/internal/testutil/smtptest"
)

const (
	smtpPassword = "smtp-Pa55word-never-shown"
	webhookToken = "hook-T0KEN-never-shown"
)

// settingsRecipients reads the catalog's notification_emails at each send,
// as the CLI wires it.
func settingsRecipients(cat backup.Catalog) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		s, err := cat.Settings(ctx)
		return s.NotificationEmails, err
	}
}

// setRecipients saves the settings' notification_emails.
func setRecipients(t tb, cat backup.Catalog, to []string) {
	t.Helper()
	ctx := context.Background()
	s, err := cat.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.NotificationEmails = to
	if err := cat.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// genRecipients draws 1 to 5 distinct addresses.
func genRecipients(t *rapid.T) []string {
	addr := rapid.Custom(func(t *rapid.T) string {
		local := rapid.StringMatching(`[a-z][a-z0-9]{0,8}([._+-][a-z0-9]{1,6})?`).Draw(t, "local")
		domain := rapid.SampledFrom([]string{"hospital.example", "ward-3.hospital.example", "on-call.example.org"}).Draw(t, "domain")
		return local + "@" + domain
	})
	return rapid.SliceOfNDistinct(addr, 1, 5, func(s string) string { return strings.ToLower(s) }).Draw(t, "recipients")
}

// failure is one way an operation of the engine fails, and the
// notification it must send.
type failure struct {
	name     string
	kind     backup.NotificationKind
	rollback backup.Rollback
	// run makes the operation fail and returns its error.
	run func(f *notifyFixture) error
}

// notifyFixture is an engine whose notifications go by mail to a real
// SMTP server (STARTTLS, AUTH), with backups prepared for failing restores.
type notifyFixture struct {
	*fixture
	smtp                  *smtptest.Server
	good, broken, corrupt *backup.Backup
	failed                *backup.Backup // a failed record
}

const defaultContent = "CREATE TABLE patients (id INT);\nINSERT INTO patients VALUES (1);\n-- Dump completed\n"

func newNotifyFixture(t fixtureT, to []string) *notifyFixture {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	nf := &notifyFixture{fixture: f}
	// The backups the failing restores need, made before anyone listens.
	nf.good = f.create(t)
	f.db.content = []byte("INSERT INTO patients VALUES (2);\nBREAK\n")
	nf.broken = f.create(t)
	f.db.content = []byte(defaultContent)
	nf.corrupt = f.create(t)
	if err := os.WriteFile(nf.corrupt.FilePath, []byte("not what was recorded"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.db.dumpErr = errors.New("mysqldump: Got error: 2013: Lost connection to server during query")
	nf.failed, _ = f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	f.db.dumpErr = nil
	if nf.failed == nil || nf.failed.Status != backup.StatusFailed {
		t.Fatalf("setup: the failing backup gave %+v", nf.failed)
	}

	nf.smtp = smtptest.Start(t, smtptest.Options{TLS: notify.TLSStartTLS, Username: "hmsbackup", Password: smtpPassword})
	setRecipients(t, f.cat, to)
	f.eng.Notifier = &notify.Dispatcher{Channels: []notify.Channel{
		&notify.Mail{SMTP: nf.smtp.Config("backup@hospital.example"), Recipients: settingsRecipients(f.cat),
			Origin: notify.Origin{Host: "db1", Location: f.eng.Location}},
	}}
	return nf
}

// reset gives the next operation a working database.
func (nf *notifyFixture) reset() {
	nf.db.mu.Lock()
	defer nf.db.mu.Unlock()
	nf.db.content, nf.db.dumpErr, nf.db.restoreErr = []byte(defaultContent), nil, nil
}

func (nf *notifyFixture) restore(id int64) error {
	_, err := nf.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: id, Actor: alice})
	return err
}

func (nf *notifyFixture) backup(quiet bool) error {
	_, err := nf.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceScheduled, Actor: alice, QuietFailure: quiet})
	return err
}

// failures are the ways a backup or a restore fails through the engine.
var failures = []failure{
	{"dump tool fails", backup.NotifyBackupFailed, "", func(f *notifyFixture) error {
		f.db.dumpErr = errors.New("mariadb-dump: Got error: 1045: Access denied for user 'hms_backup'@'localhost' (using password: YES)")
		return f.backup(false)
	}},
	{"dump is empty", backup.NotifyBackupFailed, "", func(f *notifyFixture) error {
		f.db.content = nil
		return f.backup(false)
	}},
	{"another backup runs", backup.NotifyBackupFailed, "", func(f *notifyFixture) error {
		l, err := f.eng.Locker.Acquire(context.Background(), f.db.Info().Key, "a backup by someone else", 0)
		if err != nil {
			return fmt.Errorf("hold the lock: %w", err)
		}
		defer l.Release()
		return f.backup(false)
	}},
	{"scheduled backup fails its last attempt", backup.NotifyScheduledBackupFailed, "", func(f *notifyFixture) error {
		// As the queue does: the attempts stay quiet, the last one is notified.
		f.db.dumpErr = errors.New("mariadb-dump: Can't connect to MySQL server on 'db' (111)")
		err := f.backup(true)
		f.eng.NotifyAs(context.Background(), engine.Actor{Name: "scheduler"}, backup.Notification{Kind: backup.NotifyScheduledBackupFailed,
			Message: "scheduled backup failed after 3 attempts; the last error: " + err.Error(), Error: err.Error()})
		return err
	}},
	{"restore of a corrupt file", backup.NotifyRestoreFailed, backup.RollbackNotNeeded, func(f *notifyFixture) error {
		return f.restore(f.corrupt.ID)
	}},
	{"restore of a failed backup", backup.NotifyRestoreFailed, backup.RollbackNotNeeded, func(f *notifyFixture) error {
		return f.restore(f.failed.ID)
	}},
	{"pre-restore backup fails", backup.NotifyRestoreFailed, backup.RollbackNotNeeded, func(f *notifyFixture) error {
		f.db.dumpErr = errors.New("mariadb-dump: Error 1412: Table definition has changed")
		return f.restore(f.good.ID)
	}},
	{"tables locked by others", backup.NotifyRestoreFailed, backup.RollbackNotNeeded, func(f *notifyFixture) error {
		f.db.restoreErr = backup.Untouched(backup.Errorf(backup.EBUSY, "tables locked by session 12 (user hms_app)"))
		return f.restore(f.good.ID)
	}},
	{"restore breaks midway, rolled back", backup.NotifyRestoreFailed, backup.RollbackSucceeded, func(f *notifyFixture) error {
		return f.restore(f.broken.ID)
	}},
	{"restore and its rollback break", backup.NotifyRestoreFailed, backup.RollbackFailed, func(f *notifyFixture) error {
		f.db.content = []byte("current state BREAK\n") // the pre-restore backup cannot be loaded either
		return f.restore(f.broken.ID)
	}},
}

// Property 4: every failure of a backup or a restore (and a scheduled
// backup's last attempt) sends one mail to each configured recipient,
// with the error, over a real SMTP server; quiet attempts send none, and
// no mail holds the SMTP password.
func TestProperty4FailureNotificationDispatch(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		to := genRecipients(rt)
		nf := newNotifyFixture(t, to)
		ops := rapid.SliceOfN(rapid.SampledFrom(failures), 1, 4).Draw(rt, "failures")
		seen := 0
		for i, op := range ops {
			nf.reset()
			err := op.run(nf)
			if err == nil {
				rt.Fatalf("op %d (%s) did not fail", i, op.name)
			}
			msgs := nf.smtp.Messages()[seen:]
			seen += len(msgs)
			var got []string
			for _, m := range msgs {
				if len(m.To) != 1 {
					rt.Fatalf("op %d (%s): a mail went to %v, want one recipient each", i, op.name, m.To)
				}
				got = append(got, m.To[0])
				if !m.TLS || m.User != "hmsbackup" {
					rt.Errorf("op %d: mail sent without STARTTLS or AUTH (TLS %v, user %q)", i, m.TLS, m.User)
				}
				if bytes.Contains(m.Data, []byte(smtpPassword)) {
					rt.Errorf("op %d: a mail holds the SMTP password", i)
				}
				p, perr := m.Parse()
				if perr != nil {
					rt.Fatalf("op %d: %v", i, perr)
				}
				if e := oneLine(err.Error()); !strings.Contains(p.Body, e) {
					rt.Errorf("op %d (%s): the mail lacks the error %q:\n%s", i, op.name, e, p.Body)
				}
				if !strings.Contains(p.Body, "Event:     "+string(op.kind)) || !strings.Contains(p.Subject, "db1") {
					rt.Errorf("op %d (%s): subject %q, body:\n%s\nwant event %s on db1", i, op.name, p.Subject, p.Body, op.kind)
				}
				if op.rollback != "" && !strings.Contains(p.Body, "Rollback:  "+rollbackWord(op.rollback)) {
					rt.Errorf("op %d (%s): body does not say the rollback %s:\n%s", i, op.name, op.rollback, p.Body)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(to))
			if !slices.Equal(got, want) {
				rt.Fatalf("op %d (%s): mails went to %v, want exactly one to each of %v", i, op.name, got, want)
			}
		}
	})
}

func rollbackWord(r backup.Rollback) string {
	switch r {
	case backup.RollbackSucceeded:
		return "succeeded"
	case backup.RollbackFailed:
		return "FAILED"
	}
	return "not needed"
}

// oneLine is how a notification writes a multi-line error.
func oneLine(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, " | ")
}

// downChannels is an engine's notifier whose mail server is down (a closed
// port) and whose webhook answers 500, with its log in a buffer.
func downChannels(t *testing.T, f *fixture) (logs *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}))
	t.Cleanup(hook.Close)
	logs = &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	f.eng.Logger = logger
	setRecipients(t, f.cat, []string{"oncall@hospital.example"})
	smtp := notify.SMTPConfig{Host: "127.0.0.1", Port: port, Username: "hmsbackup", Password: smtpPassword,
		From: "backup@hospital.example", TLS: notify.TLSStartTLS}
	f.eng.Notifier = &notify.Dispatcher{Channels: []notify.Channel{
		&notify.Log{Logger: logger},
		&notify.Mail{SMTP: smtp, Recipients: settingsRecipients(f.cat)},
		&notify.Webhook{URL: func(context.Context) (string, error) { return hook.URL + "/hooks/" + webhookToken, nil }},
	}}
	return logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noSecrets fails if any text holds the SMTP password or the webhook token.
func noSecrets(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, smtpPassword) || strings.Contains(s, webhookToken) {
			t.Errorf("%s holds a secret: %q", what, s)
		}
	}
}

// With the mail server down and the webhook failing, a backup fails or
// succeeds exactly as it would, a restore fails as it would; each
// notification that could not be sent is logged and audited (naming the
// channels), and no secret shows anywhere.
func TestUnsendableNotificationsNeverChangeTheOutcome(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	logs := downChannels(t, f)
	notifyAction := backup.ActionNotify

	// A failing backup: the same error, a failed record.
	f.db.dumpErr = errors.New("mariadb-dump: Access denied for user 'hms_backup'@'localhost'")
	b, err := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err == nil || !strings.Contains(err.Error(), "Access denied") || b == nil || b.Status != backup.StatusFailed {
		t.Fatalf("failing backup: %v, %+v; want its own error and a failed record", err, b)
	}
	entries := f.audit(t, notifyAction)
	if len(entries) != 1 || entries[0].Outcome != "failure" || entries[0].BackupID == nil || *entries[0].BackupID != b.ID ||
		entries[0].Actor != alice.Name {
		t.Fatalf("notify audit entries %+v, want one failure for backup %d by %s", entries, b.ID, alice.Name)
	}
	for _, want := range []string{"backup_failed notification could not be sent", "mail to oncall@hospital.example failed", "webhook POST to 127.0.0.1", "500"} {
		if !strings.Contains(entries[0].Details, want) {
			t.Errorf("audit details %q lack %q", entries[0].Details, want)
		}
	}
	if !strings.Contains(logs.String(), "cannot send notification") || !strings.Contains(logs.String(), "NOTIFICATION") {
		t.Errorf("the log lacks the notification or its failure:\n%s", logs)
	}

	// A succeeding backup (it recovers: the recovery mail fails too) succeeds.
	f.db.dumpErr = nil
	good, err := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err != nil || good.Status != backup.StatusCompleted {
		t.Fatalf("succeeding backup: %v, %+v", err, good)
	}

	// A failing restore: the same error, the database put back.
	f.db.content = []byte("INSERT 1; BREAK\n")
	broken := f.create(t)
	f.db.content = []byte("before the restore\n")
	res, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: broken.ID, Actor: alice})
	if err == nil || !res.RolledBack || string(f.db.get()) != "before the restore\n" {
		t.Fatalf("failing restore: %v, rolled back %v, database %q", err, res.RolledBack, f.db.get())
	}
	entries = f.audit(t, notifyAction)
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, strings.Fields(e.Details)[0])
		noSecrets(t, "an audit entry", e.Details)
	}
	if want := []string{"restore_failed", "backup_recovered", "backup_failed"}; !slices.Equal(kinds, want) {
		t.Errorf("unsent notifications audited: %v, want %v (newest first)", kinds, want)
	}
	all, _, _ := f.cat.FindAuditEntries(ctx, backup.AuditFilter{})
	for _, e := range all {
		noSecrets(t, "an audit entry", e.Details)
	}
	bs, _, _ := f.cat.FindBackups(ctx, backup.BackupFilter{})
	for _, b := range bs {
		noSecrets(t, "a backup record", b.ErrorMessage, b.Warning)
	}
	noSecrets(t, "the log", logs.String())
}

// A recovery notification follows a completed backup whose predecessor
// (pre-restore backups aside) failed, naming the failures; none follows a
// success after a success.
func TestRecoveryNotificationAfterFailures(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	notes := &recordingNotifier{}
	f.eng.Notifier = notes
	create := func() *backup.Backup {
		b, _ := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceScheduled, Actor: alice})
		return b
	}
	last := func() backup.Notification {
		notes.mu.Lock()
		defer notes.mu.Unlock()
		return notes.sent[len(notes.sent)-1]
	}

	first := create()
	create() // success after success
	if got := notes.kinds(); len(got) != 0 {
		t.Fatalf("notifications after two good backups: %v, want none", got)
	}
	f.db.dumpErr = errors.New("mariadb-dump: Lost connection")
	create()
	f.db.dumpErr = errors.New("mariadb-dump: Access denied")
	failed := create()
	f.db.dumpErr = nil
	// A restore's pre-restore backup completes, but is no recovery.
	if _, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: first.ID, Actor: alice}); err != nil {
		t.Fatal(err)
	}
	if got := notes.kinds(); !slices.Equal(got, []backup.NotificationKind{backup.NotifyBackupFailed, backup.NotifyBackupFailed}) {
		t.Fatalf("notifications %v, want two failures and no recovery yet", got)
	}
	ok := create()
	n := last()
	if n.Kind != backup.NotifyBackupRecovered || n.Backup == nil || n.Backup.ID != ok.ID {
		t.Fatalf("last notification %+v, want backup_recovered for backup %d", n, ok.ID)
	}
	for _, want := range []string{"2 backups before it failed", fmt.Sprintf("#%d", failed.ID), "Access denied"} {
		if !strings.Contains(n.Message, want) {
			t.Errorf("recovery message %q lacks %q", n.Message, want)
		}
	}
	create()
	if got := notes.kinds(); len(got) != 3 {
		t.Errorf("notifications %v: a success after the recovery sent another", got)
	}
}

// A restore's failure notification says whether the database was put
// back, and the engine's result agrees.
func TestRestoreFailureSaysWhatBecameOfTheDatabase(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(f *fixture)
		want    backup.Rollback
	}{
		{"untouched", func(f *fixture) { f.db.restoreErr = backup.Untouched(errors.New("locked")) }, backup.RollbackNotNeeded},
		{"rolled back", func(f *fixture) {}, backup.RollbackSucceeded},
		{"rollback failed", func(f *fixture) { f.db.content = []byte("now BREAK\n") }, backup.RollbackFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			notes := &recordingNotifier{}
			f.eng.Notifier = notes
			f.db.content = []byte("INSERT 1; BREAK\n")
			b := f.create(t)
			f.db.content = []byte("before\n")
			tc.prepare(f)
			res, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
			if err == nil {
				t.Fatal("restore succeeded")
			}
			if res.RolledBack != (tc.want == backup.RollbackSucceeded) || res.RollbackFailed != (tc.want == backup.RollbackFailed) {
				t.Errorf("result: rolled back %v, rollback failed %v; want %s", res.RolledBack, res.RollbackFailed, tc.want)
			}
			if len(notes.sent) != 1 || notes.sent[0].Kind != backup.NotifyRestoreFailed || notes.sent[0].Rollback != tc.want ||
				notes.sent[0].Error != err.Error() || notes.sent[0].Time.IsZero() {
				t.Errorf("notifications %+v, want one restore_failed with rollback %s, the error and a time", notes.sent, tc.want)
			}
		})
	}
}
