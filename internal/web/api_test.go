package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// req is one request a test sends: with a token (API) or a browser's
// cookies (UI), a user agent, a JSON or form body, extra headers.
type req struct {
	Token  string
	Client *http.Client // default: no cookies, no redirects followed
	UA     string
	JSON   any
	Form   url.Values
	Header http.Header
}

// send does method path with o and returns the response (body read and
// closed) and its body.
func (ts *testServer) send(method, path string, o req) (*http.Response, []byte) {
	ts.t.Helper()
	var body io.Reader
	switch {
	case o.JSON != nil:
		b, err := json.Marshal(o.JSON)
		if err != nil {
			ts.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	case o.Form != nil:
		body = strings.NewReader(o.Form.Encode())
	}
	r, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	switch {
	case o.JSON != nil:
		r.Header.Set("Content-Type", "application/json")
	case o.Form != nil:
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if o.Token != "" {
		r.Header.Set("Authorization", "Bearer "+o.Token)
	}
	if o.UA != "" {
		r.Header.Set("User-Agent", o.UA)
	}
	for k, vs := range o.Header {
		r.Header[k] = vs
	}
	c := o.Client
	if c == nil {
		c = noRedirects(nil)
	}
	res, err := c.Do(r)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return res, b
}

// noRedirects is a client with jar's cookies (none if nil) that shows
// redirects instead of following them.
func noRedirects(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// session is u's browser without following redirects.
func (u *user) session() *http.Client { return noRedirects(u.Browser.Jar) }

// apiErr decodes an API error body, failing the test if it is not one.
func apiErr(t testing.TB, body []byte) apiErrorBody {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an API error {\"error\":{\"code\",\"message\"}}: %v: %s", err, body)
	}
	return e.Error
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// storedBytes is the backup's file as stored.
func (ts *testServer) storedBytes(b *backup.Backup) []byte {
	ts.t.Helper()
	data, err := os.ReadFile(ts.Engine.Storage.Path(b.Filename))
	if err != nil {
		ts.t.Fatal(err)
	}
	return data
}

// auditByUA is the audit entries a request with user agent ua left.
func (ts *testServer) auditByUA(ua string) []*backup.AuditEntry {
	ts.t.Helper()
	var out []*backup.AuditEntry
	for _, e := range ts.audit() {
		if e.UserAgent == ua {
			out = append(out, e)
		}
	}
	return out
}

func TestAPIOpenAPIIsOpenAPI3(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.send("GET", "/api/v1/openapi.json", req{})
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json without a token: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Title string }    `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Info.Title == "" || len(doc.Paths) == 0 {
		t.Fatalf("not an OpenAPI 3 document: openapi %q, title %q, %d paths", doc.OpenAPI, doc.Info.Title, len(doc.Paths))
	}
	if !bytes.Equal(body, openAPI) {
		t.Fatal("GET /api/v1/openapi.json is not the embedded document")
	}
}

// registeredPattern is the pattern the server's mux serves method path
// with ("" or a catch-all when none).
func registeredPattern(s *Server, method, path string) string {
	mux := http.NewServeMux()
	s.routes(mux)
	_, pattern := mux.Handler(httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "1"), nil))
	return pattern
}

// Every route the API registers is in openapi.json with its method, and
// every method and path of openapi.json is registered on the mux.
func TestAPIOpenAPIMatchesRegisteredRoutes(t *testing.T) {
	ts := newTestServer(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	registered := map[string]bool{}
	for _, rt := range ts.Server.apiRouteTable() {
		p := rt.Pattern()
		registered[p] = true
		if !documented[p] {
			t.Errorf("route %s is registered but not in openapi.json", p)
		}
		if got := registeredPattern(ts.Server, rt.Method, rt.Path); got != p {
			t.Errorf("route %s of the table is not on the mux: %s %s goes to %q", p, rt.Method, rt.Path, got)
		}
	}
	for p := range documented {
		method, path, _ := strings.Cut(p, " ")
		got := registeredPattern(ts.Server, method, path)
		switch {
		case got == p && !registered[p]:
			t.Errorf("%s is on the mux but not in apiRouteTable: register API routes from the table", p)
		case got != p:
			t.Errorf("openapi.json describes %s, but the mux sends it to %q", p, got)
		}
	}
	// Through the real handler: every protected route answers 401 without
	// a token (so it exists), the description 200.
	for _, rt := range ts.Server.apiRouteTable() {
		res, body := ts.send(rt.Method, strings.ReplaceAll(rt.Path, "{id}", "1"), req{})
		want := http.StatusUnauthorized
		if rt.Public != nil {
			want = http.StatusOK
		}
		if res.StatusCode != want {
			t.Errorf("%s without a token: %d, want %d: %s", rt.Pattern(), res.StatusCode, want, body)
		}
		if want == http.StatusUnauthorized && apiErr(t, body).Code != backup.EUNAUTHORIZED {
			t.Errorf("%s without a token: %s", rt.Pattern(), body)
		}
	}
}

func TestAPICreateBackupQueuesAJobAndAnswers409WhileOneRuns(t *testing.T) {
	// Jobs wait for the database's lock, so a test can hold one running.
	ts := newTestServer(t, func(c *Config) { c.Engine.LockWait = 30 * time.Second })
	admin := ts.addUser("alice", "admin")

	held, err := ts.Engine.Locker.Acquire(t.Context(), ts.Engine.Dumper.Info().Key, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	res, body := ts.send("POST", "/api/v1/backups", req{Token: admin.Token, UA: "create-1"})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/v1/backups: %d %s", res.StatusCode, body)
	}
	var job JobView
	if err := json.Unmarshal(body, &job); err != nil || job.ID == 0 || job.Kind != "backup" {
		t.Fatalf("202 body: %v %s", err, body)
	}
	if loc := res.Header.Get("Location"); loc != "/api/v1/jobs/"+id(job.ID) {
		t.Fatalf("Location %q, want /api/v1/jobs/%d", loc, job.ID)
	}
	// While it is queued or running: 409 for another backup and a restore.
	res, body = ts.send("POST", "/api/v1/backups", req{Token: admin.Token, UA: "create-2"})
	if res.StatusCode != http.StatusConflict || apiErr(t, body).Code != backup.EBUSY || !strings.Contains(string(body), "job "+id(job.ID)) {
		t.Fatalf("a second backup while job %d runs: %d %s", job.ID, res.StatusCode, body)
	}
	if es := ts.auditByUA("create-2"); len(es) != 1 || es[0].Outcome != "failure" || es[0].Action != backup.ActionCreate {
		t.Fatalf("the refused backup's audit: %+v", es)
	}
	old := ts.completedRecord()
	res, body = ts.send("POST", "/api/v1/backups/"+id(old.ID)+"/restore", req{Token: admin.Token, JSON: map[string]string{"confirm": "hms"}})
	if res.StatusCode != http.StatusConflict || apiErr(t, body).Code != backup.EBUSY {
		t.Fatalf("a restore while a backup job runs: %d %s", res.StatusCode, body)
	}

	held.Release()
	st := ts.waitJob(job.ID)
	if st.State != "completed" || st.BackupID == 0 {
		t.Fatalf("backup job: %+v", st)
	}
	var view JobView
	if code := admin.api("GET", "/api/v1/jobs/"+id(job.ID), nil, &view); code != 200 || view.State != "completed" || !view.Finished || view.BackupID != st.BackupID {
		t.Fatalf("GET job after the end: %d %+v", code, view)
	}
	var b backup.Backup
	if code := admin.api("GET", "/api/v1/backups/"+id(st.BackupID), nil, &b); code != 200 || b.CreatedBy != "alice" || b.Source != backup.SourceManualUI || b.Status != backup.StatusCompleted {
		t.Fatalf("the backup the API made: %d %+v", code, b)
	}
	es := ts.auditByUA("create-1")
	if len(es) != 1 || es[0].Action != backup.ActionCreate || es[0].Outcome != "success" || es[0].UserID == nil || *es[0].UserID != admin.ID ||
		es[0].BackupID == nil || *es[0].BackupID != st.BackupID || es[0].SourceAddress != "127.0.0.1" {
		t.Fatalf("audit of the API's backup: %+v", es)
	}
	// Idle again: a backup may be queued.
	if res, body := ts.send("POST", "/api/v1/backups", req{Token: admin.Token}); res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/v1/backups when idle: %d %s", res.StatusCode, body)
	} else {
		var j JobView
		_ = json.Unmarshal(body, &j)
		ts.waitJob(j.ID)
	}
}

// completedRecord puts a completed backup's record (no file) straight in
// the catalog, for a test that needs one while the database's lock is
// held.
func (ts *testServer) completedRecord() *backup.Backup {
	ts.t.Helper()
	b := &backup.Backup{Filename: fmt.Sprintf("hms_backup_test_%d.sqlite.gz", time.Now().UnixNano()), Status: backup.StatusCompleted,
		Source: backup.SourceManualCLI, CreatedBy: "cli:test", DBName: "hms", DBEngine: "sqlite", SHA256: strings.Repeat("0", 64),
		FileSize: 1, IsLocal: true, Compression: backup.CompressionGzip, Integrity: backup.IntegrityUnverified}
	if err := ts.Catalog.CreateBackup(context.Background(), b); err != nil {
		ts.t.Fatal(err)
	}
	return b
}

func TestAPIAnswers409WhileABackupIsWrittenOrARestoreRunsOutsideTheQueue(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	done := ts.backupNow()
	// A CLI `hmsbackup create` in another process: a pending record.
	pending := &backup.Backup{Filename: "hms_backup_pending.sqlite.gz", Status: backup.StatusPending, Source: backup.SourceManualCLI,
		CreatedBy: "cli:bob", Compression: backup.CompressionGzip, Integrity: backup.IntegrityUnverified}
	if err := ts.Catalog.CreateBackup(t.Context(), pending); err != nil {
		t.Fatal(err)
	}
	res, body := ts.send("POST", "/api/v1/backups", req{Token: admin.Token})
	if res.StatusCode != http.StatusConflict || !strings.Contains(apiErr(t, body).Message, "cli:bob") {
		t.Fatalf("backup while a CLI backup is written: %d %s", res.StatusCode, body)
	}
	res, body = ts.send("POST", "/api/v1/backups/"+id(done.ID)+"/restore", req{Token: admin.Token, JSON: restoreRequest{Confirm: "hms"}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("restore while a CLI backup is written: %d %s", res.StatusCode, body)
	}
	// DELETE of the pending one: the engine says it is being written.
	res, body = ts.send("DELETE", "/api/v1/backups/"+id(pending.ID), req{Token: admin.Token})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("delete of a pending backup: %d %s", res.StatusCode, body)
	}
	pending.Status, pending.ErrorMessage = backup.StatusFailed, "killed"
	if err := ts.Catalog.UpdateBackup(t.Context(), pending); err != nil {
		t.Fatal(err)
	}
	// A CLI restore in another process holds the engine's marker.
	ts.holdRestoreMarker(done.ID)
	res, body = ts.send("POST", "/api/v1/backups", req{Token: admin.Token})
	if res.StatusCode != http.StatusConflict || !strings.Contains(apiErr(t, body).Message, "restore of backup "+id(done.ID)) {
		t.Fatalf("backup while a restore runs: %d %s", res.StatusCode, body)
	}
}

// holdRestoreMarker makes the engine see a restore of backup id running
// (its marker, locked) until the test ends, as a CLI restore does.
func (ts *testServer) holdRestoreMarker(backupID int64) {
	ts.t.Helper()
	m := fmt.Sprintf(`{"backup_id":%d,"database":"hms","started_at":"%s"}`, backupID, time.Now().UTC().Format(time.RFC3339))
	path := ts.Dir + "/restore-in-progress.json"
	if err := os.WriteFile(path, []byte(m), 0o600); err != nil {
		ts.t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		ts.t.Fatal(err)
	}
	if err := flockExclusive(f); err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { f.Close(); os.Remove(path) })
	if r, err := ts.Engine.InterruptedRestore(); err != nil || r == nil || !r.Running {
		ts.t.Fatalf("the engine does not see the restore running: %+v %v", r, err)
	}
}

func TestAPIDeleteProtectUnprotect(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	b := ts.backupNow()
	path := "/api/v1/backups/" + id(b.ID)

	var got backup.Backup
	if code := admin.api("POST", path+"/protect", nil, &got); code != 200 || !got.IsProtected || got.ID != b.ID {
		t.Fatalf("protect: %d %+v", code, got)
	}
	res, body := ts.send("DELETE", path, req{Token: admin.Token})
	if res.StatusCode != http.StatusConflict || apiErr(t, body).Code != backup.ECONFLICT || !strings.Contains(string(body), "protected") {
		t.Fatalf("delete of a protected backup: %d %s", res.StatusCode, body)
	}
	if _, err := os.Stat(ts.Engine.Storage.Path(b.Filename)); err != nil {
		t.Fatalf("the protected backup's file: %v", err)
	}
	if code := admin.api("POST", path+"/unprotect", nil, &got); code != 200 || got.IsProtected {
		t.Fatalf("unprotect: %d %+v", code, got)
	}
	if code := admin.api("DELETE", path, nil, &got); code != 200 || got.ID != b.ID {
		t.Fatalf("delete: %d %+v", code, got)
	}
	if _, err := os.Stat(ts.Engine.Storage.Path(b.Filename)); !os.IsNotExist(err) {
		t.Fatalf("the deleted backup's file is still there: %v", err)
	}
	for _, r := range []struct{ method, path string }{{"GET", path}, {"DELETE", path}, {"POST", path + "/protect"},
		{"POST", path + "/unprotect"}, {"GET", path + "/download"}, {"GET", "/api/v1/jobs/999999"}} {
		res, body := ts.send(r.method, r.path, req{Token: admin.Token})
		if res.StatusCode != http.StatusNotFound || apiErr(t, body).Code != backup.ENOTFOUND {
			t.Errorf("%s %s of a deleted backup: %d %s", r.method, r.path, res.StatusCode, body)
		}
	}
	var actions []string
	for _, e := range ts.audit() {
		if e.UserID != nil && *e.UserID == admin.ID && e.BackupID != nil && *e.BackupID == b.ID {
			actions = append(actions, string(e.Action)+":"+e.Outcome)
		}
	}
	slices.Reverse(actions)
	want := []string{"protect:success", "delete:failure", "unprotect:success", "delete:success",
		"view:failure", "delete:failure", "protect:failure", "unprotect:failure", "download:failure"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit of backup %d:\n got %v\nwant %v", b.ID, actions, want)
	}
}

func TestAPIDownloadIsTheStoredBytesWithRanges(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	b := ts.backupNow()
	want := ts.storedBytes(b)
	res, body := ts.send("GET", "/api/v1/backups/"+id(b.ID)+"/download", req{Token: admin.Token, UA: "dl-full"})
	if res.StatusCode != 200 || !bytes.Equal(body, want) || res.Header.Get("X-Checksum-SHA256") != b.SHA256 ||
		!strings.Contains(res.Header.Get("Content-Disposition"), b.Filename) {
		t.Fatalf("download: %d, %d bytes, want %d", res.StatusCode, len(body), len(want))
	}
	res, body = ts.send("GET", "/api/v1/backups/"+id(b.ID)+"/download", req{Token: admin.Token, UA: "dl-range",
		Header: http.Header{"Range": {"bytes=10-29"}}})
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(body, want[10:30]) {
		t.Fatalf("range download: %d, %q", res.StatusCode, body)
	}
	for _, ua := range []string{"dl-full", "dl-range"} {
		if es := ts.auditByUA(ua); len(es) != 1 || es[0].Action != backup.ActionDownload || es[0].BackupID == nil || *es[0].BackupID != b.ID {
			t.Fatalf("audit of download %s: %+v", ua, es)
		}
	}
	// A failed backup cannot be downloaded: 409.
	failed := &backup.Backup{Filename: "hms_backup_failed.sqlite.gz", Status: backup.StatusFailed, Source: backup.SourceManualCLI,
		CreatedBy: "cli:x", ErrorMessage: "boom", Compression: backup.CompressionGzip, Integrity: backup.IntegrityUnverified}
	if err := ts.Catalog.CreateBackup(t.Context(), failed); err != nil {
		t.Fatal(err)
	}
	res, body = ts.send("GET", "/api/v1/backups/"+id(failed.ID)+"/download", req{Token: admin.Token})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("download of a failed backup: %d %s", res.StatusCode, body)
	}
	// The same for a restore of it.
	res, body = ts.send("POST", "/api/v1/backups/"+id(failed.ID)+"/restore", req{Token: admin.Token, JSON: restoreRequest{Confirm: "hms"}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("restore of a failed backup: %d %s", res.StatusCode, body)
	}
}

func TestAPIRestoreNeedsTheDatabaseName(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	b := ts.backupNow()
	path := "/api/v1/backups/" + id(b.ID) + "/restore"
	for _, body := range []any{map[string]string{"confirm": "HMS"}, map[string]string{}, map[string]string{"confirm": "hms2"}} {
		res, out := ts.send("POST", path, req{Token: admin.Token, JSON: body})
		if e := apiErr(t, out); res.StatusCode != http.StatusUnprocessableEntity || e.Field != "confirm" || e.Code != backup.EINVALID {
			t.Fatalf("restore with %v: %d %s", body, res.StatusCode, out)
		}
	}
	res, out := ts.send("POST", path, req{Token: admin.Token, Header: http.Header{"Content-Type": {"application/json"}}, Form: url.Values{"x": {"{"}}})
	if res.StatusCode != http.StatusUnprocessableEntity || apiErr(t, out).Field != "confirm" {
		t.Fatalf("restore with a body that is not JSON: %d %s", res.StatusCode, out)
	}
	res, out = ts.send("POST", path, req{Token: admin.Token, JSON: restoreRequest{Confirm: "hms"}, UA: "restore-ok"})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("restore: %d %s", res.StatusCode, out)
	}
	var job JobView
	if err := json.Unmarshal(out, &job); err != nil || job.Kind != "restore" || job.BackupID != b.ID || res.Header.Get("Location") != "/api/v1/jobs/"+id(job.ID) {
		t.Fatalf("restore's 202: %v %s (Location %s)", err, out, res.Header.Get("Location"))
	}
	if st := ts.waitJob(job.ID); st.State != "completed" {
		t.Fatalf("restore job: %+v", st)
	}
	var view JobView
	if code := admin.api("GET", "/api/v1/jobs/"+id(job.ID), nil, &view); code != 200 || view.Restore == nil || view.Restore.BackupID != b.ID ||
		view.Restore.PreRestoreID == 0 || view.Restore.Error != "" || view.State != "completed" {
		t.Fatalf("restore job's outcome: %d %+v", code, view)
	}
	es := ts.auditByUA("restore-ok")
	var restores int
	for _, e := range es {
		if e.Action == backup.ActionRestore && e.Outcome == "success" && *e.BackupID == b.ID && *e.UserID == admin.ID {
			restores++
		}
	}
	if restores != 1 {
		t.Fatalf("audit of the API restore: %+v", es)
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	ts := newTestServer(t)
	viewer := ts.addUser("vera", "viewer")
	b := ts.backupNow()
	cases := []struct {
		name, method, path, token string
		status                    int
		code                      string
	}{
		{"no token", "GET", "/api/v1/backups", "", 401, backup.EUNAUTHORIZED},
		{"a made-up token", "GET", "/api/v1/backups", "hms_notatoken", 401, backup.EUNAUTHORIZED},
		{"without the permission", "DELETE", "/api/v1/backups/" + id(b.ID), viewer.Token, 403, backup.EFORBIDDEN},
		{"unknown backup", "GET", "/api/v1/backups/424242", viewer.Token, 404, backup.ENOTFOUND},
		{"unknown route", "GET", "/api/v1/nothing", viewer.Token, 404, backup.ENOTFOUND},
		{"bad page", "GET", "/api/v1/backups?page=x", viewer.Token, 422, backup.EINVALID},
	}
	for _, c := range cases {
		res, body := ts.send(c.method, c.path, req{Token: c.token})
		if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s, want %d JSON", c.name, res.StatusCode, res.Header.Get("Content-Type"), c.status)
			continue
		}
		if e := apiErr(t, body); e.Code != c.code {
			t.Errorf("%s: code %q, want %q", c.name, e.Code, c.code)
		}
		if c.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
	res, body := ts.send("GET", "/api/v1/backups?per_page=0", req{Token: viewer.Token})
	if res.StatusCode != 422 || apiErr(t, body).Field != "per_page" {
		t.Fatalf("per_page=0: %d %s", res.StatusCode, body)
	}
	var st Status
	if code := viewer.api("GET", "/api/v1/status", nil, &st); code != 200 || !st.OK {
		t.Fatalf("status: %d %+v", code, st)
	}
}

// flockExclusive locks f as the engine's restore marker is locked.
func flockExclusive(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }
