package web

import (
	"context"
	"fmt"
	"html"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Property 6 (issue 9): for any set of backups in the catalog, the list as
// HTML (GET /backups, every page) and as JSON (GET /api/v1/backups, every
// page) shows each backup exactly once, newest first, with its time (in
// the configured zone in HTML), its size (human units in HTML, bytes in
// JSON), its locations (local, Google Drive, S3), its status and whether
// it is protected.
//
// The records go straight into the real catalog (CreateBackup, stamped by
// a generated clock); the pages come from the real handlers over HTTP.
func TestProperty6ListShowsTimeSizeLocationsAndStatusOfEveryBackup(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.addUser("alice", "admin")
	ctx := context.Background()
	// No jobs here: the queue's polling would only slow the cases down.
	if err := ts.Queue.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var serial int

	rapid.Check(t, func(rt *rapid.T) {
		// A fresh catalog of backups for each case.
		old, _, err := ts.Catalog.FindBackups(ctx, backup.BackupFilter{})
		if err != nil {
			rt.Fatal(err)
		}
		for _, b := range old {
			if err := ts.Catalog.DeleteBackup(ctx, b.ID); err != nil {
				rt.Fatal(err)
			}
		}
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(rt, "zone"))
		if err != nil {
			rt.Fatal(err)
		}
		ts.Engine.Location = loc

		n := rapid.IntRange(0, 110).Draw(rt, "backups")
		want := make([]*backup.Backup, 0, n)
		for i := range n {
			// Times across two years (DST changes in every zone), some
			// equal, so that the order falls back to the id.
			at := base.Add(time.Duration(rapid.Int64Range(0, 2*365*24*3600).Draw(rt, "second")) * time.Second)
			if i > 0 && rapid.IntRange(0, 9).Draw(rt, "same time") == 0 {
				at = want[len(want)-1].CreatedAt
			}
			serial++
			b := &backup.Backup{
				Filename:    fmt.Sprintf("hms_backup_p6_%06d.sql.gz", serial),
				Status:      rapid.SampledFrom([]backup.Status{backup.StatusCompleted, backup.StatusFailed, backup.StatusPending}).Draw(rt, "status"),
				Source:      rapid.SampledFrom([]backup.Source{backup.SourceManualUI, backup.SourceManualCLI, backup.SourceScheduled, backup.SourcePreRestore}).Draw(rt, "source"),
				FileSize:    drawSize(rt),
				IsLocal:     rapid.Bool().Draw(rt, "local"),
				IsProtected: rapid.Bool().Draw(rt, "protected"),
				CreatedBy:   "alice",
				Compression: backup.CompressionGzip,
				DBEngine:    "sqlite",
				DBName:      "hms",
			}
			if rapid.Bool().Draw(rt, "drive") {
				b.IsOnGoogleDrive, b.GoogleDriveFileID = true, fmt.Sprintf("drive-%d", serial)
			}
			if rapid.Bool().Draw(rt, "s3") {
				b.IsOnS3, b.S3Key = true, "hms/"+b.Filename
			}
			if b.Status == backup.StatusFailed {
				b.ErrorMessage = "dump failed"
			}
			ts.Catalog.Now = func() time.Time { return at }
			err := ts.Catalog.CreateBackup(ctx, b)
			ts.Catalog.Now = nil
			if err != nil {
				rt.Fatal(err)
			}
			if !b.CreatedAt.Equal(at) {
				rt.Fatalf("backup %d created at %v, want %v", b.ID, b.CreatedAt, at)
			}
			want = append(want, b)
		}
		// Newest first; the same time: the higher id first.
		slices.SortStableFunc(want, func(a, b *backup.Backup) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return int(b.ID - a.ID)
		})

		checkHTMLList(rt, admin, want, loc)
		checkJSONList(rt, admin, want, rapid.SampledFrom([]int{7, 50, 500}).Draw(rt, "per_page"))
	})
}

// drawSize draws a stored size: often 0 (pending, failed), else anything
// from bytes to tebibytes, with the units' edges likely.
func drawSize(rt *rapid.T) int64 {
	switch rapid.IntRange(0, 3).Draw(rt, "size kind") {
	case 0:
		return 0
	case 1: // at an edge of a unit
		p := int64(1) << (10 * rapid.IntRange(1, 4).Draw(rt, "unit"))
		return p + rapid.Int64Range(-2, 2).Draw(rt, "edge")
	}
	return rapid.Int64Range(1, 5<<40).Draw(rt, "size")
}

var (
	rowRE   = regexp.MustCompile(`(?s)<tr data-id="(\d+)">(.*?)</tr>`)
	cellRE  = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	altRE   = regexp.MustCompile(`<img [^>]*alt="([^"]*)"`)
	tagRE   = regexp.MustCompile(`<[^>]+>`)
	totalRE = regexp.MustCompile(`Page (\d+) of (\d+) · (\d+) backups`)
)

