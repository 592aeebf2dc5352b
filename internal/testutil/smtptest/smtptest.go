// Package smtptest runs a real SMTP server (emersion/go-smtp) on the
// loopback interface for tests, keeping every message it accepted: plain,
// STARTTLS or implicit TLS with a certificate made for it, with or without
// AUTH PLAIN.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/hmsbackup/hmsbackup/internal/notify"
)

// T is what Start needs of a test: a *testing.T, or a rapid case with
// clean-ups.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Options say how the server behaves.
type Options struct {
	// TLS is how it is reached: "none" (plain), "starttls" (advertised,
	// and AUTH is refused before it) or "tls" (TLS from the first byte).
	TLS notify.TLSMode
	// Username and Password, if set, are required (AUTH PLAIN) before MAIL.
	Username, Password string
	// RejectRcpt, if set, refuses the recipients it returns true for.
	RejectRcpt func(addr string) bool
}

// Message is one mail the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	// User is who authenticated ("" if nobody), TLS whether the session
	// was encrypted.
	User string
	TLS  bool
}

// Server is a running SMTP server.
type Server struct {
	Host    string // 127.0.0.1
	Port    int
	RootCAs *x509.CertPool // trusts the server's certificate
	opts    Options
	srv     *smtp.Server

	mu       sync.Mutex
	messages []Message
	authFail int
}

// Start runs a server until the test ends.
func Start(t T, opts Options) *Server {
	t.Helper()
	if opts.TLS == "" {
		opts.TLS = notify.TLSNone
	}
	cert, pool, err := certificate()
	if err != nil {
		t.Fatalf("smtptest: make certificate: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, RootCAs: pool, opts: opts}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch opts.TLS {
	case notify.TLSStartTLS:
		srv.TLSConfig = tlsConfig
	case notify.TLSImplicit:
		ln = tls.NewListener(ln, tlsConfig)
	default:
		srv.AllowInsecureAuth = true // a relay on this host
	}
	s.srv = srv
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	// Closing the listener too: Serve may not have registered it with
	// the server yet when a test ends early.
	t.Cleanup(func() { srv.Close(); ln.Close(); <-done })
	return s
}

// Config is an SMTP configuration that reaches s as from.
func (s *Server) Config(from string) notify.SMTPConfig {
	return notify.SMTPConfig{Host: s.Host, Port: s.Port, Username: s.opts.Username, Password: s.opts.Password,
		From: from, TLS: s.opts.TLS, RootCAs: s.RootCAs, Timeout: 10 * time.Second}
}

// Messages returns what the server accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// AuthFailures counts refused AUTH attempts.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFail
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	msg  Message
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			ss.s.mu.Lock()
			ss.s.authFail++
			ss.s.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.msg = Message{From: from, User: ss.user, TLS: isTLS}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.opts.RejectRcpt != nil && ss.s.opts.RejectRcpt(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox: " + to}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.Data = data
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, ss.msg)
	ss.s.mu.Unlock()
	ss.msg = Message{From: ss.msg.From, User: ss.msg.User, TLS: ss.msg.TLS}
	return nil
}

func (ss *session) Reset()        { ss.msg = Message{User: ss.user} }
func (ss *session) Logout() error { return nil }

// Parsed is a mail read back: its decoded headers and text body.
type Parsed struct {
	Header  mail.Header
	Subject string // decoded
	Body    string // decoded from its transfer encoding
}

// Parse decodes a message's subject and body.
func (m Message) Parse() (Parsed, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return Parsed{}, fmt.Errorf("read message: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Parsed{}, fmt.Errorf("decode subject: %w", err)
	}
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		return Parsed{}, errors.New("base64 bodies are not decoded")
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Parsed{}, fmt.Errorf("read body: %w", err)
	}
	return Parsed{Header: msg.Header, Subject: subject, Body: strings.ReplaceAll(string(b), "\r\n", "\n")}, nil
}

// certificate makes a self-signed certificate for 127.0.0.1 and localhost
// and a pool that trusts it.
func certificate() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
