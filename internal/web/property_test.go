package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

// checkN runs a rapid property n times (each check drives the real
// server, so not rapid's default 100), unless -rapid.checks or
// RAPID_CHECKS asks for another number.
func checkN(t *testing.T, n int, prop func(*rapid.T)) {
	t.Helper()
	explicit := os.Getenv("RAPID_CHECKS") != ""
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if f := flag.Lookup("rapid.checks"); f != nil && !explicit {
		old := f.Value.String()
		if err := f.Value.Set(strconv.Itoa(n)); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Value.Set(old) }()
	}
	rapid.Check(t, prop)
}

// webRoute is a route of the UI or the API with what it needs.
type webRoute struct {
	API    bool
	Method string
	Path   string // with {id}
	Route  route
}

func (r webRoute) String() string { return r.Method + " " + r.Path }

// uiRouteTable is every route of the UI with what it needs (as the code
// registers them: pages.go, settings.go, audit.go, users.go, tokens.go).
// Each must be registered: a route removed or renamed fails the tests.
func uiRouteTable() []webRoute {
	ui := func(method, path string, rt route) webRoute { return webRoute{Method: method, Path: path, Route: rt} }
	return []webRoute{
		ui("GET", "/backups", canList),
		ui("POST", "/backups", canCreate),
		ui("GET", "/backups/{id}", canView),
		ui("GET", "/backups/{id}/download", canDownload),
		ui("GET", "/backups/{id}/delete", canDelete),
		ui("POST", "/backups/{id}/delete", canDelete),
		ui("POST", "/backups/{id}/protect", canProtect),
		ui("POST", "/backups/{id}/unprotect", canUnprotect),
		ui("GET", "/backups/{id}/restore", canRestore),
		ui("POST", "/backups/{id}/restore", canRestore),
		ui("GET", "/jobs/{id}", canViewJob),
		ui("GET", "/jobs/{id}/progress", canViewJob),
		ui("GET", "/audit", canViewAudit),
		ui("GET", "/audit.csv", canExportAudit),
		ui("GET", "/settings", canManageSettings),
		ui("POST", "/settings", canManageSettings),
		ui("POST", "/settings/test-notification", canManageSettings),
		ui("POST", "/settings/test-google-drive", canManageSettings),
		ui("POST", "/settings/test-s3", canManageSettings),
		ui("GET", "/users", adminUserList),
		ui("POST", "/users", adminUserAdd),
		ui("POST", "/users/{name}/disable", adminUserDisable),
		ui("POST", "/users/{name}/enable", adminUserEnable),
		ui("POST", "/users/{name}/password", adminUserPassword),
		ui("GET", "/roles", adminRoleList),
		ui("POST", "/roles", adminRoleAdd),
		ui("POST", "/roles/{role}/delete", adminRoleDelete),
		ui("GET", "/tokens", anyUser),
		ui("POST", "/tokens", anyUser),
		ui("POST", "/tokens/{token}/revoke", anyUser),
	}
}

// specPermissions is what each route needs by the product's rules (8.1-8.3
// and the issue), written here independently of the code's route values:
// view alone sees lists and details; download and restore hand out every
// patient record and need restore; protecting is a delete-level decision;
// users and roles are the admin role's ("admin"); everyone manages their
// own API tokens ("any").
var specPermissions = map[string]identity.Permission{
	"GET /backups":                            identity.PermView,
	"POST /backups":                           identity.PermCreate,
	"GET /backups/{id}":                       identity.PermView,
	"GET /backups/{id}/download":              identity.PermRestore,
	"GET /backups/{id}/delete":                identity.PermDelete,
	"POST /backups/{id}/delete":               identity.PermDelete,
	"POST /backups/{id}/protect":              identity.PermDelete,
	"POST /backups/{id}/unprotect":            identity.PermDelete,
	"GET /backups/{id}/restore":               identity.PermRestore,
	"POST /backups/{id}/restore":              identity.PermRestore,
	"GET /jobs/{id}":                          identity.PermView,
	"GET /jobs/{id}/progress":                 identity.PermView,
	"GET /audit":                              identity.PermView,
	"GET /audit.csv":                          identity.PermView,
	"GET /settings":                           identity.PermManageSettings,
	"POST /settings":                          identity.PermManageSettings,
	"POST /settings/test-notification":        identity.PermManageSettings,
	"POST /settings/test-google-drive":        identity.PermManageSettings,
	"POST /settings/test-s3":                  identity.PermManageSettings,
	"GET /users":                              "admin",
	"POST /users":                             "admin",
	"POST /users/{name}/disable":              "admin",
	"POST /users/{name}/enable":               "admin",
	"POST /users/{name}/password":             "admin",
	"GET /roles":                              "admin",
	"POST /roles":                             "admin",
	"POST /roles/{role}/delete":               "admin",
	"GET /tokens":                             "any",
	"POST /tokens":                            "any",
	"POST /tokens/{token}/revoke":             "any",
	"GET /api/v1/backups":                     identity.PermView,
	"POST /api/v1/backups":                    identity.PermCreate,
	"GET /api/v1/backups/{id}":                identity.PermView,
	"DELETE /api/v1/backups/{id}":             identity.PermDelete,
	"GET /api/v1/backups/{id}/download":       identity.PermRestore,
	"POST /api/v1/backups/{id}/restore":       identity.PermRestore,
	"POST /api/v1/backups/{id}/protect":       identity.PermDelete,
	"POST /api/v1/backups/{id}/unprotect":     identity.PermDelete,
	"GET /api/v1/jobs/{id}":                   identity.PermView,
	"GET /api/v1/status":                      identity.PermView,
	"GET /api/v1/settings":                    identity.PermManageSettings,
	"PUT /api/v1/settings":                    identity.PermManageSettings,
	"POST /api/v1/settings/test-google-drive": identity.PermManageSettings,
	"POST /api/v1/settings/test-notification": identity.PermManageSettings,
	"POST /api/v1/settings/test-s3":           identity.PermManageSettings,
	"GET /api/v1/audit":                       identity.PermView,
}

// routes is every registered route of the UI and the API (but the public
// OpenAPI description), each with what specPermissions says it needs; a
// route whose code asks for something else fails the test.
func (ts *testServer) routes() []webRoute {
	ts.t.Helper()
	all := ts.registeredRoutes()
	for i, r := range all {
		want, ok := specPermissions[r.String()]
		if !ok {
			ts.t.Errorf("route %s is not in specPermissions: say what it needs", r)
			continue
		}
		spec := route{perm: want, action: r.Route.action}
		switch want {
		case "admin":
			spec = route{admin: true, action: r.Route.action}
		case "any":
			spec = route{any: true, action: r.Route.action}
		}
		if spec.perm != r.Route.perm || spec.admin != r.Route.admin || spec.any != r.Route.any {
			ts.t.Errorf("route %s needs %s in the code, %s by the rules", r, r.Route.needs(), spec.needs())
		}
		all[i].Route = spec
	}
	if ts.t.Failed() {
		ts.t.FailNow()
	}
	return all
}

// TestWebEveryRouteInTheSourceIsInTheRouteTables reads the package's
// source for the patterns it gives mux.Handle: each must be a route the
// property tests know (uiRouteTable), a route that needs no sign-in, or
// the API's catch-all; API routes come from apiRouteTable only. A route
// added without its permission in the tables fails here.
func TestWebEveryRouteInTheSourceIsInTheRouteTables(t *testing.T) {
	public := []string{"GET /{$}", "GET /sign-in", "POST /sign-in", "POST /sign-out", "GET /static/", "/api/",
		"GET /healthz", "GET /readyz", "POST /wake"}
	known := map[string]bool{}
	for _, r := range uiRouteTable() {
		known[r.String()] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			if c, ok := call.Args[0].(*ast.CallExpr); ok {
				if f, ok := c.Fun.(*ast.SelectorExpr); ok && f.Sel.Name == "Pattern" {
					return true // apiRoutes, from apiRouteTable
				}
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: %s with a pattern that is not a literal", fset.Position(call.Pos()), sel.Sel.Name)
				return true
			}
			pattern, _ := strconv.Unquote(lit.Value)
			found++
			switch {
			case slices.Contains(public, pattern), known[pattern]:
			case strings.Contains(pattern, "/api/"):
				t.Errorf("%s: API route %s registered outside apiRouteTable", fset.Position(call.Pos()), pattern)
			default:
				t.Errorf("%s: route %s is not in uiRouteTable and specPermissions (property_test.go)", fset.Position(call.Pos()), pattern)
			}
			return true
		})
	}
	if found < len(uiRouteTable()) {
		t.Fatalf("found %d mux.Handle patterns, fewer than the %d UI routes", found, len(uiRouteTable()))
	}
}

func (ts *testServer) registeredRoutes() []webRoute {
	ts.t.Helper()
	var out []webRoute
	for _, r := range uiRouteTable() {
		if got := registeredPattern(ts.Server, r.Method, r.Path); got != r.String() {
			ts.t.Fatalf("UI route %s is not registered (the mux sends it to %q)", r, got)
		}
		out = append(out, r)
	}
	for _, r := range ts.Server.apiRouteTable() {
		if r.Public == nil {
			out = append(out, webRoute{API: true, Method: r.Method, Path: r.Path, Route: r.Route})
		}
	}
	return out
}

// call sends route r as u, with the backup or job id it needs, user agent
// ua, and a body that would do the operation if it were allowed (the
// right confirmation for a restore). Redirects are not followed.
func (u *user) call(r webRoute, backupID, jobID int64, ua string) (*http.Response, []byte) {
	u.ts.t.Helper()
	target := backupID
	if strings.Contains(r.Path, "/jobs/") {
		target = jobID
	}
	// The users, role and token fixtures makes: what a wrongly allowed
	// request would change.
	path := strings.NewReplacer("{id}", id(target), "{name}", "root", "{role}", "spare", "{token}", "1").Replace(r.Path)
	o := req{UA: ua}
	if r.API {
		o.Token = u.Token
		if strings.HasSuffix(r.Path, "/restore") {
			o.JSON = restoreRequest{Confirm: "hms"}
		}
	} else {
		o.Client = u.session()
		if r.Method == "POST" {
			o.Form = url.Values{"confirm": {"hms"}}
		}
	}
	return u.ts.send(r.Method, path, o)
}

// can reports whether a user of role may use r.
func (ts *testServer) can(role string, r webRoute) bool {
	ts.t.Helper()
	u := &identity.User{Role: role}
	perms, err := ts.Identity.Permissions(context.Background(), u)
	if err != nil {
		ts.t.Fatal(err)
	}
	return r.Route.allowed(&principal{User: u, Perms: perms})
}

// state is everything a request could change that Property 16 watches:
// the backup records (protected flags among them), the files on disk, the
// database backed up, the settings, the users, roles and API tokens, and
// with jobs the jobs queued or running (-1 without: reading them is
// slow).
type state struct {
	Backups  string
	Files    []string
	Database string
	Settings string
	Users    string
	Jobs     int
}

func (ts *testServer) state(jobs bool) state {
	ts.t.Helper()
	ctx := context.Background()
	var s state
	list, _, err := ts.Catalog.FindBackups(ctx, backup.BackupFilter{})
	if err != nil {
		ts.t.Fatal(err)
	}
	b, _ := json.Marshal(list)
	s.Backups = string(b)
	entries, err := os.ReadDir(filepath.Join(ts.Dir, "backups"))
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			ts.t.Fatal(err)
		}
		s.Files = append(s.Files, fmt.Sprintf("%s %d %s", e.Name(), info.Size(), info.ModTime()))
	}
	db, err := os.ReadFile(filepath.Join(ts.Dir, "hms.db"))
	if err != nil {
		ts.t.Fatal(err)
	}
	sum := sha256.Sum256(db)
	s.Database = hex.EncodeToString(sum[:])
	set, err := ts.Catalog.Settings(ctx)
	if err != nil {
		ts.t.Fatal(err)
	}
	b, _ = json.Marshal(set)
	s.Settings = string(b) + fmt.Sprintf(" drive-credentials:%x webhook:%x", set.GoogleCredentialsEnc, set.WebhookURLEnc)
	users, err := ts.Catalog.Users(ctx)
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, u := range users {
		s.Users += fmt.Sprintf("%d %s %s %v %s;", u.ID, u.Name, u.Role, u.Disabled, u.PasswordHash)
	}
	roles, err := ts.Catalog.Roles(ctx)
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, r := range roles {
		s.Users += fmt.Sprintf("role %s %v;", r.Name, r.Permissions)
	}
	tokens, err := ts.Catalog.Tokens(ctx, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, t := range tokens {
		s.Users += fmt.Sprintf("token %d %d %v;", t.ID, t.UserID, t.Revoked())
	}
	s.Jobs = -1
	if jobs {
		active, err := ts.Queue.Active(ctx)
		if err != nil {
			ts.t.Fatal(err)
		}
		s.Jobs = len(active)
	}
	return s
}

func (s state) diff(o state) string {
	var d []string
	if s.Backups != o.Backups {
		d = append(d, "backup records:\n"+s.Backups+"\n"+o.Backups)
	}
	if !slices.Equal(s.Files, o.Files) {
		d = append(d, fmt.Sprintf("files: %v -> %v", s.Files, o.Files))
	}
	if s.Database != o.Database {
		d = append(d, "the database")
	}
	if s.Settings != o.Settings {
		d = append(d, "settings: "+s.Settings+" -> "+o.Settings)
	}
	if s.Users != o.Users {
		d = append(d, "users, roles or tokens:\n"+s.Users+"\n"+o.Users)
	}
	if s.Jobs != o.Jobs && s.Jobs >= 0 && o.Jobs >= 0 {
		d = append(d, fmt.Sprintf("jobs queued: %d -> %d", s.Jobs, o.Jobs))
	}
	return strings.Join(d, "; ")
}

// drawRole draws a built-in role or a new custom one with a random subset
// of the permissions (it is created); n makes its name unique.
func (ts *testServer) drawRole(t *rapid.T, n int, roles ...string) string {
	role := rapid.SampledFrom(roles).Draw(t, "role")
	if role != "custom" {
		return role
	}
	var perms []identity.Permission
	for _, p := range identity.Permissions() {
		if rapid.Bool().Draw(t, string(p)) {
			perms = append(perms, p)
		}
	}
	name := fmt.Sprintf("custom-%d", n)
	if _, err := ts.Identity.AddRole(context.Background(), identity.Actor{Name: "test"}, name, perms); err != nil {
		t.Fatal(err)
	}
	return name
}

// fixtures gives a property test a server with an admin (root, whose API
// token is token 1), a custom role nobody has (spare), two completed
// backups (the second protected) and a finished backup job.
func fixtures(t *testing.T) (ts *testServer, admin *user, backups []int64, jobID int64) {
	ts = newTestServer(t)
	admin = ts.addUser("root", "admin")
	b1, b2 := ts.backupNow(), ts.backupNow()
	if _, err := ts.Engine.SetProtected(t.Context(), b2.ID, true, engine.Actor{Name: "cli:test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Identity.AddRole(t.Context(), identity.Actor{Name: "test"}, "spare", []identity.Permission{identity.PermView}); err != nil {
		t.Fatal(err)
	}
	var job JobView
	if code := admin.api("POST", "/api/v1/backups", nil, &job); code != http.StatusAccepted {
		t.Fatalf("queue a backup: %d", code)
	}
	ts.waitJob(job.ID)
	return ts, admin, []int64{b1.ID, b2.ID}, job.ID
}

// Property 16: for every route of the UI and the API and every role
// (built-in, and custom roles with any subset of the permissions), a user
// lacking the route's permission gets 403 and nothing changes.
func TestWebProperty16_WithoutThePermissionEveryRouteIs403AndChangesNothing(t *testing.T) {
	ts, _, backups, jobID := fixtures(t)
	routes := ts.routes()
	denied := 0
	// The built-in roles: every route, in order.
	for _, role := range []string{identity.RoleAdmin, identity.RoleOperator, identity.RoleViewer} {
		u := ts.addUser("builtin-"+role, role)
		denied += ts.refused(t, u, role, routes, backups[0], jobID, len(routes))
	}
	// Custom roles with any subset of the permissions: routes in any
	// order, any backup, a dozen routes each.
	n := 0
	checkN(t, 20, func(rt *rapid.T) {
		n++
		role := ts.drawRole(rt, n, "custom")
		u := ts.addUser(fmt.Sprintf("user%d", n), role)
		target := rapid.SampledFrom(backups).Draw(rt, "backup")
		order := rapid.Permutation(indexes(len(routes))).Draw(rt, "order")
		shuffled := make([]webRoute, len(routes))
		for k, i := range order {
			shuffled[k] = routes[i]
		}
		denied += ts.refused(rt, u, role, shuffled, target, jobID, 12)
	})
	if denied < len(routes) {
		t.Fatalf("only %d requests refused: the property tested too little", denied)
	}
	t.Logf("%d refused requests over %d routes", denied, len(routes))
}

// refused sends up to max of routes that role may not use, as u, and
// fails unless each is 403 and changes nothing. It returns how many it
// sent.
func (ts *testServer) refused(t interface{ Fatalf(string, ...any) }, u *user, role string, routes []webRoute, target, jobID int64, max int) int {
	// Refused requests change nothing, so one state before them all is
	// the state after each.
	before := ts.state(true)
	n := 0
	for _, r := range routes {
		if n == max {
			break
		}
		if ts.can(role, r) {
			continue
		}
		n++
		res, body := u.call(r, target, jobID, "p16")
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("role %s, %s (API %v) on backup %d: %d, want 403: %.300s", role, r, r.API, target, res.StatusCode, body)
		}
		if r.API && apiErr(ts.t, body).Code != backup.EFORBIDDEN {
			t.Fatalf("role %s, %s: %s", role, r, body)
		}
		if d := before.diff(ts.state(false)); d != "" {
			t.Fatalf("role %s, %s on backup %d was refused but changed: %s", role, r, target, d)
		}
	}
	// A job a refused request queued would show here (or, had it run, in
	// the records and the database above).
	if d := before.diff(ts.state(true)); d != "" {
		t.Fatalf("role %s: refused requests changed: %s", role, d)
	}
	return n
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// auditLogRoutes are the routes of the audit log; a view-only user may
// read them (8.2).
var auditLogRoutes = []webRoute{
	{Method: "GET", Path: "/audit"},
	{Method: "GET", Path: "/audit.csv"},
	{API: true, Method: "GET", Path: "/api/v1/audit"},
}

// Property 17: a view-only user (the viewer role, or a custom role with
// backups.view alone) can list, show and see the audit log, and gets 403
// for everything else (but the page of its own API tokens, which every
// user has).
func TestWebProperty17_AViewOnlyUserCanListShowAndSeeTheAuditLogAndNothingElse(t *testing.T) {
	ts, _, backups, jobID := fixtures(t)
	routes := ts.routes()
	if _, err := ts.Identity.AddRole(t.Context(), identity.Actor{Name: "test"}, "readonly", []identity.Permission{identity.PermView}); err != nil {
		t.Fatal(err)
	}
	var allowedSeen, deniedSeen int
	n := 0
	checkN(t, 8, func(rt *rapid.T) {
		n++
		role := rapid.SampledFrom([]string{identity.RoleViewer, "readonly"}).Draw(rt, "role")
		u := ts.addUser(fmt.Sprintf("viewer%d", n), role)
		target := rapid.SampledFrom(backups).Draw(rt, "backup")
		for _, i := range rapid.Permutation(indexes(len(routes))).Draw(rt, "order") {
			r := routes[i]
			if r.Route.any {
				continue // one's own API tokens: not a backup operation (tokens tests)
			}
			res, body := u.call(r, target, jobID, "p17")
			viewOnly := r.Route.perm == identity.PermView && !r.Route.admin && r.Method == "GET"
			switch {
			case viewOnly && res.StatusCode != http.StatusOK:
				rt.Fatalf("%s %s on backup %d: %d, want 200: %.300s", role, r, target, res.StatusCode, body)
			case !viewOnly && res.StatusCode != http.StatusForbidden:
				rt.Fatalf("%s %s on backup %d: %d, want 403: %.300s", role, r, target, res.StatusCode, body)
			case viewOnly:
				allowedSeen++
			default:
				deniedSeen++
			}
		}
		// The list, as HTML and JSON, holds the target; its page shows it
		// with its audit history.
		_, body := u.call(webRoute{Method: "GET", Path: "/backups"}, target, jobID, "p17")
		if !strings.Contains(string(body), `data-id="`+id(target)+`"`) {
			rt.Fatalf("the list page lacks backup %d", target)
		}
		var list backupList
		if code := u.api("GET", "/api/v1/backups", nil, &list); code != 200 || !slices.ContainsFunc(list.Backups, func(b *backup.Backup) bool { return b.ID == target }) {
			rt.Fatalf("GET /api/v1/backups: %d, without backup %d", code, target)
		}
		_, body = u.call(webRoute{Method: "GET", Path: "/backups/{id}"}, target, jobID, "p17")
		// (Its views above are in the history: this one is recorded after.)
		if !strings.Contains(string(body), `<td>`+u.Name+`</td><td>view</td><td><span class="badge success">`) {
			rt.Fatalf("backup %d's page shows no audit history with %s's view: %.2000s", target, u.Name, body)
		}
		// The audit log holds what the user just did.
		for _, r := range auditLogRoutes {
			res, body := u.call(r, target, jobID, "p17")
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), u.Name) {
				rt.Fatalf("%s %s: %d, want 200 with %s's entries: %.300s", role, r, res.StatusCode, u.Name, body)
			}
		}
	})
	if allowedSeen == 0 || deniedSeen == 0 {
		t.Fatalf("allowed %d, refused %d: the property tested too little", allowedSeen, deniedSeen)
	}
}

