package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/notify"
)

const webhookToken = "T0KEN-xoxb-9f8e7d6c5b4a"

// hook is a real HTTP server that records the webhook POSTs it gets and
// answers with status.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	paths  []string
	status int
}

func startHook(t *testing.T, status int) *hook {
	h := &hook{status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		h.paths = append(h.paths, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type"))
		h.mu.Unlock()
		if h.status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere/"+webhookToken, http.StatusFound)
			return
		}
		w.WriteHeader(h.status)
		io.WriteString(w, "the body may echo "+webhookToken)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// url is the hook's URL with the token in its path and query, as Slack's
// and Mattermost's are.
func (h *hook) url() string { return h.srv.URL + "/hooks/" + webhookToken + "?token=" + webhookToken }

func (h *hook) received() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies), slices.Clone(h.paths)
}

func fixedURL(u string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return u, nil }
}

func TestWebhookPostsSlackCompatibleJSONWithTheStructuredFields(t *testing.T) {
	h := startHook(t, http.StatusOK)
	w := &notify.Webhook{URL: fixedURL(h.url()), Origin: origin()}
	n := failedBackup()
	n.Kind, n.Rollback = backup.NotifyRestoreFailed, backup.RollbackFailed
	if err := w.Notify(context.Background(), n); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	bodies, paths := h.received()
	if len(bodies) != 1 || paths[0] != "POST /hooks/"+webhookToken+"?token="+webhookToken+" application/json" {
		t.Fatalf("the hook got %v", paths)
	}
	var got map[string]any
	if err := json.Unmarshal(bodies[0], &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, bodies[0])
	}
	want := map[string]any{
		"event": "restore_failed", "host": "db1.hospital.example", "database": "hms", "backup_id": float64(42),
		"filename": "hms_backup_20261129_020000.sql.gz", "rollback": "failed",
		"error": n.Error, "message": n.Message, "time": "2026-11-29T02:00:03+01:00",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	text, _ := got["text"].(string)
	for _, s := range []string{"Restore FAILED and its ROLLBACK FAILED", "db1.hospital.example", "Access denied", "URGENT"} {
		if !strings.Contains(text, s) {
			t.Errorf("text lacks %q:\n%s", s, text)
		}
	}
	if a, _ := got["advice"].(string); !strings.Contains(a, "by hand") {
		t.Errorf("advice %q", a)
	}
}

func TestWebhookWithoutABackupHasANullID(t *testing.T) {
	h := startHook(t, http.StatusNoContent)
	w := &notify.Webhook{URL: fixedURL(h.url()), Origin: origin()}
	if err := w.Notify(context.Background(), backup.Notification{Kind: backup.NotifyBackupFailed, Message: "backup not started: busy"}); err != nil {
		t.Fatal(err)
	}
	bodies, _ := h.received()
	var got map[string]any
	json.Unmarshal(bodies[0], &got)
	if v, ok := got["backup_id"]; !ok || v != nil {
		t.Errorf("backup_id = %#v, want null", v)
	}
}

// checkNoToken fails if s holds any part of the webhook's secret.
func checkNoToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, webhookToken) || strings.Contains(s, "/hooks/") {
		t.Errorf("%s holds the webhook URL or token: %q", what, s)
	}
}

func TestWebhookFailuresNameTheHostButNeverTheURL(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return "http://" + ln.Addr().String()
	}()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"500", startHook(t, http.StatusInternalServerError).url(), "500 Internal Server Error"},
		{"403", startHook(t, http.StatusForbidden).url(), "403 Forbidden"},
		{"redirect", startHook(t, http.StatusFound).url(), "302 Found"},
		{"down", closed + "/hooks/" + webhookToken + "?token=" + webhookToken, "connection refused"},
		{"not http", "ftp://example.org/hooks/" + webhookToken, "not an http"},
		{"garbage", "http://[::1/hooks/" + webhookToken, "not an http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &notify.Webhook{URL: fixedURL(tc.url), Origin: origin(), Client: &http.Client{Timeout: 5 * time.Second}}
			err := w.Notify(context.Background(), failedBackup())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Notify: %v, want an error mentioning %q", err, tc.want)
			}
			var ce *notify.ChannelError
			if !errors.As(err, &ce) || ce.Channel != "webhook" {
				t.Errorf("error %v does not name the webhook channel", err)
			}
			checkNoToken(t, "the error", err.Error())
			if tc.name == "500" && !strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error %q does not name the host", err)
			}
		})
	}
	if err := notify.CheckWebhookURL("https://hooks.example.org/x/" + webhookToken); err != nil {
		t.Errorf("CheckWebhookURL of a good URL: %v", err)
	}
	if err := notify.CheckWebhookURL("hooks.example.org/x/" + webhookToken); err == nil {
		t.Error("CheckWebhookURL accepted a URL without a scheme")
	} else {
		checkNoToken(t, "CheckWebhookURL's error", err.Error())
	}
}

