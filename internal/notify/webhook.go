package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// WebhookPayload is the JSON body of a webhook POST. Text is what Slack
// and Mattermost incoming webhooks show; the other fields are for
// programs. The field names are stable.
type WebhookPayload struct {
	Text     string `json:"text"`
	Event    string `json:"event"` // the NotificationKind: backup_failed, restore_failed, ...
	Title    string `json:"title"` // the mail's subject
	Host     string `json:"host"`
	Database string `json:"database"`
	BackupID *int64 `json:"backup_id"` // null when no backup record exists
	Filename string `json:"filename"`
	Message  string `json:"message"`
	Error    string `json:"error"`    // "" when nothing failed (recovered, test)
	Rollback string `json:"rollback"` // failed restores: not_needed, succeeded, failed; else ""
	Advice   string `json:"advice"`   // what to do
	Time     string `json:"time"`     // RFC 3339, in the configured zone
}

// Payload builds the webhook body of n.
func Payload(n backup.Notification, o Origin) WebhookPayload {
	msg := Compose(n, o)
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	p := WebhookPayload{
		Text:     msg.Subject + "\n" + msg.Body,
		Event:    string(n.Kind),
		Title:    msg.Subject,
		Host:     hostOf(o),
		Message:  oneLine(n.Message),
		Error:    oneLine(n.Error),
		Rollback: string(n.Rollback),
		Advice:   advice(n),
		Time:     msg.Time.In(loc).Format(time.RFC3339),
	}
	if b := n.Backup; b != nil {
		p.Database, p.Filename = b.DBName, b.Filename
		if b.ID != 0 {
			id := b.ID
			p.BackupID = &id
		}
	}
	return p
}

func hostOf(o Origin) string {
	if o.Host == "" {
		return "unknown host"
	}
	return o.Host
}

// Webhook POSTs each notification as JSON (WebhookPayload) to a URL. The
// URL holds a token: it is never logged, printed or put in an error; errors
// name only its host.
type Webhook struct {
	// URL returns the webhook's URL; "" means no webhook is configured.
	// It is read at every send, so a change applies at once.
	URL    func(ctx context.Context) (string, error)
	Origin Origin
	// Client, if set, sends the requests; nil: one with a 15s timeout.
	// Redirects are never followed (they would need the token again).
	Client *http.Client
}

var _ Channel = (*Webhook)(nil)

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Notify POSTs n; no URL configured: nothing to do. Any answer but 2xx,
// or no answer, is an error (a *ChannelError naming "webhook" and the
// URL's host).
func (w *Webhook) Notify(ctx context.Context, n backup.Notification) error {
	raw, err := w.URL(ctx)
	if err != nil {
		return &ChannelError{Channel: w.Name(), Err: fmt.Errorf("read the webhook URL: %w", err)}
	}
	if raw == "" {
		return nil
	}
	if err := w.post(ctx, raw, Payload(n, w.Origin)); err != nil {
		return &ChannelError{Channel: w.Name(), Err: err}
	}
	return nil
}

// CheckWebhookURL says whether raw is an http(s) URL with a host; its
// error never holds the URL.
func CheckWebhookURL(raw string) error {
	_, err := parseWebhookURL(raw)
	return err
}

func parseWebhookURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// url.Parse's error quotes the URL: leave it out.
		return nil, errors.New("the webhook URL is not an http:// or https:// URL")
	}
	return u, nil
}

func (w *Webhook) post(ctx context.Context, raw string, p WebhookPayload) error {
	u, err := parseWebhookURL(raw)
	if err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode the webhook payload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return redact(fmt.Errorf("webhook request to %s: %w", u.Host, err), raw, u)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hmsbackup")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text quotes the URL
		}
		return redact(fmt.Errorf("webhook POST to %s: %w", u.Host, err), raw, u)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook POST to %s: the server answered %s", u.Host, resp.Status)
	}
	return nil
}

// redactedError hides the webhook URL (and its path and query, where the
// token is) from an error's text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, raw string, u *url.URL) error {
	msg := strings.ReplaceAll(err.Error(), raw, "<webhook URL>")
	for _, s := range []string{u.String(), u.RawQuery, u.EscapedPath(), u.Path, u.User.String()} {
		if s != "" && s != "/" {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	return &redactedError{msg: msg, err: err}
}
