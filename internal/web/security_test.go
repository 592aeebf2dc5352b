package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/hmsbackup/hmsbackup/internal/secret"
	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

// A state-changing request from another site (a browser sends
// Sec-Fetch-Site: cross-site, or an Origin of the other site) is refused
// with 403 on every POST route of the UI and the API, changes nothing, and
// is audited; the same request from this site goes through.
func TestWebSecurityCrossOriginPostsAreRefusedAndChangeNothing(t *testing.T) {
	ts, admin, backups, _ := fixtures(t)
	var posts []webRoute
	for _, r := range ts.registeredRoutes() {
		if r.Method != "GET" {
			posts = append(posts, r)
		}
	}
	posts = append(posts, webRoute{Method: "POST", Path: "/sign-out"}, webRoute{Method: "POST", Path: "/sign-in"})
	if len(posts) < 10 {
		t.Fatalf("only %d state-changing routes: %v", len(posts), posts)
	}
	evil := []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}},
		{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}},
	}
	before := ts.state(true)
	n := 0
	for _, r := range posts {
		for _, h := range evil {
			n++
			ua := fmt.Sprintf("cross-origin-%d", n)
			path := strings.ReplaceAll(r.Path, "{id}", id(backups[0]))
			o := req{Client: admin.session(), UA: ua, Header: h, Form: url.Values{"confirm": {"hms"}, "name": {admin.Name}, "password": {admin.Password}}}
			if r.API {
				o = req{Token: admin.Token, UA: ua, Header: h, JSON: restoreRequest{Confirm: "hms"}}
			}
			res, body := ts.send(r.Method, path, o)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s with %v: %d, want 403: %.200s", r, h, res.StatusCode, body)
			}
			if es := ts.auditByUA(ua); len(es) != 1 || es[0].Outcome != "denied" || !strings.Contains(es[0].Details, "cross-origin") {
				t.Errorf("%s with %v: audit %+v, want one denied entry", r, h, es)
			}
		}
	}
	if d := before.diff(ts.state(true)); d != "" {
		t.Fatalf("refused cross-origin requests changed: %s", d)
	}
	if res, _ := ts.send("GET", "/backups", req{Client: admin.session()}); res.StatusCode != 200 {
		t.Fatalf("the cross-origin sign-out signed out: %d", res.StatusCode)
	}
	// From this site: it works.
	res, _ := ts.send("POST", "/backups/"+id(backups[0])+"/protect", req{Client: admin.session(), Form: url.Values{},
		Header: http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {ts.URL}}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a same-origin protect: %d", res.StatusCode)
	}
}

// sessionCookie is the session cookie a response sets, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "hmsbackup_session" {
			return c
		}
	}
	return nil
}