func TestWebhookWithoutAURLDoesNothing(t *testing.T) {
	w := &notify.Webhook{URL: fixedURL(""), Origin: origin()}
	if err := w.Notify(context.Background(), failedBackup()); err != nil {
		t.Fatal(err)
	}
}

// failing is a channel that always fails, slowly.
type failing struct{ name string }

func (f failing) Name() string { return f.name }
func (f failing) Notify(context.Context, backup.Notification) error {
	time.Sleep(50 * time.Millisecond)
	return errors.New("out of order")
}

// counting is a channel that counts what it was sent.
type counting struct {
	mu sync.Mutex
	n  []backup.Notification
}

func (c *counting) Notify(_ context.Context, n backup.Notification) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = append(c.n, n)
	return nil
}

func TestDispatcherSendsOnEveryChannelAndNamesTheFailedOnes(t *testing.T) {
	ok := &counting{}
	h := startHook(t, http.StatusInternalServerError)
	d := &notify.Dispatcher{Channels: []notify.Channel{
		failing{"mail"},
		notify.Named("counter", ok),
		&notify.Webhook{URL: fixedURL(h.url()), Origin: origin()},
	}}
	err := d.Notify(context.Background(), failedBackup())
	if got := notify.FailedChannels(err); !slices.Equal(got, []string{"mail", "webhook"}) {
		t.Errorf("FailedChannels(%v) = %v, want [mail webhook]", err, got)
	}
	if len(ok.n) != 1 {
		t.Errorf("the working channel got %d notifications, want 1 despite the others failing", len(ok.n))
	}
	checkNoToken(t, "the dispatcher's error", err.Error())
	if err := (&notify.Dispatcher{Channels: []notify.Channel{notify.Named("counter", ok)}}).Notify(context.Background(), failedBackup()); err != nil || notify.FailedChannels(err) != nil {
		t.Errorf("all channels working: %v", err)
	}
}

func TestDispatcherSendsOnTheChannelsAtOnce(t *testing.T) {
	var chans []notify.Channel
	for range 10 {
		chans = append(chans, failing{"slow"})
	}
	start := time.Now()
	_ = (&notify.Dispatcher{Channels: chans}).Notify(context.Background(), failedBackup())
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("10 channels of 50ms took %v: they were not sent concurrently", d)
	}
}

func TestEveryKindHasItsOwnSubjectAndAdvice(t *testing.T) {
	kinds := []backup.NotificationKind{backup.NotifyBackupFailed, backup.NotifyScheduledBackupFailed, backup.NotifyRestoreFailed,
		backup.NotifyUploadFailed, backup.NotifyCleanupFailed, backup.NotifyRestoreWarning, backup.NotifyBackupRecovered, backup.NotifyTest}
	subjects := map[string]bool{}
	for _, k := range kinds {
		n := failedBackup()
		n.Kind = k
		m := notify.Compose(n, origin())
		if subjects[m.Subject] {
			t.Errorf("%s: subject %q is another kind's too", k, m.Subject)
		}
		subjects[m.Subject] = true
		if !strings.Contains(m.Subject, "db1.hospital.example") || !strings.Contains(m.Body, "What to do:") || strings.Contains(m.Subject, string(k)) {
			t.Errorf("%s: subject %q, body:\n%s", k, m.Subject, m.Body)
		}
	}
	for _, r := range []backup.Rollback{backup.RollbackNotNeeded, backup.RollbackSucceeded, backup.RollbackFailed} {
		n := failedBackup()
		n.Kind, n.Rollback = backup.NotifyRestoreFailed, r
		m := notify.Compose(n, origin())
		if subjects[m.Subject] || !strings.Contains(m.Body, "Rollback:") {
			t.Errorf("rollback %s: subject %q, body:\n%s", r, m.Subject, m.Body)
		}
		subjects[m.Subject] = true
	}
}
