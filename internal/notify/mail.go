package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// TLSMode is how the connection to the SMTP server is protected.
type TLSMode string

const (
	// TLSStartTLS connects in plain text and must upgrade with STARTTLS
	// before anything else is said (port 587 by default).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts (port 25): for a relay on this host.
	TLSNone TLSMode = "none"
)

// ParseTLSMode accepts starttls (also ""), tls and none.
func ParseTLSMode(s string) (TLSMode, error) {
	switch m := TLSMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return TLSStartTLS, nil
	case TLSStartTLS, TLSImplicit, TLSNone:
		return m, nil
	}
	return "", fmt.Errorf("%q is not a TLS mode: use starttls, tls or none", s)
}

// DefaultPort is the port of a mode: 587, 465 or 25.
func (m TLSMode) DefaultPort() int {
	switch m {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	}
	return 587
}

// SMTPConfig says how mail leaves this host. Password is a secret: String
// and LogValue leave it out, and nothing here puts it in an error.
type SMTPConfig struct {
	Host     string
	Port     int // 0: the TLS mode's default port
	Username string
	Password string
	From     string  // an address, optionally with a name: "HMS Backup <backup@hospital.org>"
	TLS      TLSMode // "": starttls
	// RootCAs, if set, are the certificate authorities the server's
	// certificate must come from (tests, private CAs); nil: the system's.
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each SMTP command; 0: 30s.
	Timeout time.Duration
}

// Configured reports whether a server is set at all.
func (c SMTPConfig) Configured() bool { return c.Host != "" }

// String describes the configuration without its password.
func (c SMTPConfig) String() string {
	s := fmt.Sprintf("smtp %s port %d (%s) from %s", c.Host, c.port(), c.mode(), c.From)
	if c.Username != "" {
		s += " as " + c.Username
	}
	return s
}

