package web

import (
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

var secretRE = regexp.MustCompile(`<pre class="secret" id="secret"[^>]*>([^<]+)</pre>`)

// shownSecret is the password or token a result page shows once.
func shownSecret(t *testing.T, body string) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", body)
	}
	return m[1]
}

// newBrowser is a user not signed in yet.
func (ts *testServer) newBrowser(name string) *user {
	return &user{ts: ts, Name: name, Browser: ts.browser()}
}

// assertNowhere fails if secret is in any audit entry or any file of the
// data directory (catalog, its WAL, sessions, backups).
func (ts *testServer) assertNowhere(secret string) {
	ts.t.Helper()
	for _, e := range ts.audit() {
		if strings.Contains(e.Details+e.Actor+e.UserAgent+e.SourceAddress+string(e.Action), secret) {
			ts.t.Errorf("the secret is in audit entry %+v", e)
		}
	}
	err := filepath.WalkDir(ts.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), secret) {
			ts.t.Errorf("the secret is in the file %s", path)
		}
		return nil
	})
	if err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testServer) findUser(name string) *identity.User {
	ts.t.Helper()
	us, err := ts.Identity.Users(ts.t.Context(), identity.Actor{Name: "test"})
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, u := range us {
		if strings.EqualFold(u.Name, name) {
			return u
		}
	}
	return nil
}

// countAudit counts the entries with action, outcome and actor.
func (ts *testServer) countAudit(action backup.Action, outcome, actor string) int {
	ts.t.Helper()
	n := 0
	for _, e := range ts.audit() {
		if e.Action == action && e.Outcome == outcome && e.Actor == actor {
			n++
		}
	}
	return n
}

