package main

// Browser tests (issue 9): a real Chromium, headless, driven by chromedp,
// against a real `hmsbackup serve` on a real port with a temp data
// directory and the sample SQLite database. They run in CI (.ci/run
// installs chromium); without chromium they fail when CI is set.
//
// HMSBACKUP_SCREENSHOTS=1 also writes the screenshots they take to
// docs/screenshots/ (laptop 1280x800, one phone 390x844); without it the
// screenshots are taken and checked but the tracked files stay as they
// are.

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium (or another Chrome) on PATH. In CI
// (CI set) a missing browser fails the test: it must never be skipped
// there.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: run scripts/install-deps (apt-get install chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// tab is one headless Chromium tab and the server it talks to.
type tab struct {
	t    *testing.T
	ctx  context.Context // the chromedp context (no deadline: it owns the browser)
	base string          // http://127.0.0.1:PORT
	w, h int64           // the viewport
}

// newTab starts a headless Chromium (its own temp profile, removed when
// it ends) with a laptop-sized viewport.
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("lang", "en-US"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &tab{t: t, ctx: ctx, base: base}
	// The first Run starts the browser; it gets no deadline, which would
	// stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Every page records what its Content-Security-Policy refused (an
	// inline style="" attribute, an inline script): cspViolations.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__csp = [];
		document.addEventListener("securitypolicyviolation", function (e) {
			window.__csp.push(e.violatedDirective + " at line " + e.lineNumber + ": " + e.sample);
		});`}); err != nil {
		t.Fatalf("install the CSP listener: %v", err)
	}
	b.viewport(1280, 800, false)
	return b
}

// checkCSP fails the test if the page shown now had anything refused by
// its Content-Security-Policy: what it refuses, a user does not see.
func (b *tab) checkCSP() {
	b.t.Helper()
	v := runIn(b, "read the CSP violations", chromedp.Evaluate[[]string](`window.__csp || []`))
	if len(v) > 0 {
		b.t.Errorf("%s: the Content-Security-Policy refused %d thing(s): %q", b.path(), len(v), v)
	}
}

// step bounds one browser step, so that a page that never shows what is
// waited for fails the test instead of hanging it.
func (b *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 90*time.Second)
}

// do runs steps; any error fails the test, saying what was being done.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.location())
	}
}

// run runs one action that returns a value.
func runIn[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.location())
	}
	return v
}

// response runs steps that load a page and returns its HTTP status.
func (b *tab) response(what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return res.Status
}

// open navigates to path and returns the HTTP status of the page.
func (b *tab) open(path string) int64 {
	b.t.Helper()
	res := runIn(b, "open "+path, chromedp.NavigateResponse(b.base+path))
	return res.Status
}

func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// path is the path of the page shown now.
func (b *tab) path() string {
	return strings.TrimPrefix(b.location(), b.base)
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return runIn(b, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// count is how many elements sel matches on the page now (0 if none).
func (b *tab) count(sel string) int {
	b.t.Helper()
	return runIn(b, "count "+sel, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
}

// bodyText is the page's visible text.
func (b *tab) bodyText() string {
	b.t.Helper()
	return runIn(b, "read the page", chromedp.Evaluate[string]("document.body.innerText"))
}

func (b *tab) viewport(w, h int64, mobile bool) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	b.do("set the viewport", chromedp.EmulateViewport(w, h, opts...))
	b.w, b.h = w, h
}

// screenshot captures the viewport, checks it is a PNG of the viewport's
// size, and with HMSBACKUP_SCREENSHOTS=1 writes it to
// docs/screenshots/NAME.png.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	b.checkCSP()
	img := runIn(b, "screenshot "+name, chromedp.CaptureScreenshot())
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if int64(cfg.Width) != b.w || int64(cfg.Height) != b.h {
		b.t.Errorf("screenshot %s is %dx%d, want the viewport's %dx%d", name, cfg.Width, cfg.Height, b.w, b.h)
	}
	if os.Getenv("HMSBACKUP_SCREENSHOTS") == "" {
		return
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn fills the sign-in form and lands on the backups list.
func (b *tab) signIn(name, password string) {
	b.t.Helper()
	b.open("/")
	if p := b.path(); !strings.HasPrefix(p, "/sign-in") {
		b.t.Fatalf("/ without a session went to %s, want the sign-in page", p)
	}
	b.do("sign in as "+name,
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("backups")),
	)
	if p := b.path(); p != "/backups" {
		b.t.Fatalf("after sign-in: %s, want /backups", p)
	}
}

// waitOutcome waits on a job page until the job's outcome is shown (app.js
// polls the progress and reloads the page at the end) and returns it.
func (b *tab) waitOutcome(what string) string {
	b.t.Helper()
	if p := b.path(); !regexp.MustCompile(`^/jobs/\d+$`).MatchString(p) {
		b.t.Fatalf("%s: on %s, want a job page", what, p)
	}
	b.untilReloaded(what+": wait for the outcome", chromedp.WaitVisible(chromedp.ID("outcome")))
	return b.text("#outcome")
}

// untilReloaded runs step on a job page, whose script reloads it when the
// job ends; a step cut short by that reload runs again on the new page.
func (b *tab) untilReloaded(what string, step chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	for i := 0; ; i++ {
		ctx, cancel := b.step()
		err := chromedp.Do(ctx, step)
		cancel()
		if err == nil {
			return
		}
		if i == 5 || !navigated(err) {
			b.t.Fatalf("%s: %v\npage: %s", what, err, b.location())
		}
	}
}

// navigated reports whether err is a step cut short by the page going
// away (a reload or a navigation).
func navigated(err error) bool {
	return strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "Cannot find context with specified id")
}

// click clicks sel, which loads another page, and returns its HTTP
// status once it has loaded.
func (b *tab) click(sel string) int64 {
	b.t.Helper()
	return b.response("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func ptrTo[T any](v T) *T { return &v }

// The newcomer's path through the web UI in a real browser: sign in with
// the password the first serve printed; create backups and watch their
// jobs to the end; the list, a backup's page, its download (the same
// bytes as the file in data/backups), its restore with the typed database
// name and the outcome; settings with an invalid cron, then a valid one;
// the audit log; a cross-origin form refused; a viewer who sees no
// controls and gets 403 when forcing their URLs.
func TestBrowserTakesDownloadsAndRestoresABackup(t *testing.T) {
	chromiumPath(t) // before building anything
	bin := buildBinary(t)
	dataDir := t.TempDir()
	env := map[string]string{"HMSBACKUP_DATA_DIR": dataDir, "HMSBACKUP_TIMEZONE": "Europe/Berlin"}
	// The first command creates the sample database; a table of scanned
	// documents (96 MiB, as hex text) makes its backups and restores take
	// long enough (about a second) to watch their progress.
	mustOK(t, cliRun(t, env, "list"))
	execSQLite(t, filepath.Join(dataDir, "hms.db"),
		`CREATE TABLE scanned_documents (id INTEGER PRIMARY KEY, patient_id INTEGER, pdf BLOB)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 96)
		 INSERT INTO scanned_documents SELECT i, i, hex(randomblob(524288)) FROM n`)
	_, logs, addr := startServeAt(t, bin, env)
	m := regexp.MustCompile(`Created the first user: admin, password: (\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("serve printed no first password:\n%s", logs.String())
	}
	// It says where to go once it serves (a moment after /healthz answers).
	waitFor(t, "serve to print the address to open", func() bool {
		return strings.Contains(logs.String(), "hmsbackup: open http://"+addr+"/ in a browser")
	})
	b := newTab(t, "http://"+addr)

	// Sign in: a wrong password first, then the printed one.
	b.open("/")
	b.screenshot("signin")
	b.do("sign in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "not the password"),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.signin .alert.bad`)),
	)
	if got := b.text(".signin .alert.bad"); got != "Wrong user name or password." {
		t.Errorf("wrong password says %q", got)
	}
	b.signIn("admin", m[1])
	if b.count("#backups tbody tr[data-id]") != 0 {
		t.Fatal("a fresh data directory lists backups")
	}

	// Create a backup with the button; its job page follows the progress
	// (app.js polls and reloads at the end) until it says completed.
	b.click("#create-backup")
	live := b.count("[data-job]") == 1
	if live {
		// Still running when the page was drawn: the live path. app.js
		// shows the state and phase it polls (bytes when the dumper
		// reports them) and reloads the page when the job ends, which the
		// test waits for without reloading itself.
		ctx, cancel := b.step()
		txt, err := chromedp.Run(ctx, chromedp.Poll[string](`(function () {
			var p = document.querySelector("[data-job] [data-progress-text]");
			if (!p) { return "ended"; }
			var s = document.querySelector("[data-state]").textContent;
			return s === "running" ? s + " | " + p.textContent : "";
		})()`))
		cancel()
		switch {
		case err != nil && !navigated(err):
			t.Fatalf("watch the progress: %v", err)
		case err == nil && txt != "ended":
			// The phase: queued until the worker's first write, then dumping.
			if !regexp.MustCompile(`^running \| (queued|starting|dumping|uploading)`).MatchString(txt) {
				t.Errorf("live progress says %q, want running and the phase", txt)
			}
			b.screenshot("job-progress")
		}
	} else {
		t.Log("the backup was done before its job page was drawn: no live progress seen")
	}
	outcome := b.waitOutcome("backup job")
	if !strings.HasPrefix(outcome, "Backup completed: backup #") {
		t.Fatalf("backup job outcome: %q", outcome)
	}
	if got := b.text("[data-state]"); got != "completed" {
		t.Errorf("job state badge %q, want completed", got)
	}
	b.screenshot("job-completed")
	first := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(outcome)[1]

	// Two more, for a list with a few backups: one by the button, one by
	// the CLI.
	b.open("/backups")
	b.click("#create-backup")
	if o := b.waitOutcome("second backup job"); !strings.HasPrefix(o, "Backup completed") {
		t.Fatalf("second backup job: %q", o)
	}
	mustOK(t, cliRun(t, env, "create"))
	list := listBackups(t, env)
	if len(list) != 3 {
		t.Fatalf("after three backups the catalog has %d: %v", len(list), list)
	}
	b.open("/backups")
	if n := b.count("#backups tbody tr[data-id]"); n != 3 {
		t.Fatalf("the list shows %d backups, want 3", n)
	}
	for _, want := range []string{"manual_ui", "manual_cli", "admin", "completed", "Page 1 of 1 · 3 backups", "MiB"} {
		if !strings.Contains(b.bodyText(), want) {
			t.Errorf("the list does not show %q:\n%s", want, b.bodyText())
		}
	}
	if zone := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (CET|CEST)`); !zone.MatchString(b.text("#backups tbody")) {
		t.Errorf("the list's times are not in the configured zone (Europe/Berlin): %s", b.text("#backups tbody"))
	}
	// Each row is one table row: the locations cell stays a table cell
	// (it was display:inline-flex, which pushed it out of its row).
	if d := runIn(b, "the locations cell's display", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#backups td.loc")).display`)); d != "table-cell" {
		t.Errorf("the list's locations cell is display:%s, want table-cell", d)
	}
	b.screenshot("backups")
	b.viewport(390, 844, true)
	b.open("/backups")
	b.screenshot("backups-phone")
	b.viewport(1280, 800, false)

	// The first backup's page: what the catalog says about it.
	var rec map[string]any
	for _, r := range list {
		if strconv.FormatFloat(r["id"].(float64), 'f', -1, 64) == first {
			rec = r
		}
	}
	if rec == nil {
		t.Fatalf("backup %s is not in the catalog: %v", first, list)
	}
	b.open("/backups")
	b.do("open backup "+first, chromedp.Click(chromedp.CSS(`#backups a[href="/backups/`+first+`"]`)), chromedp.WaitVisible(chromedp.ID("sha256")))
	if got := b.text("#sha256"); got != rec["sha256"] {
		t.Errorf("the backup page's SHA-256 is %q, the catalog's %q", got, rec["sha256"])
	}
	if !strings.Contains(b.bodyText(), rec["filename"].(string)) {
		t.Errorf("the backup page does not name its file %s", rec["filename"])
	}
	b.screenshot("backup")

	// Download: the browser saves exactly the bytes of data/backups/FILE.
	dlDir := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dlDir, EventsEnabled: ptrTo(true)}); err != nil {
		t.Fatalf("set the download directory: %v", err)
	}
	dctx, cancel := b.step()
	downloads := chromedp.BrowserEvents(dctx, browser.DownloadProgress)
	b.do("click Download", chromedp.Click(chromedp.ID("download")))
	var saved string
	for ev, err := range downloads {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the browser cancelled the download")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			saved = filepath.Join(dlDir, ev.GUID)
			break
		}
	}
	cancel()
	got, err := os.ReadFile(saved)
	if err != nil {
		t.Fatalf("the downloaded file: %v", err)
	}
	stored, err := os.ReadFile(filepath.Join(dataDir, "backups", rec["filename"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) < 1<<20 || !bytes.Equal(got, stored) {
		t.Fatalf("downloaded %d bytes, the file in data/backups has %d: not the same", len(got), len(stored))
	}

	// Restore: the wrong name is refused on the form; the database's name
	// queues the restore, whose job page shows the outcome.
	b.do("open the restore page", chromedp.Click(chromedp.ID("restore")), chromedp.WaitVisible(chromedp.ID("confirm")))
	if !strings.Contains(b.bodyText(), "Restore backup #"+first+" into hms") {
		t.Errorf("the restore page does not say what it restores into:\n%s", b.bodyText())
	}
	b.do("type the database name", chromedp.SendKeys(chromedp.ID("confirm"), "hms"))
	b.screenshot("restore")
	b.do("type a wrong name", chromedp.Clear(chromedp.ID("confirm")), chromedp.SendKeys(chromedp.ID("confirm"), "hmsx"))
	if code := b.response("restore with a wrong name", chromedp.Click(chromedp.ID("confirm-restore"))); code != http.StatusUnprocessableEntity {
		t.Errorf("restore with a wrong name: HTTP %d, want 422", code)
	}
	if got := b.text(".field-error"); !strings.Contains(got, "Type the database name, hms, exactly") {
		t.Errorf("wrong name says %q", got)
	}
	b.do("type the database name", chromedp.Clear(chromedp.ID("confirm")), chromedp.SendKeys(chromedp.ID("confirm"), "hms"))
	if code := b.click("#confirm-restore"); code != http.StatusOK {
		t.Errorf("restore: HTTP %d", code)
	}
	outcome = b.waitOutcome("restore job")
	if !strings.HasPrefix(outcome, "Restored backup #"+first+".") || !strings.Contains(outcome, "Pre-restore backup #") {
		t.Fatalf("restore outcome: %q", outcome)
	}
	b.screenshot("restore-completed")
	var pre bool
	for _, r := range listBackups(t, env) {
		pre = pre || (r["source"] == "pre_restore" && r["status"] == "completed")
	}
	if !pre {
		t.Error("the restore took no pre-restore backup")
	}
	if n := querySQLite(t, filepath.Join(dataDir, "hms.db"), "SELECT COUNT(*) FROM scanned_documents"); n != "96" {
		t.Errorf("after the restore the database has %s scanned documents, want 96", n)
	}

	// Settings: an invalid cron comes back with the message next to the
	// field and nothing saved; a valid one is saved and previews the runs.
	b.open("/settings")
	b.do("fill in an invalid schedule",
		chromedp.Click(chromedp.CSS(`input[type=checkbox][name=schedule_enabled]`)),
		chromedp.SetValue(chromedp.ID("schedule_frequency"), "custom"),
		chromedp.Clear(chromedp.ID("cron_expression")),
		chromedp.SendKeys(chromedp.ID("cron_expression"), "61 25 * * *"),
	)
	if code := b.response("save an invalid cron", chromedp.Click(chromedp.ID("save-settings"))); code != http.StatusUnprocessableEntity {
		t.Errorf("save an invalid cron: HTTP %d, want 422", code)
	}
	b.do("see the errors", chromedp.WaitVisible(chromedp.ID("settings-errors")))
	// The message is in the field's label, right under the field.
	cronErr := runIn(b, "read the cron's error", chromedp.Evaluate[[]any](`(function () {
		var f = document.getElementById("cron_expression"), e = f.parentElement.querySelector(".field-error");
		if (!e) { return ["", false]; }
		var fb = f.getBoundingClientRect(), eb = e.getBoundingClientRect();
		var next = f.parentElement.nextElementSibling.getBoundingClientRect();
		return [e.textContent, eb.top >= fb.bottom && eb.top - fb.bottom < 20 && eb.left <= fb.left + 2 && next.top >= eb.bottom];
	})()`))
	if cronErr[0] == "" || cronErr[1] != true {
		t.Errorf("the cron field's message %q is not right under the field (%v):\n%s", cronErr[0], cronErr[1], b.bodyText())
	}
	if v := runIn(b, "read the cron field", chromedp.Value(chromedp.ID("cron_expression"))); v != "61 25 * * *" {
		t.Errorf("the invalid cron came back as %q, not as typed", v)
	}
	b.screenshot("settings-invalid")
	if s := mustOK(t, cliRun(t, env, "settings", "show")).stdout; regexp.MustCompile(`(?m)^schedule_enabled\s+true`).MatchString(s) {
		t.Errorf("an invalid form saved something:\n%s", s)
	}
	b.do("fill in a valid schedule",
		chromedp.Clear(chromedp.ID("cron_expression")),
		chromedp.SendKeys(chromedp.ID("cron_expression"), "30 1 * * 1-5"),
	)
	if code := b.response("save a valid cron", chromedp.Click(chromedp.ID("save-settings"))); code != http.StatusOK {
		t.Errorf("save a valid cron: HTTP %d, want 200", code)
	}
	if n := b.count("#next-runs li"); n < 3 || b.count(".field-error") != 0 {
		t.Errorf("after a valid save: %d next runs, %d field errors:\n%s", n, b.count(".field-error"), b.bodyText())
	}
	if !strings.Contains(b.bodyText(), "Saved") {
		t.Errorf("a valid save does not say it saved:\n%s", b.bodyText())
	}
	b.screenshot("settings")
	s := mustOK(t, cliRun(t, env, "settings", "show")).stdout
	if !regexp.MustCompile(`(?m)^schedule_enabled\s+true`).MatchString(s) || !regexp.MustCompile(`(?m)^cron_expression\s+30 1 \* \* 1-5`).MatchString(s) {
		t.Errorf("the valid form was not saved:\n%s", s)
	}

	// The audit log shows what the browser did, by admin.
	b.open("/audit")
	audit := b.text("#audit tbody")
	for _, want := range []string{"download", "restore", "settings", "sign-in"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit page does not show %q:\n%s", want, audit)
		}
	}
	b.screenshot("audit")
	// The admin's other pages draw without a refusal too.
	for _, p := range []string{"/users", "/tokens"} {
		if code := b.open(p); code != http.StatusOK {
			t.Errorf("admin GET %s: HTTP %d", p, code)
		}
		b.checkCSP()
	}

	// A form on another origin posting to hmsbackup with admin's cookie
	// is refused, and deletes nothing.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/backups/%s/delete"><button id="go">Win a prize</button></form>`, b.base, first)
	}))
	defer evil.Close()
	b.do("open another site", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.ID("go")))
	if code := b.response("post from another origin", chromedp.Click(chromedp.ID("go"))); code != http.StatusForbidden {
		t.Errorf("cross-origin form POST: HTTP %d, want 403", code)
	}
	if txt := b.bodyText(); !strings.Contains(txt, "Cross-origin request refused") {
		t.Errorf("cross-origin form POST says %q", txt)
	}
	if n := len(listBackups(t, env)); n != 4 {
		t.Errorf("after a refused cross-origin delete the catalog has %d backups, want 4", n)
	}

	// Sign out; a viewer signs in.
	b.open("/backups")
	b.do("sign out", chromedp.Click(chromedp.CSS(`form[action="/sign-out"] button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/sign-in"]`)))
	if code := b.open("/backups"); code != 200 || !strings.HasPrefix(b.path(), "/sign-in") {
		t.Errorf("after sign-out /backups went to %s (%d), want the sign-in page", b.path(), code)
	}
	mustOK(t, cliRunIn(t, env, "a viewer's long password\n", false, "user", "add", "vera", "--role", "viewer", "--password-stdin"))
	b.signIn("vera", "a viewer's long password")
	viewerSeesNoControls(t, b, first)
}

