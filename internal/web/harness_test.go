package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	dumpsqlite "github.com/hmsbackup/hmsbackup/internal/dump/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/hmsbackup/hmsbackup/internal/lock"
	"github.com/hmsbackup/hmsbackup/internal/queue"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"github.com/hmsbackup/hmsbackup/internal/storage/local"
)

// cheapHashes keeps the tests' argon2id fast; production uses DefaultParams.
var cheapHashes = identity.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testServer is the whole web stack on a real catalog, a real engine
// backing up a real SQLite sample database, a real River queue running
// the jobs, and a real HTTP server on a loopback port.
type testServer struct {
	t        testing.TB
	URL      string
	Dir      string
	Catalog  *catalogsqlite.Catalog
	Engine   *engine.Engine
	Identity *identity.Service
	Queue    *queue.Queue
	Server   *Server
	HTTP     *httptest.Server
	nowMu    sync.Mutex
	now      time.Time // the rate limiter's clock, moved by advance
	clock    func() time.Time
	// Logs is everything the server, the engine and the identity service
	// logged (text handler, debug level).
	Logs *logBuffer
}

// logBuffer is a bytes.Buffer safe for the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestServer starts the stack; everything stops when the test ends.
// opts change the web Config before the server is built.
func newTestServer(t testing.TB, opts ...func(*Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dbPath := filepath.Join(dir, "hms.db")
	if err := dumpsqlite.CreateSampleDatabase(ctx, dbPath); err != nil {
		t.Fatal(err)
	}
	cat, err := catalogsqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := local.New(filepath.Join(dir, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	locker, err := lock.New(filepath.Join(dir, "locks"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &engine.Engine{Catalog: cat, Dumper: dumpsqlite.New(dbPath, filepath.Join(dir, "tmp")), Storage: store, Locker: locker,
		Compression: backup.CompressionGzip, Location: time.UTC, StateDir: dir, Logger: logger}
	progress := NewProgress()
	q, err := queue.Open(ctx, queue.Config{CatalogPath: filepath.Join(dir, "catalog.db"), Attempts: 1, RetryDelay: 10 * time.Millisecond,
		// Jobs this process queues start at once; polling only finds other
		// processes' jobs, and polling often burns the CPU the tests need.
		PollInterval: 500 * time.Millisecond,
		Handler: func(ctx context.Context, job queue.Job) error {
			a := engine.Actor{Name: job.Args.Actor, UserID: job.Args.UserID, SourceAddress: job.Args.SourceAddress, UserAgent: job.Args.UserAgent}
			b, err := eng.CreateBackup(ctx, engine.CreateRequest{Source: job.Args.Source, Actor: a, Progress: progress.BackupProgress(job.ID)})
			progress.Finish(job.ID, err)
			if err == nil {
				err = queue.RecordBackup(ctx, b.ID)
			}
			return err
		},
		RestoreHandler: RunRestore(eng, progress),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, Dir: dir, Catalog: cat, Engine: eng, Queue: q, now: time.Now(), Logs: logs}
	ts.clock = func() time.Time {
		ts.nowMu.Lock()
		defer ts.nowMu.Unlock()
		return ts.now
	}
	ts.Identity = identity.New(cat, cat, cheapHashes, logger)
	cfg := Config{Engine: eng, Catalog: cat, Identity: ts.Identity, Jobs: q, Progress: progress,
		Status: func(ctx context.Context) (*Status, error) {
			return &Status{OK: true, MaxBackupAge: "26h0m0s"}, nil
		},
		Sessions: cat.Sessions(), Now: ts.clock, Seal: secret.NewKeyring("", dir), Logger: logger}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = srv
	// The workers start after opts ran: what they changed is seen by them.
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ts.HTTP = httptest.NewServer(srv.Handler(nil))
	ts.URL = ts.HTTP.URL
	t.Cleanup(func() {
		ts.HTTP.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
		q.Close()
		cat.Close()
	})
	return ts
}

// advance moves the rate limiter's clock.
func (ts *testServer) advance(d time.Duration) {
	ts.nowMu.Lock()
	defer ts.nowMu.Unlock()
	ts.now = ts.now.Add(d)
}

// user is a signed-in user: a browser-like client with its session
// cookie, and an API token.
type user struct {
	ts       *testServer
	Name     string
	Role     string
	Password string
	ID       int64
	Browser  *http.Client
	Token    string
}

// addUser creates a user with role and signs it in, and gives it a token.
func (ts *testServer) addUser(name, role string) *user {
	ts.t.Helper()
	ctx := context.Background()
	by := identity.Actor{Name: "test"}
	u, pw, err := ts.Identity.AddUser(ctx, by, name, role, "")
	if err != nil {
		ts.t.Fatal(err)
	}
	_, token, err := ts.Identity.CreateToken(ctx, by, name, "test")
	if err != nil {
		ts.t.Fatal(err)
	}
	us := &user{ts: ts, Name: name, Role: role, Password: pw, ID: u.ID, Token: token, Browser: ts.browser()}
	res := us.signIn(pw)
	// The backups page; 403 there for a role without backups.view.
	if (res.StatusCode != http.StatusOK && res.StatusCode != http.StatusForbidden) || !strings.HasSuffix(res.Request.URL.Path, "/backups") {
		ts.t.Fatalf("sign in as %s: %d at %s", name, res.StatusCode, res.Request.URL)
	}
	return us
}

// browser is an HTTP client that keeps cookies and follows redirects.
func (ts *testServer) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// signIn posts the sign-in form and returns the response (body read).
func (u *user) signIn(password string) *http.Response {
	u.ts.t.Helper()
	res, err := u.Browser.PostForm(u.ts.URL+"/sign-in", url.Values{"name": {u.Name}, "password": {password}})
	if err != nil {
		u.ts.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// submit does a browser request (form values for POST), following
// redirects, and returns the status, the body and the path it ended at.
func (u *user) submit(method, path string, form url.Values) (code int, body, at string) {
	u.ts.t.Helper()
	var in io.Reader
	if form != nil {
		in = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.ts.URL+path, in)
	if err != nil {
		u.ts.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := u.Browser.Do(req)
	if err != nil {
		u.ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		u.ts.t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Request.URL.Path
}

// page is submit without the final path.
func (u *user) page(method, path string, form url.Values) (int, string) {
	u.ts.t.Helper()
	code, body, _ := u.submit(method, path, form)
	return code, body
}

// api does an API request with the user's token; out, if not nil, gets
// the decoded JSON body.
func (u *user) api(method, path string, in, out any) int {
	u.ts.t.Helper()
	return u.ts.apiAs(u.Token, method, path, in, out)
}

func (ts *testServer) apiAs(token, method, path string, in, out any) int {
	ts.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			ts.t.Fatal(err)
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			ts.t.Fatalf("%s %s: %d, body not JSON: %v: %s", method, path, res.StatusCode, err, b)
		}
	}
	return res.StatusCode
}

// backupNow takes a backup directly through the engine (not the web).
func (ts *testServer) backupNow() *backup.Backup {
	ts.t.Helper()
	b, err := ts.Engine.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: engine.Actor{Name: "cli:test"}})
	if err != nil {
		ts.t.Fatal(err)
	}
	return b
}

// waitJob waits for a job to finish.
func (ts *testServer) waitJob(id int64) queue.JobState {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := ts.Queue.WaitFor(ctx, id, 10*time.Millisecond)
	if err != nil {
		ts.t.Fatalf("job %d: %v (%+v)", id, err, st)
	}
	return st
}

// audit returns every audit entry, newest first.
func (ts *testServer) audit() []*backup.AuditEntry {
	ts.t.Helper()
	es, _, err := ts.Catalog.FindAuditEntries(context.Background(), backup.AuditFilter{})
	if err != nil {
		ts.t.Fatal(err)
	}
	return es
}

func copyAll(w io.Writer, r io.Reader) (int64, error) { return io.Copy(w, r) }

// multipart posts form as multipart/form-data, as a browser sends a form
// with enctype="multipart/form-data", and returns the status and body.
func (u *user) multipart(path string, form url.Values) (int, string) {
	u.ts.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				u.ts.t.Fatal(err)
			}
		}
	}
	if err := mw.Close(); err != nil {
		u.ts.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", u.ts.URL+path, &buf)
	if err != nil {
		u.ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := u.Browser.Do(req)
	if err != nil {
		u.ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