func TestAdminCreatesUserWithGeneratedPasswordShownOnce(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")

	code, body, at := admin.submit("POST", "/users", url.Values{"name": {"bob"}, "role": {"operator"}, "password": {""}})
	if code != http.StatusOK || at != "/users" || !strings.Contains(body, "User bob created") || !strings.Contains(body, "shown only this once") {
		t.Fatalf("create user: %d at %s\n%s", code, at, body)
	}
	pw := shownSecret(t, body)
	if len(pw) != identity.GeneratedPasswordLen {
		t.Fatalf("generated password %q: want %d characters", pw, identity.GeneratedPasswordLen)
	}
	if u := ts.findUser("bob"); u == nil || u.Role != "operator" || u.Disabled {
		t.Fatalf("bob in the catalog: %+v", u)
	}

	bob := ts.newBrowser("bob")
	if res := bob.signIn(pw); res.StatusCode != http.StatusOK || res.Request.URL.Path != "/backups" {
		t.Fatalf("bob signs in with the shown password: %d at %s", res.StatusCode, res.Request.URL)
	}

	// Never again: not on the users page, the tokens page, any audit entry,
	// any file.
	for _, path := range []string{"/users", "/roles", "/tokens", "/backups"} {
		code, body := admin.page("GET", path, nil)
		if code != http.StatusOK || strings.Contains(body, pw) {
			t.Errorf("GET %s: %d, shows the password: %v", path, code, strings.Contains(body, pw))
		}
	}
	_, body = admin.page("GET", "/users", nil)
	if !strings.Contains(body, `data-user="bob"`) || !strings.Contains(body, "operator") {
		t.Errorf("the users page does not list bob:\n%s", body)
	}
	ts.assertNowhere(pw)

	// The creation is audited with who, from where, with what.
	var added bool
	for _, e := range ts.audit() {
		if e.Action == backup.ActionUserAdd && e.Outcome == "success" && e.Actor == "alice" && e.UserID != nil && *e.UserID == admin.ID &&
			e.SourceAddress == "127.0.0.1" && strings.HasPrefix(e.UserAgent, "Go-http-client") && strings.Contains(e.Details, `"bob"`) {
			added = true
		}
	}
	if !added {
		t.Errorf("no audit entry of alice adding bob with her address and agent: %+v", ts.audit())
	}

	// A reset with a generated password: shown once, the old one stops
	// working, and bob's sessions end.
	bobBefore := ts.newBrowser("bob")
	if res := bobBefore.signIn(pw); res.Request.URL.Path != "/backups" {
		t.Fatalf("bob cannot sign in: at %s", res.Request.URL)
	}
	code, body, _ = admin.submit("POST", "/users/bob/password", url.Values{"password": {""}})
	if code != http.StatusOK || !strings.Contains(body, "New password for bob") {
		t.Fatalf("reset password: %d\n%s", code, body)
	}
	pw2 := shownSecret(t, body)
	if code, _, at := bobBefore.submit("GET", "/backups", nil); code != http.StatusOK || at != "/sign-in" {
		t.Errorf("bob's session from before the reset still works: %d at %s", code, at)
	}
	if pw2 == pw {
		t.Fatal("the reset gave the same password")
	}
	if res := ts.newBrowser("bob").signIn(pw); res.Request.URL.Path != "/sign-in" {
		t.Errorf("the old password still signs in: %d at %s", res.StatusCode, res.Request.URL)
	}
	if res := ts.newBrowser("bob").signIn(pw2); res.Request.URL.Path != "/backups" {
		t.Errorf("the new password does not sign in: %d at %s", res.StatusCode, res.Request.URL)
	}
	ts.assertNowhere(pw2)

	// A typed password: not shown, not in the flash, works.
	typed := "a typed password for bob's account"
	code, body, at = admin.submit("POST", "/users/bob/password", url.Values{"password": {typed}})
	if code != http.StatusOK || at != "/users" || strings.Contains(body, typed) || !strings.Contains(body, "Changed the password of user bob") {
		t.Fatalf("typed reset: %d at %s, shows it: %v", code, at, strings.Contains(body, typed))
	}
	if res := ts.newBrowser("bob").signIn(typed); res.Request.URL.Path != "/backups" {
		t.Errorf("the typed password does not sign in: at %s", res.Request.URL)
	}
	// A weak typed password comes back next to that user, changes nothing.
	code, body, _ = admin.submit("POST", "/users/bob/password", url.Values{"password": {"short"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "too short") ||
		!regexp.MustCompile(`(?s)data-user="bob".*?<details class="inline" open>`).MatchString(body) {
		t.Errorf("weak reset: %d, not next to bob's open form\n%s", code, body)
	}
	if res := ts.newBrowser("bob").signIn(typed); res.Request.URL.Path != "/backups" {
		t.Errorf("a refused reset changed the password")
	}
	ts.assertNowhere(typed)
}

func TestAddUserBadInputComesBackOnTheForm(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	ts.addUser("bob", "viewer")

	cases := []struct {
		name, role, password string
		field, message       string
	}{
		{"carol", "operator", "short pw", "password", "too short"},
		{"carol", "operator", "xx-carol-password-xx", "password", "must not be or contain the user name"},
		{"BOB", "operator", "", "name", "already exists"},
		{"bad name!", "operator", "", "name", "is not valid"},
		{"carol", "superuser", "", "role", `no role "superuser"`},
	}
	for _, c := range cases {
		failedBefore := ts.countAudit(backup.ActionUserAdd, "failure", "alice")
		code, body, _ := admin.submit("POST", "/users", url.Values{"name": {c.name}, "role": {c.role}, "password": {c.password}})
		m := regexp.MustCompile(`id="error-` + c.field + `">([^<]*)<`).FindStringSubmatch(body)
		if code != http.StatusUnprocessableEntity || m == nil || !strings.Contains(html.UnescapeString(m[1]), c.message) {
			t.Errorf("%+v: %d, field message %q\n%s", c, code, m, body)
		}
		if c.password != "" && strings.Contains(body, c.password) {
			t.Errorf("%+v: the typed password is sent back", c)
		}
		if !strings.Contains(body, `value="`+c.name+`"`) && c.name != "bad name!" {
			t.Errorf("%+v: the name typed is not kept in the form", c)
		}
		if got := ts.countAudit(backup.ActionUserAdd, "failure", "alice"); got != failedBefore+1 {
			t.Errorf("%+v: %d failed user.add entries, want %d", c, got, failedBefore+1)
		}
		if c.password != "" {
			ts.assertNowhere(c.password)
		}
	}
	if u := ts.findUser("carol"); u != nil {
		t.Errorf("a refused user was created: %+v", u)
	}
	if u := ts.findUser("bob"); u == nil || u.Role != "viewer" {
		t.Errorf("bob changed: %+v", u)
	}
}

func TestUsersAndRolesAreAdminOnly(t *testing.T) {
	ts := newTestServer(t)
	ts.addUser("alice", "admin")
	ts.addUser("target", "viewer")
	if _, err := ts.Identity.AddRole(t.Context(), identity.Actor{Name: "test"}, "custom", []identity.Permission{identity.PermView}); err != nil {
		t.Fatal(err)
	}
	pwBefore := ts.findUser("target").PasswordHash
	for _, role := range []string{"operator", "viewer"} {
		u := ts.addUser("u-"+role, role)
		reqs := []struct {
			method, path string
			form         url.Values
			action       backup.Action
		}{
			{"GET", "/users", nil, backup.ActionUserList},
			{"GET", "/roles", nil, backup.ActionRoleList},
			{"POST", "/users", url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {"mallory's long password"}}, backup.ActionUserAdd},
			{"POST", "/users/target/disable", url.Values{}, backup.ActionUserDisable},
			{"POST", "/users/target/enable", url.Values{}, backup.ActionUserEnable},
			{"POST", "/users/target/password", url.Values{"password": {"a new long password"}}, backup.ActionUserPassword},
			{"POST", "/roles", url.Values{"name": {"sneaky"}, "perm": {"backups.delete"}}, backup.ActionRoleAdd},
			{"POST", "/roles/custom/delete", url.Values{}, backup.ActionRoleDelete},
		}
		for _, rq := range reqs {
			before := ts.countAudit(rq.action, "denied", u.Name)
			code, body, _ := u.submit(rq.method, rq.path, rq.form)
			if code != http.StatusForbidden || !strings.Contains(body, "the admin role") {
				t.Errorf("%s %s %s: %d\n%s", role, rq.method, rq.path, code, body)
			}
			if got := ts.countAudit(rq.action, "denied", u.Name); got != before+1 {
				t.Errorf("%s %s %s: %d denied %s entries, want %d", role, rq.method, rq.path, got, rq.action, before+1)
			}
		}
	}
	// Nothing changed.
	if ts.findUser("mallory") != nil {
		t.Error("a refused request created a user")
	}
	if tg := ts.findUser("target"); tg.Disabled || tg.PasswordHash != pwBefore {
		t.Errorf("a refused request changed target: %+v", tg)
	}
	roles, err := ts.Identity.Roles(t.Context(), identity.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"admin", "operator", "viewer", "custom"}) {
		t.Errorf("roles after refused requests: %v", names)
	}
}

