package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/notify"
	"github.com/hmsbackup/hmsbackup/internal/testutil/smtptest"
)

const smtpPassword = "s3cret-SMTP-pa55word"

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func failedBackup() backup.Notification {
	return backup.Notification{
		Kind:    backup.NotifyBackupFailed,
		Backup:  &backup.Backup{ID: 42, Filename: "hms_backup_20261129_020000.sql.gz", DBName: "hms", Source: backup.SourceScheduled, Status: backup.StatusFailed},
		Message: "backup failed: dump failed: mariadb-dump: Got error: 1045: Access denied for user 'hms_backup'@'localhost'",
		Error:   "dump failed: mariadb-dump: Got error: 1045: Access denied for user 'hms_backup'@'localhost'",
		Time:    time.Date(2026, 11, 29, 1, 0, 3, 0, time.UTC),
	}
}

func recipients(addrs ...string) func(context.Context) ([]string, error) {
	return func(context.Context) ([]string, error) { return addrs, nil }
}

func origin() notify.Origin { return notify.Origin{Host: "db1.hospital.example", Location: berlin} }

// parse reads each message back, failing the test on a malformed one.
func parse(t *testing.T, msgs []smtptest.Message) []smtptest.Parsed {
	t.Helper()
	var out []smtptest.Parsed
	for _, m := range msgs {
		p, err := m.Parse()
		if err != nil {
			t.Fatalf("message %q: %v", m.Data, err)
		}
		out = append(out, p)
	}
	return out
}

func TestMailOverSTARTTLSWithAuthSendsOneMailToEachRecipient(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSStartTLS, Username: "hmsbackup", Password: smtpPassword})
	to := []string{"alice@hospital.example", "bob@hospital.example"}
	m := &notify.Mail{SMTP: srv.Config("HMS Backup <backup@hospital.example>"), Recipients: recipients(to...), Origin: origin()}
	if err := m.Notify(context.Background(), failedBackup()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the server got %d messages, want one per recipient (2)", len(msgs))
	}
	for i, msg := range msgs {
		if !slices.Equal(msg.To, []string{to[i]}) || msg.From != "backup@hospital.example" {
			t.Errorf("message %d: from %q to %v, want from backup@hospital.example to %s", i, msg.From, msg.To, to[i])
		}
		if !msg.TLS || msg.User != "hmsbackup" {
			t.Errorf("message %d: TLS %v, user %q: want STARTTLS and AUTH as hmsbackup", i, msg.TLS, msg.User)
		}
		if strings.Contains(string(msg.Data), smtpPassword) {
			t.Errorf("message %d holds the SMTP password", i)
		}
	}
	for _, p := range parse(t, msgs) {
		if want := "[hmsbackup] db1.hospital.example: Backup FAILED (database hms)"; p.Subject != want {
			t.Errorf("subject %q, want %q", p.Subject, want)
		}
		for _, want := range []string{
			"Access denied for user 'hms_backup'@'localhost'", // the error
			"#42 hms_backup_20261129_020000.sql.gz",           // the backup: id and file
			"database hms",                                    // its database
			"2026-11-29 02:00:03 CET (+01:00)",                // when, in the zone
			"What to do:", "hmsbackup create", "Event:     backup_failed",
		} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("body lacks %q:\n%s", want, p.Body)
			}
		}
		if p.Header.Get("Auto-Submitted") != "auto-generated" || p.Header.Get("Message-Id") == "" || p.Header.Get("Date") == "" {
			t.Errorf("headers %v lack Auto-Submitted, Message-ID or Date", p.Header)
		}
	}
}

func TestMailOverImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSImplicit, Username: "u", Password: smtpPassword})
	m := &notify.Mail{SMTP: srv.Config("backup@hospital.example"), Recipients: recipients("a@hospital.example"), Origin: origin()}
	if err := m.Notify(context.Background(), failedBackup()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "u" {
		t.Fatalf("messages %+v, want one over TLS as u", msgs)
	}
}

func TestMailToALocalRelayWithoutTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSNone})
	m := &notify.Mail{SMTP: srv.Config("backup@hospital.example"), Recipients: recipients("a@hospital.example"), Origin: origin()}
	if err := m.Notify(context.Background(), failedBackup()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].TLS || msgs[0].User != "" {
		t.Fatalf("messages %+v, want one in plain text without AUTH", msgs)
	}
}

func TestMailRefusesAServerWithoutSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSNone})
	cfg := srv.Config("backup@hospital.example")
	cfg.TLS = notify.TLSStartTLS
	m := &notify.Mail{SMTP: cfg, Recipients: recipients("a@hospital.example"), Origin: origin()}
	err := m.Notify(context.Background(), failedBackup())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Notify to a server without STARTTLS: %v, want a STARTTLS error", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("a mail was sent in plain text although starttls was asked for")
	}
}

func TestMailRefusesAnUntrustedCertificate(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSStartTLS, Username: "u", Password: smtpPassword})
	cfg := srv.Config("backup@hospital.example")
	cfg.RootCAs = nil // the system's roots do not know the test's certificate
	m := &notify.Mail{SMTP: cfg, Recipients: recipients("a@hospital.example"), Origin: origin()}
	if err := m.Notify(context.Background(), failedBackup()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Notify: %v, want a certificate error", err)
	}
	if srv.AuthFailures() != 0 || len(srv.Messages()) != 0 {
		t.Error("the password or a mail went to an untrusted server")
	}
}

func TestMailWithAWrongPasswordFailsWithoutSayingIt(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSStartTLS, Username: "u", Password: "right-password"})
	cfg := srv.Config("backup@hospital.example")
	cfg.Password = smtpPassword
	m := &notify.Mail{SMTP: cfg, Recipients: recipients("a@hospital.example", "b@hospital.example"), Origin: origin()}
	err := m.Notify(context.Background(), failedBackup())
	if err == nil {
		t.Fatal("Notify with a wrong password succeeded")
	}
	var ce *notify.ChannelError
	if !errors.As(err, &ce) || ce.Channel != "mail" {
		t.Errorf("error %v does not name the mail channel", err)
	}
	for _, want := range []string{"a@hospital.example", "b@hospital.example", "AUTH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), smtpPassword) || strings.Contains(cfg.String(), smtpPassword) {
		t.Errorf("the password is in the error or the config's text: %q / %q", err, cfg.String())
	}
	if srv.AuthFailures() == 0 {
		t.Error("the server saw no failed AUTH")
	}
}

func TestMailToARefusedRecipientFailsOnlyThatOne(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSNone, RejectRcpt: func(a string) bool { return strings.HasPrefix(a, "gone@") }})
	m := &notify.Mail{SMTP: srv.Config("backup@hospital.example"), Origin: origin()}
	ds := m.Deliver(context.Background(), failedBackup(), []string{"a@hospital.example", "gone@hospital.example", "c@hospital.example"})
	if ds[0].Err != nil || ds[1].Err == nil || ds[2].Err != nil {
		t.Fatalf("deliveries %+v, want only gone@ failed", ds)
	}
	if err := notify.Failed(ds); err == nil || !strings.Contains(err.Error(), "mail to gone@hospital.example failed") {
		t.Errorf("Failed: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("the server got %d messages, want 2", n)
	}
}

func TestMailToADownServerSaysWhere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	m := &notify.Mail{SMTP: notify.SMTPConfig{Host: "127.0.0.1", Port: port, From: "backup@hospital.example", TLS: notify.TLSNone, Timeout: 5 * time.Second},
		Recipients: recipients("a@hospital.example"), Origin: origin()}
	err = m.Notify(context.Background(), failedBackup())
	if err == nil || !strings.Contains(err.Error(), "connect to SMTP server 127.0.0.1:") || !strings.Contains(err.Error(), "a@hospital.example") {
		t.Fatalf("Notify to a closed port: %v", err)
	}
}

func TestMailReadsTheRecipientsAtEachSend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSNone})
	current := []string{"a@hospital.example"}
	m := &notify.Mail{SMTP: srv.Config("backup@hospital.example"), Origin: origin(),
		Recipients: func(context.Context) ([]string, error) { return current, nil }}
	ctx := context.Background()
	if err := m.Notify(ctx, failedBackup()); err != nil {
		t.Fatal(err)
	}
	current = []string{"b@hospital.example", "c@hospital.example"}
	if err := m.Notify(ctx, failedBackup()); err != nil {
		t.Fatal(err)
	}
	current = nil // nobody to tell: nothing to do
	if err := m.Notify(ctx, failedBackup()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, msg := range srv.Messages() {
		got = append(got, msg.To...)
	}
	if want := []string{"a@hospital.example", "b@hospital.example", "c@hospital.example"}; !slices.Equal(got, want) {
		t.Errorf("mails went to %v, want %v", got, want)
	}
}

func TestMailWithRecipientsButNoServerFails(t *testing.T) {
	m := &notify.Mail{Recipients: recipients("a@hospital.example"), Origin: origin()}
	err := m.Notify(context.Background(), failedBackup())
	if err == nil || !strings.Contains(err.Error(), "HMSBACKUP_SMTP_HOST") {
		t.Fatalf("Notify without SMTP: %v, want an error saying how to configure it", err)
	}
	if err := (&notify.Mail{Recipients: recipients()}).Notify(context.Background(), failedBackup()); err != nil {
		t.Errorf("Notify without SMTP and recipients: %v, want nothing to do", err)
	}
}

func TestSMTPConfigValidation(t *testing.T) {
	ok := notify.SMTPConfig{Host: "mail.hospital.example", From: "backup@hospital.example"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		change func(*notify.SMTPConfig)
		want   string
	}{
		{func(c *notify.SMTPConfig) { c.Host = "" }, "host"},
		{func(c *notify.SMTPConfig) { c.Host = "mail.hospital.example:587" }, "port separately"},
		{func(c *notify.SMTPConfig) { c.Port = 70000 }, "port"},
		{func(c *notify.SMTPConfig) { c.TLS = "ssl" }, "starttls, tls or none"},
		{func(c *notify.SMTPConfig) { c.From = "" }, "from"},
		{func(c *notify.SMTPConfig) { c.From = "not an address" }, "not an e-mail address"},
		{func(c *notify.SMTPConfig) { c.Password = smtpPassword }, "no username"},
		{func(c *notify.SMTPConfig) { c.Username, c.Password, c.TLS = "u", smtpPassword, notify.TLSNone }, "unencrypted"},
	}
	for _, tc := range cases {
		c := ok
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error mentioning %q", c, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), smtpPassword) {
			t.Errorf("error %q holds the password", err)
		}
	}
	local := notify.SMTPConfig{Host: "127.0.0.1", From: "b@h.example", Username: "u", Password: smtpPassword, TLS: notify.TLSNone}
	if err := local.Validate(); err != nil {
		t.Errorf("a username for a relay on this host without TLS: %v", err)
	}
	if s := fmt.Sprint(local) + fmt.Sprintf("%v %+v", local, local); strings.Contains(s, smtpPassword) {
		t.Errorf("the config's text %q holds the password", s)
	}
}

func TestMailToALocalRelayWithAuthButNoTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: notify.TLSNone, Username: "relay", Password: smtpPassword})
	m := &notify.Mail{SMTP: srv.Config("backup@hospital.example"), Recipients: recipients("a@hospital.example"), Origin: origin()}
	if err := m.Notify(context.Background(), failedBackup()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].User != "relay" {
		t.Fatalf("messages %+v, want one sent after AUTH as relay", msgs)
	}
}
