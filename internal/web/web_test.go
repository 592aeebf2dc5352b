package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// The path a user takes: create a backup in the UI, follow its job to
// the end, see it in the list and on its page, download exactly its
// bytes, restore it with the typed confirmation.
func TestCreateDownloadRestoreThroughThePages(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")

	res, err := admin.Browser.PostForm(ts.URL+"/backups", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	m := regexp.MustCompile(`^/jobs/(\d+)$`).FindStringSubmatch(res.Request.URL.Path)
	if m == nil {
		t.Fatalf("create backup went to %s, want a job page", res.Request.URL)
	}
	job, _ := strconv.ParseInt(m[1], 10, 64)
	st := ts.waitJob(job)
	if st.State != "completed" || st.BackupID == 0 {
		t.Fatalf("backup job: %+v", st)
	}
	code, body := admin.page("GET", "/jobs/"+m[1], nil)
	if code != 200 || !strings.Contains(body, "Backup completed") || !strings.Contains(body, "/backups/"+strconv.FormatInt(st.BackupID, 10)) {
		t.Fatalf("job page after the end: %d\n%s", code, body)
	}
	b, err := ts.Catalog.FindBackupByID(t.Context(), st.BackupID)
	if err != nil || b.CreatedBy != "alice" || b.Source != "manual_ui" {
		t.Fatalf("backup record: %+v, %v", b, err)
	}
	code, body = admin.page("GET", "/backups", nil)
	if code != 200 || !strings.Contains(body, `data-id="`+strconv.FormatInt(b.ID, 10)+`"`) {
		t.Fatalf("list: %d\n%s", code, body)
	}
	code, body = admin.page("GET", "/backups/"+strconv.FormatInt(b.ID, 10), nil)
	if code != 200 || !strings.Contains(body, b.SHA256) {
		t.Fatalf("detail: %d", code)
	}

	code, data := admin.page("GET", "/backups/"+strconv.FormatInt(b.ID, 10)+"/download", nil)
	stored, err := ts.Engine.Storage.Open(t.Context(), b.Filename)
	if err != nil {
		t.Fatal(err)
	}
	want := new(strings.Builder)
	if _, err := copyAll(want, stored); err != nil {
		t.Fatal(err)
	}
	stored.Close()
	if code != 200 || data != want.String() {
		t.Fatalf("download: %d, %d bytes, want %d", code, len(data), want.Len())
	}

	code, body = admin.page("POST", "/backups/"+strconv.FormatInt(b.ID, 10)+"/restore", url.Values{"confirm": {"not-the-name"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Type the database name") {
		t.Fatalf("restore with a wrong name: %d", code)
	}
	res, err = admin.Browser.PostForm(ts.URL+"/backups/"+strconv.FormatInt(b.ID, 10)+"/restore", url.Values{"confirm": {"hms"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	m = regexp.MustCompile(`^/jobs/(\d+)$`).FindStringSubmatch(res.Request.URL.Path)
	if m == nil {
		t.Fatalf("restore went to %s", res.Request.URL)
	}
	job, _ = strconv.ParseInt(m[1], 10, 64)
	if st := ts.waitJob(job); st.State != "completed" {
		t.Fatalf("restore job: %+v", st)
	}
	code, body = admin.page("GET", "/jobs/"+m[1], nil)
	if code != 200 || !strings.Contains(body, "Restored backup #"+strconv.FormatInt(b.ID, 10)) {
		t.Fatalf("restore outcome page: %d\n%s", code, body)
	}
	var restored bool
	for _, e := range ts.audit() {
		if e.Action == "restore" && e.Outcome == "success" && e.Actor == "alice" && e.UserID != nil && *e.UserID == admin.ID && e.SourceAddress == "127.0.0.1" {
			restored = true
		}
	}
	if !restored {
		t.Fatalf("no audit entry of alice's restore with her address: %+v", ts.audit())
	}
}

// While a backup is being written (here: a CLI backup's pending record),
// "Create backup" queues nothing and says why.
func TestCreateBackupWhileOneRunsQueuesNothing(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	pending := &backup.Backup{Filename: "hms_backup_20261129_010203.sqlite.gz", Status: backup.StatusPending, Source: backup.SourceManualCLI, CreatedBy: "cli:bob"}
	if err := ts.Catalog.CreateBackup(t.Context(), pending); err != nil {
		t.Fatal(err)
	}
	code, body := admin.page("POST", "/backups", url.Values{})
	if code != 200 || !strings.Contains(body, "Not queued: backup "+strconv.FormatInt(pending.ID, 10)+" of the database is being written (by cli:bob)") {
		t.Fatalf("create while a backup is written: %d\n%s", code, body)
	}
	if jobs, err := ts.Queue.Active(t.Context()); err != nil || len(jobs) != 0 {
		t.Fatalf("queued anyway: %+v, %v", jobs, err)
	}
}

// A session ends after its idle time without a request, and after its
// lifetime however busy: the next page is the sign-in.
func TestSessionsEndWhenIdleAndAfterTheirLifetime(t *testing.T) {
	for _, tc := range []struct {
		name           string
		idle, lifetime time.Duration
		busyRequests   int           // requests 300 ms apart before the check
		wait           time.Duration // then quiet for this long
	}{
		{"idle", 400 * time.Millisecond, time.Hour, 0, 1500 * time.Millisecond},
		{"lifetime", time.Hour, 2 * time.Second, 3, 1600 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.SessionIdle, c.SessionLifetime = tc.idle, tc.lifetime })
			u := ts.addUser("alice", "viewer")
			for range tc.busyRequests {
				time.Sleep(300 * time.Millisecond)
				if code, _, at := u.submit("GET", "/backups", nil); code != 200 || at != "/backups" {
					t.Fatalf("an active session ended early: %d at %s", code, at)
				}
			}
			// Past the idle time, or past the lifetime since sign-in.
			time.Sleep(tc.wait)
			if code, _, at := u.submit("GET", "/backups", nil); code != 200 || at != "/sign-in" {
				t.Fatalf("the session outlived its %s: %d at %s", tc.name, code, at)
			}
		})
	}
}
