package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/notify"
)

// notifyCommand holds "notify test": send a test mail to each recipient and
// a test webhook, and say what became of each.
func (c *cli) notifyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "notify", Short: "Notification tools (e-mail, webhook)"}
	var to []string
	test := &cobra.Command{
		Use:   "test",
		Short: "Send a test mail to each recipient (notification_emails, or --to) and a test webhook; report each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error { return c.notifyTest(cmd.Context(), a, to) })
		},
	}
	test.Flags().StringArrayVar(&to, "to", nil, "send the test mail to this address instead of notification_emails (repeatable)")
	cmd.AddCommand(test)
	return cmd
}

// notifyTest sends the test notification on each configured channel and
// prints one line per recipient and for the webhook. It fails, naming
// what failed, if any did; it is audited either way.
func (c *cli) notifyTest(ctx context.Context, a *app, to []string) error {
	if err := sendTestNotification(ctx, a, a.actor, "`hmsbackup notify test`", to, c.stdout); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "Notifications work.")
	return nil
}

// sendTestNotification sends the test notification on every channel for
// actor (via names the command or page), writing one line per channel to
// out; the web UI's "Send test notification" calls it too. It is audited
// either way.
func sendTestNotification(ctx context.Context, a *app, actor engine.Actor, via string, to []string, out io.Writer) error {
	cfg := a.cfg
	origin := notify.Origin{Host: cfg.NotifyHost, Location: cfg.Location}
	n := backup.Notification{Kind: backup.NotifyTest, Time: time.Now(),
		Message: fmt.Sprintf("This is a test of hmsbackup's notifications, sent by %s (%s).", via, actor.Name)}

	recipients := to
	if len(recipients) == 0 {
		var err error
		if recipients, err = settingsRecipients(a.catalog)(ctx); err != nil {
			return fmt.Errorf("read the recipients (notification_emails): %w", err)
		}
	}
	hook, hookErr := a.webhookURL(ctx)
	if !cfg.SMTP.Configured() && len(recipients) == 0 && hook == "" && hookErr == nil {
		return backup.Errorf(backup.EINVALID, "no notification channel is configured: set HMSBACKUP_SMTP_HOST and HMSBACKUP_SMTP_FROM (and notification_emails) for mail, or the webhook_url setting (or HMSBACKUP_WEBHOOK_URL) for a webhook")
	}

	var failed []error
	var report []string
	line := func(what string, err error) {
		status := "ok"
		if err != nil {
			status = "FAILED: " + oneLine(err.Error())
			failed = append(failed, err)
		}
		fmt.Fprintf(out, "%-40s %s\n", what, status)
		report = append(report, what+": "+status)
	}

	switch {
	case !cfg.SMTP.Configured() && len(recipients) == 0:
		fmt.Fprintf(out, "%-40s %s\n", "mail", "not configured (HMSBACKUP_SMTP_HOST)")
	case len(recipients) == 0:
		line("mail", errors.New("mail: no recipients: set notification_emails in the settings, or pass --to"))
	default:
		m := &notify.Mail{SMTP: cfg.SMTP, Origin: origin}
		for _, d := range m.Deliver(ctx, n, recipients) {
			err := d.Err
			if err != nil {
				err = fmt.Errorf("mail to %s: %w", d.To, err)
			}
			line("mail to "+d.To, err)
		}
	}

	switch {
	case hookErr != nil:
		line("webhook", hookErr)
	case hook == "":
		fmt.Fprintf(out, "%-40s %s\n", "webhook", "not configured (webhook_url setting, HMSBACKUP_WEBHOOK_URL)")
	default:
		line("webhook", (&notify.Webhook{URL: a.webhookURL, Origin: origin}).Notify(ctx, n))
	}

	err := errors.Join(failed...)
	entry := &backup.AuditEntry{Actor: actor.Name, UserID: actor.UserID, Action: backup.ActionNotify, Outcome: "success",
		Details: "test notification: " + strings.Join(report, "; "), SourceAddress: actor.SourceAddress, UserAgent: actor.UserAgent}
	if err != nil {
		entry.Outcome = "failure"
	}
	if aerr := a.catalog.AddAuditEntry(context.WithoutCancel(ctx), entry); aerr != nil {
		err = errors.Join(err, fmt.Errorf("cannot write the audit entry: %w", aerr))
	}
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "notify test failed (%s)", backup.Count(len(failed), "failure"))
	}
	return nil
}