// A session id planted before sign-in, or the id of an earlier session,
// is worthless after it: sign-in issues a new one.
func TestWebSecuritySessionIDChangesAtSignIn(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.addUser("alice", "viewer")
	bob := ts.addUser("bob", "viewer")
	u, _ := url.Parse(ts.URL)

	// Planted: an attacker's id set in the victim's browser.
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, []*http.Cookie{{Name: "hmsbackup_session", Value: "planted-by-the-attacker-0123456789abcdefghij"}})
	res, _ := ts.send("POST", "/sign-in", req{Client: noRedirects(jar), Form: url.Values{"name": {"alice"}, "password": {alice.Password}}})
	c := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || c == nil || c.Value == "" || strings.Contains(c.Value, "planted") {
		t.Fatalf("sign-in with a planted id: %d, cookie %+v", res.StatusCode, c)
	}
	attacker, _ := cookiejar.New(nil)
	attacker.SetCookies(u, []*http.Cookie{{Name: "hmsbackup_session", Value: "planted-by-the-attacker-0123456789abcdefghij"}})
	if res, _ := ts.send("GET", "/backups", req{Client: noRedirects(attacker)}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the planted id after the victim's sign-in: %d, want a redirect to sign in", res.StatusCode)
	}

	// A real session, then a sign-in in the same browser: a new id, and
	// the old one is dead.
	old := jar.Cookies(u)[0].Value
	res, _ = ts.send("POST", "/sign-in", req{Client: noRedirects(jar), Form: url.Values{"name": {"bob"}, "password": {bob.Password}}})
	c = sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || c == nil || c.Value == old {
		t.Fatalf("second sign-in: %d, cookie %+v, old %q", res.StatusCode, c, old)
	}
	stale, _ := cookiejar.New(nil)
	stale.SetCookies(u, []*http.Cookie{{Name: "hmsbackup_session", Value: old}})
	if res, _ := ts.send("GET", "/backups", req{Client: noRedirects(stale)}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session id from before the sign-in still works: %d", res.StatusCode)
	}
	// Sign-out ends the session for good.
	cur := c.Value
	if res, _ := ts.send("POST", "/sign-out", req{Client: noRedirects(jar), Form: url.Values{}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	after, _ := cookiejar.New(nil)
	after.SetCookies(u, []*http.Cookie{{Name: "hmsbackup_session", Value: cur}})
	if res, _ := ts.send("GET", "/backups", req{Client: noRedirects(after)}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session id after sign-out still works: %d", res.StatusCode)
	}
}

func TestWebSecuritySessionCookieIsHttpOnlySameSiteLaxAndSecureWhenConfigured(t *testing.T) {
	for _, secure := range []bool{false, true} {
		ts := newTestServer(t, func(c *Config) { c.Secure = secure })
		if _, _, err := ts.Identity.AddUser(t.Context(), identity.Actor{Name: "test"}, "alice", "viewer", "correct-horse-battery-9"); err != nil {
			t.Fatal(err)
		}
		res, _ := ts.send("POST", "/sign-in", req{Form: url.Values{"name": {"alice"}, "password": {"correct-horse-battery-9"}}})
		c := sessionCookie(res)
		if res.StatusCode != http.StatusSeeOther || c == nil {
			t.Fatalf("secure=%v: sign-in %d, cookie %v", secure, res.StatusCode, c)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
			t.Errorf("secure=%v: cookie %q: HttpOnly %v SameSite %v Secure %v Path %q", secure, res.Header.Get("Set-Cookie"), c.HttpOnly, c.SameSite, c.Secure, c.Path)
		}
		if hsts := res.Header.Get("Strict-Transport-Security"); (hsts != "") != secure {
			t.Errorf("secure=%v: HSTS %q", secure, hsts)
		}
	}
}

var (
	scriptTag     = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	inlineHandler = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
)

// Every response, page or API, allowed or refused, carries the security
// headers; pages have no inline script for the CSP to allow.
func TestWebSecurityHeadersOnPagesAndAPI(t *testing.T) {
	ts, admin, backups, jobID := fixtures(t)
	viewer := ts.addUser("vera", "viewer")
	b := id(backups[0])
	cases := []struct {
		name, method, path string
		o                  req
	}{
		{"sign-in page", "GET", "/sign-in", req{}},
		{"failed sign-in", "POST", "/sign-in", req{Form: url.Values{"name": {"x"}, "password": {"y"}}}},
		{"redirect to sign in", "GET", "/backups", req{}},
		{"list", "GET", "/backups", req{Client: admin.session()}},
		{"detail", "GET", "/backups/" + b, req{Client: admin.session()}},
		{"restore page", "GET", "/backups/" + b + "/restore", req{Client: admin.session()}},
		{"job page", "GET", "/jobs/" + id(jobID), req{Client: admin.session()}},
		{"job progress", "GET", "/jobs/" + id(jobID) + "/progress", req{Client: admin.session()}},
		{"download", "GET", "/backups/" + b + "/download", req{Client: admin.session()}},
		{"404 page", "GET", "/backups/424242", req{Client: admin.session()}},
		{"403 page", "POST", "/backups/" + b + "/delete", req{Client: viewer.session(), Form: url.Values{}}},
		{"static", "GET", "/static/app.js", req{}},
		{"API list", "GET", "/api/v1/backups", req{Token: admin.Token}},
		{"API download", "GET", "/api/v1/backups/" + b + "/download", req{Token: admin.Token}},
		{"API 401", "GET", "/api/v1/backups", req{}},
		{"API 403", "DELETE", "/api/v1/backups/" + b, req{Token: viewer.Token}},
		{"API 404", "GET", "/api/v1/nothing", req{Token: admin.Token}},
		{"OpenAPI", "GET", "/api/v1/openapi.json", req{}},
	}
	for _, c := range cases {
		res, body := ts.send(c.method, c.path, c.o)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		scriptSrc := ""
		for _, d := range strings.Split(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == "script-src" {
				scriptSrc = d
			}
		}
		switch {
		case !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'"):
			t.Errorf("%s: CSP %q", c.name, csp)
		case scriptSrc == "" || strings.Contains(scriptSrc, "unsafe"):
			t.Errorf("%s: script-src %q allows inline script (or is missing)", c.name, scriptSrc)
		case h.Get("X-Content-Type-Options") != "nosniff":
			t.Errorf("%s: X-Content-Type-Options %q", c.name, h.Get("X-Content-Type-Options"))
		case h.Get("Referrer-Policy") == "" || h.Get("Referrer-Policy") == "unsafe-url":
			t.Errorf("%s: Referrer-Policy %q", c.name, h.Get("Referrer-Policy"))
		case h.Get("X-Frame-Options") != "DENY":
			t.Errorf("%s: X-Frame-Options %q", c.name, h.Get("X-Frame-Options"))
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			for _, tag := range scriptTag.FindAllString(string(body), -1) {
				if !strings.Contains(tag, "src=") {
					t.Errorf("%s: inline script %s", c.name, tag)
				}
			}
			if m := inlineHandler.FindString(string(body)); m != "" {
				t.Errorf("%s: inline event handler in %s", c.name, m)
			}
		}
	}
}

// No password or API token (of any user, valid, wrong, revoked or
// replaced) appears in a page, an API response, a log line or an audit
// entry.
func TestWebSecurityNoSecretInPagesAPIResponsesLogsOrAudit(t *testing.T) {
	ts, admin, backups, jobID := fixtures(t)
	op := ts.addUser("oscar", "operator")
	viewer := ts.addUser("vera", "viewer")
	ctx := context.Background()
	by := identity.Actor{Name: "test"}
	secrets := map[string]string{"admin password": admin.Password, "admin token": admin.Token, "operator password": op.Password,
		"operator token": op.Token, "viewer password": viewer.Password, "viewer token": viewer.Token}

	// A revoked token, used.
	tok, revoked, err := ts.Identity.CreateToken(ctx, by, "vera", "old")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Identity.RevokeToken(ctx, by, tok.ID); err != nil {
		t.Fatal(err)
	}
	secrets["revoked token"] = revoked
	// A replaced password.
	newPW, err := ts.Identity.SetPassword(ctx, by, "oscar", "")
	if err != nil {
		t.Fatal(err)
	}
	secrets["new operator password"] = newPW
	// A made-up token and a wrong password that is someone else's.
	secrets["made-up token"] = "hms_" + strings.Repeat("Zq9", 14)
	// Sealed settings secrets in the catalog (a Drive key, a webhook
	// token), for the settings pages and routes to keep to themselves.
	keys := secret.NewKeyring("", ts.Dir)
	secrets["Drive private key"] = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcDriveKeyOfTheTest"
	secrets["webhook token"] = "whk-token-of-the-test-0b2d51e7"
	creds, err := keys.Seal("google_credentials", []byte(`{"type":"service_account","private_key":"`+secrets["Drive private key"]+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	hook, err := keys.Seal("webhook_url", []byte("https://hooks.example/notify?token="+secrets["webhook token"]))
	if err != nil {
		t.Fatal(err)
	}
	set, err := ts.Catalog.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.GoogleCredentialsEnc, set.WebhookURLEnc = creds, hook
	if err := ts.Catalog.SaveSettings(ctx, set); err != nil {
		t.Fatal(err)
	}

	var seen []string
	keep := func(what string, res *http.Response, body []byte) {
		seen = append(seen, fmt.Sprintf("%s\n%v\n%s", what, res.Header, body))
	}
	// A webhook URL with its token, an S3 secret key and a Drive key set
	// through the API, as a script would.
	secrets["webhook token set by the API"] = "api-set-webhook-token-5f3c9a1e"
	secrets["S3 secret key"] = "s3-secret-key-of-the-test-9d8c7b6a5f4e"
	driveKey, err := drivefake.ServiceAccountKey("https://oauth2.example.test/token")
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(driveKey, &parsed); err != nil {
		t.Fatal(err)
	}
	pemLines := strings.Split(parsed.PrivateKey, "\n")
	secrets["Drive key set by the API"] = pemLines[len(pemLines)/2]
	res, body := ts.send("PUT", "/api/v1/settings", req{Token: admin.Token, JSON: map[string]string{
		"webhook_url":        "https://hooks.example/notify?token=" + secrets["webhook token set by the API"],
		"s3_endpoint":        "s3.example.test:9000",
		"s3_bucket":          "hms-backups",
		"s3_access_key":      "AKIATESTACCESSKEY",
		"s3_secret_key":      secrets["S3 secret key"],
		"google_credentials": string(driveKey),
	}})
	var view struct {
		SecretsSet map[string]bool `json:"secrets_set"`
	}
	if err := json.Unmarshal(body, &view); res.StatusCode != http.StatusOK || err != nil ||
		!view.SecretsSet["webhook_url"] || !view.SecretsSet["s3_secret_key"] || !view.SecretsSet["google_credentials"] {
		t.Fatalf("PUT /api/v1/settings with secrets: %d %s", res.StatusCode, body)
	}
	keep("PUT /api/v1/settings", res, body)
	for _, u := range []*user{admin, op, viewer} {
		for _, r := range ts.registeredRoutes() {
			if r.Method != "GET" {
				continue
			}
			res, body := u.call(r, backups[0], jobID, "secrets")
			keep(u.Name+" "+r.String(), res, body)
		}
	}
	try := []struct {
		method, path string
		o            req
	}{
		{"POST", "/sign-in", req{Form: url.Values{"name": {"vera"}, "password": {admin.Password}}}},
		{"POST", "/sign-in", req{Form: url.Values{"name": {"nobody"}, "password": {op.Password}}}},
		{"POST", "/sign-in", req{Form: url.Values{"name": {"oscar"}, "password": {op.Password}}}}, // replaced
		{"GET", "/api/v1/backups", req{Token: revoked}},
		{"GET", "/api/v1/backups", req{Token: secrets["made-up token"]}},
		{"GET", "/api/v1/backups", req{Header: http.Header{"Authorization": {"Basic " + admin.Password}}}},
		{"POST", "/api/v1/backups/" + id(backups[0]) + "/restore", req{Token: viewer.Token, JSON: restoreRequest{Confirm: admin.Password}}},
		{"POST", "/api/v1/backups/" + id(backups[0]) + "/restore", req{Token: admin.Token, JSON: restoreRequest{Confirm: viewer.Password}}},
		{"POST", "/backups/" + id(backups[0]) + "/restore", req{Client: admin.session(), Form: url.Values{"confirm": {op.Password}}}},
		{"GET", "/api/v1/status", req{Token: admin.Token}},
	}
	for _, c := range try {
		res, body := ts.send(c.method, c.path, c.o)
		keep(c.method+" "+c.path, res, body)
	}
	res, body = ts.send("POST", "/api/v1/backups", req{Token: op.Token})
	keep("create", res, body)
	if res.StatusCode == http.StatusAccepted {
		var j JobView
		if err := json.Unmarshal(body, &j); err == nil {
			ts.waitJob(j.ID)
		}
	}
	var audit []string
	for _, e := range ts.audit() {
		audit = append(audit, fmt.Sprintf("%+v %s %s %s", e, e.Details, e.Actor, e.UserAgent))
	}
	logs := ts.Logs.String()
	if logs == "" || len(audit) < 50 {
		t.Fatalf("too little to look at: %d bytes of log, %d audit entries", len(logs), len(audit))
	}
	for name, secret := range secrets {
		if len(secret) < 12 {
			t.Fatalf("%s is too short to look for: %q", name, secret)
		}
		for _, s := range seen {
			if strings.Contains(s, secret) {
				t.Errorf("the %s is in a response: %.300s", name, s)
			}
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the log", name)
		}
		for _, a := range audit {
			if strings.Contains(a, secret) {
				t.Errorf("the %s is in the audit: %s", name, a)
			}
		}
	}
}

// Every {id} (and {token}, an API token's id) of every route, UI and API,
// refuses what is not an id with 404 (or 422), never a 500, never a file,
// and changes nothing.
func TestWebSecurityBadIDsInEveryIDRoute(t *testing.T) {
	ts, admin, _, _ := fixtures(t)
	bad := []string{"..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%00", "1;DROP", "1%3BDROP%20TABLE%20backups",
		"-1", "0", "1e3", "9999999999999999999999"}
	before := ts.state(true)
	n := 0
	for _, r := range ts.registeredRoutes() {
		if !strings.Contains(r.Path, "{id}") && !strings.Contains(r.Path, "{token}") {
			continue
		}
		for _, b := range bad {
			n++
			path := strings.NewReplacer("{id}", b, "{token}", b).Replace(r.Path)
			o := req{Client: admin.session(), Form: url.Values{"confirm": {"hms"}}}
			if r.Method == "GET" {
				o.Form = nil
			}
			if r.API {
				o = req{Token: admin.Token, JSON: restoreRequest{Confirm: "hms"}}
			}
			res, body := ts.send(r.Method, path, o)
			if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s %s: %d, want 404 or 422: %.200s", r.Method, path, res.StatusCode, body)
			}
			if strings.Contains(string(body), "root:") {
				t.Errorf("%s %s: a system file in the answer", r.Method, path)
			}
			if r.API && res.StatusCode == http.StatusNotFound && apiErr(t, body).Code != backup.ENOTFOUND {
				t.Errorf("%s %s: %s", r.Method, path, body)
			}
		}
	}
	if n < 9*15 {
		t.Fatalf("only %d requests", n)
	}
	if d := before.diff(ts.state(true)); d != "" {
		t.Fatalf("bad ids changed: %s", d)
	}
	if strings.Contains(ts.Logs.String(), "level=ERROR") {
		t.Fatalf("bad ids logged errors:\n%s", ts.Logs.String())
	}
}

// 200 wrong passwords in a row: after the free failures every attempt is
// refused (429, Retry-After) without looking at the password, the right
// one too and another user's from the same address; after the wait the
// right password works; every attempt is audited once.
func TestWebSecurity200WrongPasswordsAreSlowedAndAudited(t *testing.T) {
	ts := newTestServer(t)
	if _, _, err := ts.Identity.AddUser(t.Context(), identity.Actor{Name: "test"}, "alice", "operator", "Correct-Horse-Battery-71"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Identity.AddUser(t.Context(), identity.Actor{Name: "test"}, "bob", "viewer", "Staple-Orange-Kettle-22"); err != nil {
		t.Fatal(err)
	}
	signIn := func(name, pw string) (*http.Response, []byte) {
		return ts.send("POST", "/sign-in", req{UA: "guesser", Form: url.Values{"name": {name}, "password": {pw}}})
	}
	var lastWait int
	for i := range 200 {
		res, body := signIn("alice", fmt.Sprintf("guess-%03d", i))
		switch {
		case i < freeFailures && res.StatusCode != http.StatusUnauthorized:
			t.Fatalf("attempt %d: %d, want 401", i+1, res.StatusCode)
		case i < freeFailures:
		case res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "Too many failed sign-ins"):
			t.Fatalf("attempt %d: %d, want 429", i+1, res.StatusCode)
		default:
			w, err := strconv.Atoi(res.Header.Get("Retry-After"))
			if err != nil || w < 1 || w < lastWait {
				t.Fatalf("attempt %d: Retry-After %q after %d", i+1, res.Header.Get("Retry-After"), lastWait)
			}
			lastWait = w
		}
	}
	if lastWait < int(maxWait.Seconds()) {
		t.Fatalf("after 200 failures the wait is %d s, want the most, %s", lastWait, maxWait)
	}
	if res, _ := signIn("alice", "Correct-Horse-Battery-71"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right password while locked: %d, want 429", res.StatusCode)
	}
	if res, _ := signIn("bob", "Staple-Orange-Kettle-22"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("another user from the locked address: %d, want 429", res.StatusCode)
	}
	ts.advance(maxWait + time.Second)
	res, _ := signIn("alice", "Correct-Horse-Battery-71")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/backups" || sessionCookie(res) == nil {
		t.Fatalf("the right password after the wait: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var failures, successes int
	for _, e := range ts.auditByUA("guesser") {
		switch {
		case e.Action != backup.ActionSignIn || e.SourceAddress != "127.0.0.1":
			t.Fatalf("unexpected entry %+v", e)
		case e.Outcome == "failure":
			failures++
		case e.Outcome == "success" && e.Actor == "alice" && e.UserID != nil:
			successes++
		}
	}
	if failures != 202 || successes != 1 {
		t.Fatalf("audit: %d failed and %d successful sign-ins, want 202 and 1", failures, successes)
	}
}

// An unknown user and a wrong password get the same answer.
func TestWebSecuritySignInMessageIsTheSameForUnknownUserAndWrongPassword(t *testing.T) {
	ts := newTestServer(t)
	if _, _, err := ts.Identity.AddUser(t.Context(), identity.Actor{Name: "test"}, "alice", "viewer", "Correct-Horse-Battery-71"); err != nil {
		t.Fatal(err)
	}
	answer := func(name string) (int, string) {
		res, body := ts.send("POST", "/sign-in", req{Form: url.Values{"name": {name}, "password": {"not-the-password"}}})
		return res.StatusCode, strings.ReplaceAll(string(body), `value="`+name+`"`, `value="NAME"`)
	}
	code1, known := answer("alice")
	code2, unknown := answer("zelda")
	if code1 != http.StatusUnauthorized || code1 != code2 || known != unknown || !strings.Contains(known, signInMessage) {
		t.Fatalf("wrong password: %d, unknown user: %d; the pages differ: %v", code1, code2, known != unknown)
	}
}

// Disabling a user ends its sessions and its tokens at their next
// request; a revoked token gets 401 and its user's other tokens work.
func TestWebSecurityDisabledUsersAndRevokedTokensStopAtOnce(t *testing.T) {
	ts := newTestServer(t)
	dave := ts.addUser("dave", "admin")
	ctx := context.Background()
	by := identity.Actor{Name: "test"}
	if res, _ := ts.send("GET", "/backups", req{Client: dave.session()}); res.StatusCode != 200 {
		t.Fatalf("before: %d", res.StatusCode)
	}
	if _, err := ts.Identity.SetDisabled(ctx, by, "dave", true); err != nil {
		t.Fatal(err)
	}
	if res, _ := ts.send("GET", "/backups", req{Client: dave.session()}); res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
		t.Fatalf("a disabled user's session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := ts.send("GET", "/api/v1/backups", req{Token: dave.Token})
	if res.StatusCode != http.StatusUnauthorized || apiErr(t, body).Code != backup.EUNAUTHORIZED {
		t.Fatalf("a disabled user's token: %d %s", res.StatusCode, body)
	}
	if res, _ := ts.send("POST", "/sign-in", req{Form: url.Values{"name": {"dave"}, "password": {dave.Password}}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled user signs in: %d", res.StatusCode)
	}

	erin := ts.addUser("erin", "viewer")
	_, second, err := ts.Identity.CreateToken(ctx, by, "erin", "second")
	if err != nil {
		t.Fatal(err)
	}
	first, err := ts.Identity.Tokens(ctx, by, "erin")
	if err != nil || len(first) != 2 {
		t.Fatalf("erin's tokens: %v %v", first, err)
	}
	if _, err := ts.Identity.RevokeToken(ctx, by, first[0].ID); err != nil {
		t.Fatal(err)
	}
	res, body = ts.send("GET", "/api/v1/backups", req{Token: erin.Token, UA: "revoked"})
	if res.StatusCode != http.StatusUnauthorized || apiErr(t, body).Code != backup.EUNAUTHORIZED {
		t.Fatalf("a revoked token: %d %s", res.StatusCode, body)
	}
	if es := ts.auditByUA("revoked"); len(es) != 1 || es[0].Outcome != "denied" {
		t.Fatalf("audit of the revoked token's request: %+v", es)
	}
	if res, body := ts.send("GET", "/api/v1/backups", req{Token: second}); res.StatusCode != 200 {
		t.Fatalf("erin's other token: %d %s", res.StatusCode, body)
	}
}