// viewerSeesNoControls checks, signed in as a viewer, that no page offers
// to create, delete, protect, restore, download or change settings, and
// that forcing those URLs gets 403 and changes nothing.
func viewerSeesNoControls(t *testing.T, b *tab, id string) {
	t.Helper()
	if n := b.count("#backups tbody tr[data-id]"); n != 4 {
		t.Errorf("the viewer sees %d backups, want 4", n)
	}
	for _, sel := range []string{"#create-backup", `a[href="/settings"]`, `a[href="/users"]`} {
		if b.count(sel) != 0 {
			t.Errorf("the viewer's list page has %s", sel)
		}
	}
	b.open("/backups/" + id)
	for _, sel := range []string{"#download", "#restore", "#delete", "#protect", "#unprotect", `form[action^="/backups/"]`} {
		if b.count(sel) != 0 {
			t.Errorf("the viewer's backup page has %s", sel)
		}
	}
	if b.text("#sha256") == "" {
		t.Error("the viewer does not see the backup's details")
	}
	b.screenshot("backup-viewer")
	// Typed into the address bar.
	for _, p := range []string{"/backups/" + id + "/restore", "/backups/" + id + "/delete", "/backups/" + id + "/download", "/settings"} {
		if code := b.open(p); code != http.StatusForbidden {
			t.Errorf("viewer GET %s: HTTP %d, want 403", p, code)
		}
		if txt := b.bodyText(); !strings.Contains(txt, "You may not do this") {
			t.Errorf("viewer GET %s says %q", p, txt)
		}
	}
	// A same-origin form POST passes the cross-origin check and meets the
	// permission check: 403.
	b.open("/backups")
	formPost := fmt.Sprintf(`(function () {
		var f = document.createElement("form"); f.method = "post"; f.action = "/backups/%s/delete";
		document.body.appendChild(f); f.submit(); })()`, id)
	if code := b.response("viewer form POST delete", chromedp.Evaluate[chromedp.Void](formPost)); code != http.StatusForbidden {
		t.Errorf("viewer form POST /backups/%s/delete: HTTP %d, want 403", id, code)
	}
	// And same-origin fetches of every state-changing route.
	b.open("/backups")
	statuses := runIn(b, "viewer POSTs", chromedp.Evaluate[[]int](fmt.Sprintf(`Promise.all([
		"/backups", "/backups/%[1]s/delete", "/backups/%[1]s/protect", "/backups/%[1]s/restore", "/settings"
	].map(function (u) {
		return fetch(u, {method: "POST", redirect: "manual", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "confirm=hms&retention_daily=1"})
			.then(function (r) { return r.status; });
	}))`, id), chromedp.EvalAwaitPromise))
	for i, code := range statuses {
		if code != http.StatusForbidden {
			t.Errorf("viewer fetch POST #%d: HTTP %d, want 403 (all: %v)", i, code, statuses)
		}
	}
	if len(statuses) != 5 {
		t.Errorf("viewer POSTs: %v", statuses)
	}
	// The list as it was: nothing created, deleted or protected.
	b.open("/backups")
	if n := b.count("#backups tbody tr[data-id]"); n != 4 {
		t.Errorf("after the viewer's attempts the list has %d backups, want 4", n)
	}
	if b.count(`#backups img[alt=protected]`) != 0 {
		t.Error("a viewer protected a backup")
	}
}