// op is one operation of Property 18.
type op struct {
	Kind string // list, view, create, delete, protect, unprotect, download, restore
	API  bool
}

// route is the route op uses.
func (o op) route() webRoute {
	m := map[string]webRoute{
		"list":      {Method: "GET", Path: "/backups", Route: canList},
		"view":      {Method: "GET", Path: "/backups/{id}", Route: canView},
		"create":    {Method: "POST", Path: "/backups", Route: canCreate},
		"delete":    {Method: "POST", Path: "/backups/{id}/delete", Route: canDelete},
		"protect":   {Method: "POST", Path: "/backups/{id}/protect", Route: canProtect},
		"unprotect": {Method: "POST", Path: "/backups/{id}/unprotect", Route: canUnprotect},
		"download":  {Method: "GET", Path: "/backups/{id}/download", Route: canDownload},
		"restore":   {Method: "POST", Path: "/backups/{id}/restore", Route: canRestore},
	}
	r := m[o.Kind]
	if o.API {
		r.API = true
		r.Path = "/api/v1" + r.Path
		switch o.Kind {
		case "delete":
			r.Method, r.Path = "DELETE", "/api/v1/backups/{id}"
		}
	}
	return r
}

var jobPath = regexp.MustCompile(`/jobs/(\d+)$`)