// checkHTMLList reads every page of GET /backups and compares each row
// with the catalog's record, in order.
func checkHTMLList(rt *rapid.T, u *user, want []*backup.Backup, loc *time.Location) {
	var got []string // ids in page order
	rows := map[string][]string{}
	for page, last := 1, 1; page <= last; page++ {
		code, body := u.page("GET", "/backups?page="+strconv.Itoa(page), nil)
		if code != http.StatusOK {
			rt.Fatalf("GET /backups?page=%d: %d", page, code)
		}
		m := totalRE.FindStringSubmatch(body)
		if m == nil {
			rt.Fatalf("page %d has no pager", page)
		}
		last, _ = strconv.Atoi(m[2])
		if m[3] != strconv.Itoa(len(want)) {
			rt.Fatalf("page %d says %s backups, the catalog has %d", page, m[3], len(want))
		}
		if wantLast := max(1, (len(want)+pageSize-1)/pageSize); last != wantLast {
			rt.Fatalf("page %d says %d pages, want %d", page, last, wantLast)
		}
		for _, r := range rowRE.FindAllStringSubmatch(body, -1) {
			var cells []string
			for _, c := range cellRE.FindAllStringSubmatch(r[2], -1) {
				cells = append(cells, c[1])
			}
			if _, dup := rows[r[1]]; dup {
				rt.Fatalf("backup %s is listed twice", r[1])
			}
			got, rows[r[1]] = append(got, r[1]), cells
		}
	}
	if len(got) != len(want) {
		rt.Fatalf("the HTML list shows %d backups, the catalog has %d", len(got), len(want))
	}
	for i, b := range want {
		id := strconv.FormatInt(b.ID, 10)
		if got[i] != id {
			rt.Fatalf("row %d is backup %s, want %s (newest first)", i, got[i], id)
		}
		c := rows[id]
		if len(c) != 8 {
			rt.Fatalf("backup %s: %d cells, want 8: %q", id, len(c), c)
		}
		text := func(i int) string { return strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(c[i], ""))) }
		if wantTime := b.CreatedAt.In(loc).Format("2006-01-02 15:04:05 MST"); text(1) != wantTime {
			rt.Fatalf("backup %s: time %q, want %q (%s)", id, text(1), wantTime, loc)
		}
		checkHumanSize(rt, id, text(2), b.FileSize)
		if text(3) != string(b.Status) || !strings.Contains(c[3], `class="badge `+string(b.Status)+`"`) {
			rt.Fatalf("backup %s: status %q, want %s", id, c[3], b.Status)
		}
		var alts []string
		for _, a := range altRE.FindAllStringSubmatch(c[6], -1) {
			alts = append(alts, a[1])
		}
		var wantAlts []string
		if b.IsLocal {
			wantAlts = append(wantAlts, "local")
		}
		if b.IsOnGoogleDrive {
			wantAlts = append(wantAlts, "Google Drive")
		}
		if b.IsOnS3 {
			wantAlts = append(wantAlts, "S3")
		}
		if !slices.Equal(alts, wantAlts) || (len(wantAlts) == 0) != (text(6) == "nowhere") {
			rt.Fatalf("backup %s: locations %q (%q), want %q", id, alts, text(6), wantAlts)
		}
		if protected := strings.Contains(c[7], `alt="protected"`); protected != b.IsProtected {
			rt.Fatalf("backup %s: protected shown %v, want %v", id, protected, b.IsProtected)
		}
	}
}

// checkHumanSize checks the HTML's size without the code that wrote it:
// "—" for nothing stored, else a number below 1024 with the largest
// binary unit that keeps it there, within the rounding of one decimal.
func checkHumanSize(rt *rapid.T, id, shown string, size int64) {
	if size == 0 {
		if shown != "—" {
			rt.Fatalf("backup %s: size %q, want — for 0 bytes", id, shown)
		}
		return
	}
	num, unit, ok := strings.Cut(shown, " ")
	v, err := strconv.ParseFloat(num, 64)
	exp := slices.Index([]string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}, unit)
	if !ok || err != nil || exp < 0 {
		rt.Fatalf("backup %s: size %q is not a number and a binary unit", id, shown)
	}
	wantExp := 0
	for n := size; n >= 1024; n /= 1024 {
		wantExp++
	}
	if exp != wantExp {
		rt.Fatalf("backup %s: size %q for %d bytes, want the unit 1024^%d", id, shown, size, wantExp)
	}
	scale := math.Pow(1024, float64(exp))
	if exact := float64(size) / scale; math.Abs(exact-v) > 0.05+1e-9 {
		rt.Fatalf("backup %s: size %q for %d bytes (%.3f %s)", id, shown, size, exact, unit)
	}
}

// checkJSONList reads every page of GET /api/v1/backups with per items a
// page and compares each item with the catalog's record, in order.
func checkJSONList(rt *rapid.T, u *user, want []*backup.Backup, per int) {
	var got []*backup.Backup
	for page := 1; ; page++ {
		var l backupList
		if code := u.api("GET", fmt.Sprintf("/api/v1/backups?page=%d&per_page=%d", page, per), nil, &l); code != http.StatusOK {
			rt.Fatalf("GET /api/v1/backups page %d: %d", page, code)
		}
		if l.Total != len(want) || l.Page != page || l.PerPage != per {
			rt.Fatalf("page %d: total %d page %d per_page %d, want %d %d %d", page, l.Total, l.Page, l.PerPage, len(want), page, per)
		}
		if len(l.Backups) > per {
			rt.Fatalf("page %d has %d backups, more than per_page %d", page, len(l.Backups), per)
		}
		got = append(got, l.Backups...)
		if len(l.Backups) < per {
			break
		}
	}
	if len(got) != len(want) {
		rt.Fatalf("the JSON list has %d backups, the catalog %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID {
			rt.Fatalf("item %d is backup %d, want %d (newest first)", i, g.ID, w.ID)
		}
		if !g.CreatedAt.Equal(w.CreatedAt) || g.FileSize != w.FileSize || g.Status != w.Status ||
			g.IsLocal != w.IsLocal || g.IsOnGoogleDrive != w.IsOnGoogleDrive || g.IsOnS3 != w.IsOnS3 ||
			g.GoogleDriveFileID != w.GoogleDriveFileID || g.S3Key != w.S3Key || g.IsProtected != w.IsProtected {
			rt.Fatalf("backup %d as JSON: %+v\nwant %+v", w.ID, g, w)
		}
	}
}