func TestDisableEndsSessionAndTokensAtOnce(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	admin2 := ts.addUser("ann", "admin")
	bob := ts.addUser("bob", "operator")
	if code := bob.api("GET", "/api/v1/backups", nil, nil); code != http.StatusOK {
		t.Fatalf("bob's token before: %d", code)
	}

	code, body, at := admin.submit("POST", "/users/bob/disable", url.Values{})
	if code != http.StatusOK || at != "/users" || !strings.Contains(body, "Disabled user bob") {
		t.Fatalf("disable bob: %d at %s\n%s", code, at, body)
	}
	if _, _, at := bob.submit("GET", "/backups", nil); at != "/sign-in" {
		t.Errorf("bob's session after the disable: at %s, want the sign-in page", at)
	}
	if code := bob.api("GET", "/api/v1/backups", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("bob's token after the disable: %d, want 401", code)
	}
	if res := bob.signIn(bob.Password); res.Request.URL.Path != "/sign-in" {
		t.Errorf("disabled bob signs in: at %s", res.Request.URL)
	}
	if ts.countAudit(backup.ActionUserDisable, "success", "alice") != 1 {
		t.Errorf("disable not audited once: %+v", ts.audit())
	}

	// Enabled again: the token works, the session stays ended.
	if code, _, _ := admin.submit("POST", "/users/bob/enable", url.Values{}); code != http.StatusOK {
		t.Fatalf("enable bob: %d", code)
	}
	if code := bob.api("GET", "/api/v1/backups", nil, nil); code != http.StatusOK {
		t.Errorf("bob's token after the enable: %d", code)
	}
	if _, _, at := bob.submit("GET", "/backups", nil); at != "/sign-in" {
		t.Errorf("bob's old session came back: at %s", at)
	}

	// An admin cannot disable themself, in any case of the name.
	for _, name := range []string{"alice", "ALICE"} {
		code, body, _ = admin.submit("POST", "/users/"+name+"/disable", url.Values{})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "You cannot disable yourself") || strings.Contains(body, " open>") {
			t.Errorf("alice disables %s: %d\n%s", name, code, body)
		}
	}
	if u := ts.findUser("alice"); u.Disabled {
		t.Fatal("alice disabled herself")
	}
	if ts.countAudit(backup.ActionUserDisable, "failure", "alice") != 2 {
		t.Errorf("refused self-disables not audited: %+v", ts.audit())
	}
	if code, _ := admin.page("GET", "/users", nil); code != http.StatusOK {
		t.Errorf("alice after the refusal: %d", code)
	}

	// Two admins: ann disables alice; alice, signed out at once, cannot
	// disable ann back, so an enabled admin remains.
	if code, _, _ := admin2.submit("POST", "/users/alice/disable", url.Values{}); code != http.StatusOK {
		t.Fatalf("ann disables alice: %d", code)
	}
	if _, _, at := admin.submit("POST", "/users/ann/disable", url.Values{}); at != "/sign-in" {
		t.Errorf("disabled alice's POST: at %s", at)
	}
	if u := ts.findUser("ann"); u.Disabled {
		t.Error("no enabled admin is left")
	}
}