// LogValue logs the configuration without its password.
func (c SMTPConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (c SMTPConfig) mode() TLSMode {
	if c.TLS == "" {
		return TLSStartTLS
	}
	return c.TLS
}

func (c SMTPConfig) port() int {
	if c.Port == 0 {
		return c.mode().DefaultPort()
	}
	return c.Port
}

// Validate says what is wrong with a configuration that is set, naming
// the setting; the password is never in its errors.
func (c SMTPConfig) Validate() error {
	if c.Host == "" {
		return errors.New("host is not set")
	}
	if err := CheckHost(c.Host); err != nil {
		return err
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port %d is not a port number (1-65535)", c.Port)
	}
	if _, err := ParseTLSMode(string(c.TLS)); err != nil {
		return err
	}
	if c.From == "" {
		return errors.New("from is not set: give the sender address, e.g. backup@hospital.org")
	}
	if err := ValidAddress(c.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("a password is set but no username")
	}
	if c.Username != "" && c.mode() == TLSNone && !isLoopback(c.Host) {
		return fmt.Errorf("a username is set with TLS mode none on %s, which would send the password unencrypted over the network: use starttls or tls (or no username for a relay on this host)", c.Host)
	}
	return nil
}

// CheckHost says whether h can be an SMTP server's host: a name or an IP
// address, without a port.
func CheckHost(h string) error {
	if h == "" || (strings.ContainsAny(h, " /:@") && net.ParseIP(h) == nil) {
		return fmt.Errorf("host %q is not a host name or IP address (give the port separately)", h)
	}
	return nil
}

// ValidAddress checks an e-mail address ("a@b.org" or "Name <a@b.org>").
func ValidAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Errorf("%q is not an e-mail address", s)
	}
	if at := strings.LastIndex(a.Address, "@"); at <= 0 || at == len(a.Address)-1 {
		return fmt.Errorf("%q is not an e-mail address", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Mail sends each notification as one e-mail to each recipient, all over
// one SMTP connection. Recipients are read at every send, so a change of
// the settings applies at once.
type Mail struct {
	SMTP SMTPConfig
	// Recipients returns the addresses to write to (the settings'
	// notification_emails).
	Recipients func(ctx context.Context) ([]string, error)
	Origin     Origin
}

var _ Channel = (*Mail)(nil)

// Name is "mail".
func (m *Mail) Name() string { return "mail" }

// Delivery is what became of the mail to one recipient.
type Delivery struct {
	To  string
	Err error // nil: the server accepted it
}

// Notify mails n to every recipient. No recipients: nothing to do. It
// fails (a *ChannelError naming "mail" and the recipients it failed for)
// when the recipients cannot be read, when there are recipients but no
// SMTP server is configured, or when a mail was not accepted.
func (m *Mail) Notify(ctx context.Context, n backup.Notification) error {
	to, err := m.Recipients(ctx)
	if err != nil {
		return &ChannelError{Channel: m.Name(), Err: fmt.Errorf("read the recipients (notification_emails): %w", err)}
	}
	if len(to) == 0 {
		return nil
	}
	if err := Failed(m.Deliver(ctx, n, to)); err != nil {
		return &ChannelError{Channel: m.Name(), Err: err}
	}
	return nil
}

// Failed joins the failed deliveries into one error naming the
// recipients ("mail to a@x.org, b@y.org failed: ..."); nil if all were
// accepted.
func Failed(ds []Delivery) error {
	var order []string
	byErr := map[string][]string{}
	for _, d := range ds {
		if d.Err == nil {
			continue
		}
		msg := d.Err.Error()
		if _, ok := byErr[msg]; !ok {
			order = append(order, msg)
		}
		byErr[msg] = append(byErr[msg], d.To)
	}
	var errs []error
	for _, msg := range order {
		errs = append(errs, fmt.Errorf("mail to %s failed: %s", strings.Join(byErr[msg], ", "), msg))
	}
	return errors.Join(errs...)
}

// Deliver sends n to each address in to, one message each, and says what
// became of each. A connection that cannot be made fails them all.
func (m *Mail) Deliver(ctx context.Context, n backup.Notification, to []string) []Delivery {
	ds := make([]Delivery, len(to))
	for i, addr := range to {
		ds[i].To = addr
	}
	failAll := func(err error) []Delivery {
		for i := range ds {
			if ds[i].Err == nil {
				ds[i].Err = err
			}
		}
		return ds
	}
	if !m.SMTP.Configured() {
		return failAll(errors.New("no SMTP server is configured: set HMSBACKUP_SMTP_HOST and HMSBACKUP_SMTP_FROM"))
	}
	if err := m.SMTP.Validate(); err != nil {
		return failAll(fmt.Errorf("SMTP settings: %w", err))
	}
	msg := Compose(n, m.Origin)
	var msgs []*gomail.Msg
	var idx []int
	for i, addr := range to {
		mm, err := m.message(msg, addr)
		if err != nil {
			ds[i].Err = err
			continue
		}
		msgs, idx = append(msgs, mm), append(idx, i)
	}
	if len(msgs) == 0 {
		return ds
	}
	client, err := m.client()
	if err != nil {
		return failAll(err)
	}
	if err := client.DialWithContext(ctx); err != nil {
		return failAll(fmt.Errorf("connect to SMTP server %s:%d (%s): %w", m.SMTP.Host, m.SMTP.port(), m.SMTP.mode(), err))
	}
	defer client.Close()
	_ = client.Send(msgs...) // each message keeps its own error
	for j, mm := range msgs {
		if err := mm.SendError(); err != nil {
			ds[idx[j]].Err = fmt.Errorf("SMTP server %s: %w", m.SMTP.Host, err)
		}
	}
	return ds
}

// message builds the mail of msg to one recipient.
func (m *Mail) message(msg Message, to string) (*gomail.Msg, error) {
	if err := ValidAddress(to); err != nil {
		return nil, err
	}
	mm := gomail.NewMsg()
	if err := mm.From(m.SMTP.From); err != nil {
		return nil, fmt.Errorf("sender %q: %w", m.SMTP.From, err)
	}
	if err := mm.To(to); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", to, err)
	}
	mm.Subject(msg.Subject)
	mm.SetDateWithValue(msg.Time)
	mm.SetMessageID()
	mm.SetUserAgent("hmsbackup")
	// Automatic mail: no out-of-office replies to it (RFC 3834).
	mm.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	mm.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	mm.SetBodyString(gomail.TypeTextPlain, msg.Body)
	return mm, nil
}

// client makes a go-mail client for the configuration.
func (m *Mail) client() (*gomail.Client, error) {
	c := m.SMTP
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []gomail.Option{
		gomail.WithPort(c.port()),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: c.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch c.mode() {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if c.Username != "" {
		if c.mode() == TLSNone {
			// Only on this host (Validate): a relay may take PLAIN there.
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc))
		} else {
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		}
		opts = append(opts, gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("set up the SMTP client for %s:%s: %w", c.Host, strconv.Itoa(c.port()), err)
	}
	return client, nil
}