// Property 18: every operation by a signed-in user, through the UI or the
// API, allowed or denied, on a backup that exists or not, leaves exactly
// one audit entry of its action with the user's id, the backup's id,
// the source address, the user agent and the time (a restore also
// records its pre-restore backup, as a create).
func TestWebProperty18_EveryOperationLeavesExactlyOneMatchingAuditEntry(t *testing.T) {
	ts, _, _, _ := fixtures(t)
	kinds := []string{"list", "view", "create", "delete", "protect", "unprotect", "download", "restore"}
	const missing = 987654
	n, ops := 0, 0
	tried := map[string]int{} // "create allowed" -> count
	checkN(t, 20, func(rt *rapid.T) {
		n++
		role := ts.drawRole(rt, n, identity.RoleAdmin, identity.RoleAdmin, identity.RoleOperator, identity.RoleViewer, "custom")
		u := ts.addUser(fmt.Sprintf("actor%d", n), role)
		steps := rapid.IntRange(1, 3).Draw(rt, "steps")
		for k := range steps {
			o := op{Kind: rapid.SampledFrom(kinds).Draw(rt, "kind"), API: rapid.Bool().Draw(rt, "api")}
			r := o.route()
			list, _, err := ts.Catalog.FindBackups(context.Background(), backup.BackupFilter{})
			if err != nil {
				rt.Fatal(err)
			}
			ids := []int64{missing}
			for _, b := range list {
				ids = append(ids, b.ID)
			}
			target := rapid.SampledFrom(ids).Draw(rt, "backup")
			ua := fmt.Sprintf("prop18/%d.%d", n, k)
			before := time.Now()
			res, body := u.call(r, target, 0, ua)
			allowed := ts.can(role, r)
			if allowed && (o.Kind == "create" || o.Kind == "restore") && res.StatusCode < 400 {
				var job int64
				if m := jobPath.FindStringSubmatch(res.Header.Get("Location")); m != nil {
					job, _ = strconv.ParseInt(m[1], 10, 64)
				}
				if job == 0 {
					rt.Fatalf("%s %s: %d without a job: %s", role, r, res.StatusCode, body)
				}
				ts.waitJob(job)
			}
			after := time.Now()
			ops++
			tried[fmt.Sprintf("%s allowed=%v", o.Kind, allowed)]++

			want := r.Route.action
			var wantBackup *int64
			if strings.Contains(r.Path, "{id}") {
				wantBackup = &target
			}
			entries := ts.auditByUA(ua)
			var main []*backup.AuditEntry
			extra := 0
			for _, e := range entries {
				switch {
				case e.Action == want:
					main = append(main, e)
				case o.Kind == "restore" && e.Action == backup.ActionCreate && extra == 0 && allowed:
					extra++ // the pre-restore backup
				default:
					rt.Fatalf("%s %s (API %v) on %d: an unexpected entry %+v", role, r, r.API, target, e)
				}
			}
			if len(main) != 1 {
				rt.Fatalf("%s %s (API %v) on %d (%d): %d entries of %s, want 1: %+v", role, r, r.API, target, res.StatusCode, len(main), want, entries)
			}
			e := main[0]
			switch {
			case e.UserID == nil || *e.UserID != u.ID || e.Actor != u.Name:
				rt.Fatalf("%s: entry of user %v %q, want %d %q", r, e.UserID, e.Actor, u.ID, u.Name)
			case o.Kind == "create" && allowed && (e.BackupID == nil || e.Outcome != "success"):
				rt.Fatalf("%s: the backup's entry has no backup or failed: %+v", r, e)
			case wantBackup != nil && (e.BackupID == nil || *e.BackupID != *wantBackup):
				rt.Fatalf("%s on %d: entry of backup %v", r, target, e.BackupID)
			case o.Kind == "list" && e.BackupID != nil:
				rt.Fatalf("%s: list entry names backup %d", r, *e.BackupID)
			case e.SourceAddress != "127.0.0.1" || e.UserAgent != ua:
				rt.Fatalf("%s: entry from %q %q", r, e.SourceAddress, e.UserAgent)
			case e.CreatedAt.Before(before.Add(-time.Second)) || e.CreatedAt.After(after.Add(time.Second)):
				rt.Fatalf("%s: entry at %s, the request ran %s-%s", r, e.CreatedAt, before, after)
			case !allowed && e.Outcome != "denied":
				rt.Fatalf("%s by %s: refused, but the entry says %q", r, role, e.Outcome)
			case allowed && e.Outcome == "denied":
				rt.Fatalf("%s by %s: allowed, but the entry says denied", r, role)
			case !allowed && res.StatusCode != http.StatusForbidden:
				rt.Fatalf("%s by %s: %d, want 403", r, role, res.StatusCode)
			}
		}
	})
	if ops == 0 {
		t.Fatal("no operation was tried")
	}
	t.Logf("%d operations: %v", ops, tried)
}
