package retention_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/retention"
)

func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("load America/New_York: %v", err)
	}
	return loc
}

// at is a completed backup of database hms taken at local time s in loc.
func at(t testing.TB, id int64, s string, loc *time.Location) *backup.Backup {
	t.Helper()
	ts, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return &backup.Backup{ID: id, Status: backup.StatusCompleted, Source: backup.SourceScheduled, CreatedAt: ts.UTC(), DBEngine: "mysql", DBName: "hms"}
}

// plan returns the reason of each decision by backup id ("" when deleted)
// and, separately, the ids deleted.
func plan(backups []*backup.Backup, p retention.Policy, loc *time.Location) (map[int64]string, []int64) {
	kept := map[int64]string{}
	var deleted []int64
	for _, d := range retention.Plan(backups, p, loc) {
		if d.Keep {
			kept[d.Backup.ID] = d.Reason()
		} else {
			deleted = append(deleted, d.Backup.ID)
		}
	}
	slices.Sort(deleted)
	return kept, deleted
}

// The README's worked example: a 7/4/6 policy over four months of nightly
// backups with a gap, a manual backup and a protected one.
func TestWorkedExampleOfA746Policy(t *testing.T) {
	loc := newYork(t)
	var backups []*backup.Backup
	id := int64(0)
	add := func(s string) *backup.Backup {
		id++
		b := at(t, id, s, loc)
		backups = append(backups, b)
		return b
	}
	// Nightly at 02:00 from 2026-08-01 to 2026-11-28, except 2026-11-20..22
	// (the server was down).
	for d := time.Date(2026, 8, 1, 0, 0, 0, 0, loc); !d.After(time.Date(2026, 11, 28, 0, 0, 0, 0, loc)); d = d.AddDate(0, 0, 1) {
		if d.Month() == 11 && d.Day() >= 20 && d.Day() <= 22 {
			continue
		}
		add(d.Format("2006-01-02") + " 02:00")
	}
	manual := add("2026-11-27 15:30") // a manual backup in the afternoon
	protected := backups[9]           // 2026-08-10, protected before an upgrade
	protected.IsProtected = true

	kept, _ := plan(backups, retention.Policy{Daily: 7, Weekly: 4, Monthly: 6}, loc)
	var got []string
	for _, d := range retention.Plan(backups, retention.Policy{Daily: 7, Weekly: 4, Monthly: 6}, loc) {
		if d.Keep {
			got = append(got, d.Backup.CreatedAt.In(loc).Format("2006-01-02 15:04")+"  "+d.Reason())
		}
	}
	want := []string{
		"2026-11-28 02:00  daily 2026-11-28, weekly 2026-W48, monthly 2026-11, newest completed backup",
		"2026-11-27 15:30  daily 2026-11-27",
		"2026-11-26 02:00  daily 2026-11-26",
		"2026-11-25 02:00  daily 2026-11-25",
		"2026-11-24 02:00  daily 2026-11-24",
		"2026-11-23 02:00  daily 2026-11-23",
		"2026-11-19 02:00  daily 2026-11-19, weekly 2026-W47",
		"2026-11-15 02:00  weekly 2026-W46",
		"2026-11-08 02:00  weekly 2026-W45",
		"2026-10-31 02:00  monthly 2026-10",
		"2026-09-30 02:00  monthly 2026-09",
		"2026-08-31 02:00  monthly 2026-08",
		"2026-08-10 02:00  protected",
	}
	if !slices.Equal(got, want) {
		t.Errorf("kept:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, ok := kept[manual.ID]; !ok {
		t.Errorf("the afternoon manual backup, the newest of its day, was not kept")
	}
	for _, d := range retention.Plan(backups, retention.Policy{Daily: 7, Weekly: 4, Monthly: 6}, loc) {
		if d.Backup.CreatedAt.In(loc).Format("2006-01-02 15:04") == "2026-11-27 02:00" {
			if d.Keep || d.Why != "no rule keeps it: daily 2026-11-27 is kept by newer backup "+fmt.Sprint(manual.ID)+"; weekly 2026-W48 and monthly 2026-11 are kept by newer backup "+fmt.Sprint(manual.ID-1) {
				t.Errorf("the morning backup of 2026-11-27: keep %v, why %q", d.Keep, d.Why)
			}
		}
		if d.Backup.CreatedAt.In(loc).Format("2006-01-02 15:04") == "2026-08-20 02:00" {
			want := "no rule keeps it: daily 2026-08-20 is older than the 7 most recent days with backups; weekly 2026-W34 is older than the 4 most recent weeks with backups; monthly 2026-08 is kept by newer backup 31"
			if d.Keep || d.Why != want {
				t.Errorf("2026-08-20: keep %v, why %q\nwant %q", d.Keep, d.Why, want)
			}
		}
	}
}

func TestDaysAreTheZonesCalendarDays(t *testing.T) {
	loc := newYork(t)
	// 23:30 in New York is already the next day in UTC.
	late := at(t, 1, "2026-06-10 23:30", loc)
	early := at(t, 2, "2026-06-10 08:00", loc)
	next := at(t, 3, "2026-06-11 00:30", loc)
	kept, deleted := plan([]*backup.Backup{late, early, next}, retention.Policy{Daily: 2}, loc)
	if !slices.Equal(deleted, []int64{2}) || kept[1] != "daily 2026-06-10" {
		t.Errorf("New York days: kept %v, deleted %v; want 23:30 to keep 2026-06-10 and 08:00 deleted", kept, deleted)
	}
	// In UTC the same instants fall on other days: 2026-06-11 holds 1 and 3.
	kept, deleted = plan([]*backup.Backup{late, early, next}, retention.Policy{Daily: 2}, time.UTC)
	if !slices.Equal(deleted, []int64{1}) || kept[2] != "daily 2026-06-10" {
		t.Errorf("UTC days: kept %v, deleted %v", kept, deleted)
	}
}

func TestDSTDaysAndISOWeeks(t *testing.T) {
	loc := newYork(t)
	backups := []*backup.Backup{
		at(t, 1, "2026-11-01 00:30", loc), // before the clocks go back at 02:00
		at(t, 2, "2026-11-01 23:59", loc), // the same 25-hour day
		at(t, 3, "2026-03-08 01:59", loc), // before the clocks go forward
		at(t, 4, "2026-03-08 03:00", loc), // the same 23-hour day
		at(t, 5, "2027-01-01 12:00", loc), // ISO week 2026-W53
		at(t, 6, "2027-01-04 12:00", loc), // ISO week 2027-W01
	}
	kept, deleted := plan(backups, retention.Policy{Daily: 10}, loc)
	if !slices.Equal(deleted, []int64{1, 3}) {
		t.Errorf("daily across DST: deleted %v, want [1 3] (kept %v)", deleted, kept)
	}
	kept, _ = plan(backups, retention.Policy{Weekly: 10}, loc)
	if kept[5] != "weekly 2026-W53" || kept[6] != "weekly 2027-W01, newest completed backup" {
		t.Errorf("ISO weeks: %v", kept)
	}
}

func TestNoLimitsKeepsEverythingAndOnlyCompletedBackupsTakePart(t *testing.T) {
	loc := time.UTC
	backups := []*backup.Backup{at(t, 1, "2026-01-01 10:00", loc), at(t, 2, "2026-01-01 11:00", loc), at(t, 3, "2026-01-01 12:00", loc)}
	backups[2].Status = backup.StatusFailed
	kept, deleted := plan(backups, retention.Policy{}, loc)
	if len(deleted) != 0 || kept[1] != "no retention limits" || kept[2] != "newest completed backup, no retention limits" {
		t.Errorf("no limits: kept %v, deleted %v", kept, deleted)
	}
	if _, ok := kept[3]; ok {
		t.Errorf("a failed backup got a decision")
	}
	kept, deleted = plan(backups, retention.Policy{Daily: -1, Weekly: 1}, loc)
	if !slices.Equal(deleted, []int64{1}) || kept[2] != "weekly 2026-W01, newest completed backup" {
		t.Errorf("weekly 1: kept %v, deleted %v", kept, deleted)
	}
}

func TestEachDatabaseIsPlannedOnItsOwn(t *testing.T) {
	loc := time.UTC
	old := at(t, 1, "2025-01-01 10:00", loc)
	old.DBName = "hms_old"
	older := at(t, 2, "2024-12-01 10:00", loc)
	older.DBName = "hms_old"
	now := at(t, 3, "2026-01-01 10:00", loc)
	kept, deleted := plan([]*backup.Backup{old, older, now}, retention.Policy{Daily: 1}, loc)
	if !slices.Equal(deleted, []int64{2}) || kept[1] != "daily 2025-01-01, newest completed backup" {
		t.Errorf("kept %v, deleted %v: each database keeps its own newest day", kept, deleted)
	}
}

// history is a generated set of backups: over months, several a day, with
// gaps, near local midnight and near DST changes in loc.
func history(t *rapid.T, loc *time.Location) []*backup.Backup {
	// DST changes in New York around the window.
	changes := []time.Time{
		time.Date(2025, 11, 2, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC),
	}
	start := time.Date(2025, 10, 1, 0, 0, 0, 0, loc).AddDate(0, 0, rapid.IntRange(0, 400).Draw(t, "startDay"))
	days := rapid.IntRange(1, 240).Draw(t, "days")
	end := start.AddDate(0, 0, days)
	twoDatabases := rapid.Bool().Draw(t, "twoDatabases")
	n := rapid.IntRange(0, 70).Draw(t, "backups")
	var out []*backup.Backup
	for i := 0; i < n; i++ {
		var ts time.Time
		switch rapid.IntRange(0, 4).Draw(t, "kind") {
		case 0: // anywhere in the window
			ts = start.Add(time.Duration(rapid.Int64Range(0, int64(end.Sub(start)/time.Second)).Draw(t, "sec")) * time.Second)
		case 1: // an hour either side of a local midnight
			d := start.AddDate(0, 0, rapid.IntRange(0, days).Draw(t, "day"))
			midnight := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
			ts = midnight.Add(time.Duration(rapid.IntRange(-3600, 3599).Draw(t, "offset")) * time.Second)
		case 2: // three hours either side of a DST change
			c := rapid.SampledFrom(changes).Draw(t, "change")
			ts = c.Add(time.Duration(rapid.IntRange(-3*3600, 3*3600).Draw(t, "offset")) * time.Second)
		case 3, 4: // the same day as an earlier one, or the very same instant
			if len(out) == 0 {
				ts = start
				break
			}
			prev := rapid.SampledFrom(out).Draw(t, "prev").CreatedAt
			if rapid.Bool().Draw(t, "sameInstant") {
				ts = prev
			} else {
				ts = prev.Add(time.Duration(rapid.IntRange(-8*3600, 8*3600).Draw(t, "offset")) * time.Second)
			}
		}
		b := &backup.Backup{
			ID:          int64(i + 1),
			Status:      rapid.SampledFrom([]backup.Status{backup.StatusCompleted, backup.StatusCompleted, backup.StatusCompleted, backup.StatusCompleted, backup.StatusFailed, backup.StatusPending}).Draw(t, "status"),
			Source:      rapid.SampledFrom([]backup.Source{backup.SourceScheduled, backup.SourceManualCLI, backup.SourceManualUI, backup.SourcePreRestore}).Draw(t, "source"),
			IsProtected: rapid.IntRange(0, 9).Draw(t, "protected") == 0,
			CreatedAt:   ts.UTC(),
			DBEngine:    "mysql",
			DBName:      "hms",
		}
		if twoDatabases && rapid.IntRange(0, 3).Draw(t, "otherDB") == 0 {
			b.DBName = "hms_old"
		}
		out = append(out, b)
	}
	return out
}

func genPolicy(t *rapid.T) retention.Policy {
	if rapid.IntRange(0, 9).Draw(t, "noLimits") == 0 {
		return retention.Policy{}
	}
	return retention.Policy{
		Daily:   rapid.IntRange(0, 10).Draw(t, "daily"),
		Weekly:  rapid.IntRange(0, 6).Draw(t, "weekly"),
		Monthly: rapid.IntRange(0, 8).Draw(t, "monthly"),
	}
}

// oracle computes, deliberately simply and apart from Plan, what each rule
// keeps (rule -> backup id -> period) and which completed backups are to
// be deleted: per database, per rule, group the completed backups by their
// period, take each period's newest, sort the periods and take the N most
// recent. Its period keys are computed by hand, ISO weeks included.
func oracle(backups []*backup.Backup, p retention.Policy, loc *time.Location) (map[retention.Rule]map[int64]string, []int64) {
	newer := func(a, b *backup.Backup) bool { // a is newer than b
		return a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID)
	}
	day := func(t time.Time) string {
		y, m, d := t.In(loc).Date()
		return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
	}
	week := func(t time.Time) string {
		y, m, d := t.In(loc).Date()
		date := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
		monday0 := (int(date.Weekday()) + 6) % 7  // Monday 0 .. Sunday 6
		thursday := date.AddDate(0, 0, 3-monday0) // the week's Thursday decides its year
		return fmt.Sprintf("%04d-W%02d", thursday.Year(), (thursday.YearDay()-1)/7+1)
	}
	month := func(t time.Time) string {
		y, m, _ := t.In(loc).Date()
		return fmt.Sprintf("%04d-%02d", y, int(m))
	}
	byRule := map[retention.Rule]map[int64]string{retention.RuleDaily: {}, retention.RuleWeekly: {}, retention.RuleMonthly: {}}
	keep := map[int64]bool{}
	byDB := map[string][]*backup.Backup{}
	for _, b := range backups {
		if b.Status == backup.StatusCompleted {
			byDB[b.DBEngine+"/"+b.DBName] = append(byDB[b.DBEngine+"/"+b.DBName], b)
		}
	}
	for _, group := range byDB {
		newest := group[0]
		for _, b := range group {
			if newer(b, newest) {
				newest = b
			}
			if b.IsProtected {
				keep[b.ID] = true
			}
		}
		keep[newest.ID] = true
		for _, r := range []struct {
			rule retention.Rule
			n    int
			key  func(time.Time) string
		}{{retention.RuleDaily, p.Daily, day}, {retention.RuleWeekly, p.Weekly, week}, {retention.RuleMonthly, p.Monthly, month}} {
			newestOf := map[string]*backup.Backup{}
			for _, b := range group {
				k := r.key(b.CreatedAt)
				if cur, ok := newestOf[k]; !ok || newer(b, cur) {
					newestOf[k] = b
				}
			}
			var periods []string
			for k := range newestOf {
				periods = append(periods, k)
			}
			sort.Sort(sort.Reverse(sort.StringSlice(periods)))
			for i := 0; i < r.n && i < len(periods); i++ {
				byRule[r.rule][newestOf[periods[i]].ID] = periods[i]
				keep[newestOf[periods[i]].ID] = true
			}
		}
	}
	var deleted []int64
	for _, group := range byDB {
		for _, b := range group {
			if !keep[b.ID] && !p.KeepsAll() {
				deleted = append(deleted, b.ID)
			}
		}
	}
	slices.Sort(deleted)
	return byRule, deleted
}