func TestTokensPage(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	vic := ts.addUser("vic", "viewer")
	olga := ts.addUser("olga", "operator")

	code, body, at := vic.submit("POST", "/tokens", url.Values{"label": {"nightly export"}})
	if code != http.StatusOK || at != "/tokens" || !strings.Contains(body, "shown only this once") {
		t.Fatalf("create token: %d at %s\n%s", code, at, body)
	}
	token := shownSecret(t, body)
	if !strings.HasPrefix(token, identity.TokenPrefix) {
		t.Fatalf("shown token %q", token)
	}
	if code := ts.apiAs(token, "GET", "/api/v1/backups", nil, nil); code != http.StatusOK {
		t.Fatalf("the new token: %d", code)
	}
	code, body = vic.page("GET", "/tokens", nil)
	if code != http.StatusOK || strings.Contains(body, token) || !strings.Contains(body, "nightly export") {
		t.Errorf("tokens page after: %d, shows the token: %v\n%s", code, strings.Contains(body, token), body)
	}
	ts.assertNowhere(token)
	toks, err := ts.Identity.Tokens(t.Context(), identity.Actor{Name: "test"}, "vic")
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, tk := range toks {
		if tk.Label == "nightly export" {
			id = tk.ID
		}
	}
	if id == 0 || tk(toks, id).LastUsedAt == nil {
		t.Fatalf("vic's tokens: %+v", toks)
	}
	sid := strconv.FormatInt(id, 10)
	// A non-admin sees only their own tokens: not olga's "test" token.
	if strings.Contains(body, "olga") {
		t.Errorf("vic's tokens page shows olga's tokens:\n%s", body)
	}

	// Olga cannot revoke vic's token: 404, as an unknown id; it still works.
	if code, _, _ := olga.submit("POST", "/tokens/"+sid+"/revoke", url.Values{}); code != http.StatusNotFound {
		t.Errorf("olga revokes vic's token: %d, want 404", code)
	}
	if code := ts.apiAs(token, "GET", "/api/v1/backups", nil, nil); code != http.StatusOK {
		t.Errorf("vic's token after olga's attempt: %d", code)
	}
	if ts.countAudit(backup.ActionTokenRevoke, "failure", "olga") != 1 {
		t.Errorf("olga's attempt not audited: %+v", ts.audit())
	}
	// Nor create one for another user.
	before := ts.countAudit(backup.ActionTokenCreate, "denied", "olga")
	if code, _, _ := olga.submit("POST", "/tokens", url.Values{"label": {"x"}, "user": {"vic"}}); code != http.StatusForbidden {
		t.Errorf("olga creates a token for vic: %d, want 403", code)
	}
	if ts.countAudit(backup.ActionTokenCreate, "denied", "olga") != before+1 {
		t.Error("olga's token for vic not audited as denied")
	}
	if ts, _ := ts.Identity.Tokens(t.Context(), identity.Actor{Name: "test"}, "vic"); len(ts) != 2 {
		t.Errorf("vic has %d tokens, want 2 (the harness's and nightly export)", len(ts))
	}
	// Bad ids are not found.
	for _, bad := range []string{"abc", "0", "-1", "99999"} {
		if code, _, _ := vic.submit("POST", "/tokens/"+bad+"/revoke", url.Values{}); code != http.StatusNotFound {
			t.Errorf("revoke %q: %d, want 404", bad, code)
		}
	}
	// A label too long comes back on the form.
	code, body, _ = vic.submit("POST", "/tokens", url.Values{"label": {strings.Repeat("x", 101)}})
	if code != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="error-label">[^<]*at most 100`).MatchString(body) {
		t.Errorf("long label: %d\n%s", code, body)
	}

	// Vic revokes their own token: 401 from then on.
	code, body, at = vic.submit("POST", "/tokens/"+sid+"/revoke", url.Values{})
	if code != http.StatusOK || at != "/tokens" || !strings.Contains(body, "Revoked API token "+sid) {
		t.Fatalf("revoke: %d at %s\n%s", code, at, body)
	}
	if code := ts.apiAs(token, "GET", "/api/v1/backups", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}

	// The admin sees everyone's tokens, revokes olga's, makes one for vic.
	code, body = admin.page("GET", "/tokens", nil)
	if code != http.StatusOK || !strings.Contains(body, "<td>olga</td>") || !strings.Contains(body, "<td>vic</td>") {
		t.Errorf("admin's tokens page: %d\n%s", code, body)
	}
	olgas, _ := ts.Identity.Tokens(t.Context(), identity.Actor{Name: "test"}, "olga")
	if code, _, _ := admin.submit("POST", "/tokens/"+strconv.FormatInt(olgas[0].ID, 10)+"/revoke", url.Values{}); code != http.StatusOK {
		t.Errorf("admin revokes olga's token: %d", code)
	}
	if code := olga.api("GET", "/api/v1/backups", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("olga's token revoked by the admin: %d", code)
	}
	code, body, _ = admin.submit("POST", "/tokens", url.Values{"label": {"for vic"}, "user": {"vic"}})
	if code != http.StatusOK || !strings.Contains(body, "New API token for vic") {
		t.Fatalf("admin creates a token for vic: %d\n%s", code, body)
	}
	forVic := shownSecret(t, body)
	var list backupList
	if code := ts.apiAs(forVic, "GET", "/api/v1/backups", nil, &list); code != http.StatusOK {
		t.Errorf("vic's token made by the admin: %d", code)
	}
	// It acts as vic: a viewer cannot create a backup with it (403, or 404
	// while the API has no POST /api/v1/backups).
	if code := ts.apiAs(forVic, "POST", "/api/v1/backups", nil, nil); code == http.StatusOK || code == http.StatusAccepted || code == http.StatusCreated {
		t.Errorf("vic's token created a backup: %d", code)
	}
	var created bool
	for _, e := range ts.audit() {
		if e.Action == backup.ActionTokenCreate && e.Outcome == "success" && e.Actor == "alice" && strings.Contains(e.Details, `for user "vic"`) &&
			e.SourceAddress == "127.0.0.1" {
			created = true
		}
	}
	if !created {
		t.Error("the admin's token for vic is not audited")
	}
	ts.assertNowhere(forVic)
}

func tk(ts []*identity.Token, id int64) *identity.Token {
	for _, t := range ts {
		if t.ID == id {
			return t
		}
	}
	return &identity.Token{}
}

func TestCustomRoleGrantsExactlyItsPermissions(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")

	code, body, at := admin.submit("POST", "/roles", url.Values{"name": {"deleter"}, "perm": {"backups.view", "backups.delete"}})
	if code != http.StatusOK || at != "/roles" || !strings.Contains(body, `data-role="deleter"`) {
		t.Fatalf("add role: %d at %s\n%s", code, at, body)
	}
	// Bad input comes back next to its field; nothing is made.
	code, body, _ = admin.submit("POST", "/roles", url.Values{"name": {"Bad Name"}, "perm": {"backups.view"}})
	if code != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="error-name">[^<]*is not valid`).MatchString(body) {
		t.Errorf("bad role name: %d\n%s", code, body)
	}
	code, body, _ = admin.submit("POST", "/roles", url.Values{"name": {"odd"}, "perm": {"backups.everything"}})
	if code != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="error-perms">[^<]*is not a permission`).MatchString(body) {
		t.Errorf("unknown permission: %d\n%s", code, body)
	}
	code, body, _ = admin.submit("POST", "/roles", url.Values{"name": {"deleter"}, "perm": {"backups.view"}})
	if code != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="error-name">[^<]*already exists`).MatchString(body) {
		t.Errorf("taken role name: %d\n%s", code, body)
	}
	roles, _ := ts.Identity.Roles(t.Context(), identity.Actor{Name: "test"})
	if len(roles) != 4 || roles[3].Name != "deleter" || !slices.Equal(roles[3].Permissions, []identity.Permission{identity.PermView, identity.PermDelete}) {
		t.Fatalf("roles: %+v", roles)
	}

	pw := "dan's own long password"
	if code, _, at := admin.submit("POST", "/users", url.Values{"name": {"dan"}, "role": {"deleter"}, "password": {pw}}); code != http.StatusOK || at != "/users" {
		t.Fatalf("add dan: %d at %s", code, at)
	}
	dan := ts.newBrowser("dan")
	if res := dan.signIn(pw); res.Request.URL.Path != "/backups" {
		t.Fatalf("dan signs in: at %s", res.Request.URL)
	}
	b := ts.backupNow()
	if code, _, _ := dan.submit("POST", "/backups", url.Values{}); code != http.StatusForbidden {
		t.Errorf("dan creates a backup: %d, want 403", code)
	}
	if code, _, _ := dan.submit("POST", "/users", url.Values{"name": {"eve"}, "role": {"admin"}}); code != http.StatusForbidden {
		t.Errorf("dan adds a user: %d, want 403", code)
	}
	code, _, at = dan.submit("POST", "/backups/"+strconv.FormatInt(b.ID, 10)+"/delete", url.Values{})
	if code != http.StatusOK || at != "/backups" {
		t.Errorf("dan deletes backup %d: %d at %s", b.ID, code, at)
	}
	if _, err := ts.Catalog.FindBackupByID(t.Context(), b.ID); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("backup %d after dan's delete: %v", b.ID, err)
	}

	// A role in use, a built-in role: refused with the service's message
	// next to it. An unused custom role goes.
	code, body, _ = admin.submit("POST", "/roles/deleter/delete", url.Values{})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "is the role of 1 user(s)") {
		t.Errorf("delete a role in use: %d\n%s", code, body)
	}
	code, body, _ = admin.submit("POST", "/roles/viewer/delete", url.Values{})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "built in") {
		t.Errorf("delete a built-in role: %d\n%s", code, body)
	}
	if code, _, _ := admin.submit("POST", "/roles/nosuch/delete", url.Values{}); code != http.StatusNotFound {
		t.Errorf("delete an unknown role: %d, want 404", code)
	}
	if _, err := ts.Identity.AddRole(t.Context(), identity.Actor{Name: "test"}, "spare", nil); err != nil {
		t.Fatal(err)
	}
	code, body, at = admin.submit("POST", "/roles/spare/delete", url.Values{})
	if code != http.StatusOK || at != "/roles" || strings.Contains(body, `data-role="spare"`) || !strings.Contains(body, `data-role="deleter"`) {
		t.Errorf("delete an unused role: %d at %s\n%s", code, at, body)
	}
}