// Property 13: retention deletes exactly the completed backups no rule
// keeps, as an independent oracle computes them, for random histories,
// random limits and a zone with DST; and each kept backup names the rules
// and periods the oracle says keep it.
func TestProperty13RetentionDeletesExactlyWhatNoRuleKeeps(t *testing.T) {
	loc := newYork(t)
	rapid.Check(t, func(t *rapid.T) {
		backups := history(t, loc)
		p := genPolicy(t)
		wantByRule, wantDeleted := oracle(backups, p, loc)

		decisions := retention.Plan(backups, p, loc)
		completed := 0
		for _, b := range backups {
			if b.Status == backup.StatusCompleted {
				completed++
			}
		}
		if len(decisions) != completed {
			t.Fatalf("%d decisions for %d completed backups", len(decisions), completed)
		}
		var deleted []int64
		gotByRule := map[retention.Rule]map[int64]string{retention.RuleDaily: {}, retention.RuleWeekly: {}, retention.RuleMonthly: {}}
		for i, d := range decisions {
			if d.Backup.Status != backup.StatusCompleted {
				t.Fatalf("decision for %s backup %d", d.Backup.Status, d.Backup.ID)
			}
			if i > 0 {
				prev := decisions[i-1].Backup
				if prev.CreatedAt.Before(d.Backup.CreatedAt) || (prev.CreatedAt.Equal(d.Backup.CreatedAt) && prev.ID < d.Backup.ID) {
					t.Fatalf("decisions not newest first: %d before %d", prev.ID, d.Backup.ID)
				}
			}
			if d.Keep != (len(d.KeptBy) > 0) || d.Keep == (d.Why != "") {
				t.Fatalf("backup %d: keep %v, kept by %v, why %q", d.Backup.ID, d.Keep, d.KeptBy, d.Why)
			}
			if !d.Keep {
				deleted = append(deleted, d.Backup.ID)
			}
			for _, r := range d.KeptBy {
				if m, ok := gotByRule[r.Rule]; ok {
					m[d.Backup.ID] = r.Period
				}
			}
		}
		slices.Sort(deleted)
		if !slices.Equal(deleted, wantDeleted) {
			t.Fatalf("policy %v deletes %v, oracle %v", p, deleted, wantDeleted)
		}
		for rule, want := range wantByRule {
			if got := gotByRule[rule]; !mapsEqual(got, want) {
				t.Fatalf("rule %s keeps %v, oracle %v", rule, got, want)
			}
		}
	})
}

func mapsEqual(a, b map[int64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Property 14: no protected backup, nor the newest completed backup of a
// database, is ever to be deleted, whatever the policy.
func TestProperty14ProtectedAndNewestAreNeverDeleted(t *testing.T) {
	loc := newYork(t)
	rapid.Check(t, func(t *rapid.T) {
		backups := history(t, loc)
		p := genPolicy(t)
		newest := map[string]*backup.Backup{}
		for _, b := range backups {
			k := b.DBEngine + "/" + b.DBName
			if cur := newest[k]; b.Status == backup.StatusCompleted && (cur == nil || b.CreatedAt.After(cur.CreatedAt) || (b.CreatedAt.Equal(cur.CreatedAt) && b.ID > cur.ID)) {
				newest[k] = b
			}
		}
		for _, d := range retention.Plan(backups, p, loc) {
			if d.Keep {
				continue
			}
			if d.Backup.IsProtected {
				t.Fatalf("protected backup %d to be deleted: %s", d.Backup.ID, d.Why)
			}
			if d.Backup == newest[d.Backup.DBEngine+"/"+d.Backup.DBName] {
				t.Fatalf("newest completed backup %d to be deleted: %s", d.Backup.ID, d.Why)
			}
		}
	})
}
