package schedule_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/schedule"
	"github.com/robfig/cron/v3"
	"pgregory.net/rapid"
)

// testZone is a zone with its DST transitions in 2015-2030, around which
// the generators pick most of their times.
type testZone struct {
	loc         *time.Location
	transitions []time.Time
}

func (z testZone) String() string { return z.loc.String() }

var (
	rangeStart = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	rangeEnd   = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
)

func loadZones(t *testing.T, names ...string) []testZone {
	t.Helper()
	var zones []testZone
	for _, name := range names {
		z := testZone{loc: zone(t, name)}
		for u := rangeStart; ; {
			_, end := u.In(z.loc).ZoneBounds()
			if end.IsZero() || !end.Before(rangeEnd) {
				break
			}
			z.transitions = append(z.transitions, end)
			u = end
		}
		zones = append(zones, z)
	}
	return zones
}

// dstZones change their clocks: by an hour (New York, London, São Paulo at
// midnight until 2019, Dublin with its "negative" winter time), by half an
// hour (Lord Howe), or at a quarter-hour offset (Chatham).
func dstZones(t *testing.T) []testZone {
	zones := loadZones(t, "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo",
		"Europe/Dublin", "Pacific/Chatham", "America/Santiago")
	for _, z := range zones {
		if len(z.transitions) < 8 {
			t.Fatalf("%s has %d transitions in 2015-2030: the tests need a zone with DST", z, len(z.transitions))
		}
	}
	return zones
}

// genAfter picks a time within three days before and one day after one of
// z's transitions (when it has any), else anywhere in 2015-2030.
func genAfter(z testZone) *rapid.Generator[time.Time] {
	return rapid.Custom(func(t *rapid.T) time.Time {
		ns := rapid.Int64Range(0, int64(time.Minute)-1).Draw(t, "ns")
		if len(z.transitions) > 0 && rapid.IntRange(0, 9).Draw(t, "near a transition") > 0 {
			tr := rapid.SampledFrom(z.transitions).Draw(t, "transition")
			min := rapid.IntRange(-3*24*60, 24*60).Draw(t, "minutes from it")
			return tr.Add(time.Duration(min)*time.Minute + time.Duration(ns))
		}
		sec := rapid.Int64Range(rangeStart.Unix(), rangeEnd.Unix()-1).Draw(t, "sec")
		return time.Unix(sec, ns).UTC()
	})
}

// genClock favours the hours around midnight and the night, where zones
// change their clocks, and minutes next to the changes.
func genClock() *rapid.Generator[schedule.Clock] {
	return rapid.Custom(func(t *rapid.T) schedule.Clock {
		h := rapid.OneOf(rapid.IntRange(0, 3), rapid.IntRange(22, 23), rapid.IntRange(0, 23)).Draw(t, "hour")
		m := rapid.OneOf(rapid.SampledFrom([]int{0, 1, 14, 15, 29, 30, 44, 45, 59}), rapid.IntRange(0, 59)).Draw(t, "minute")
		return schedule.Clock{Hour: h, Minute: m}
	})
}

// oracleInstant finds, by walking minute by minute, the first instant at
// which loc's clock reads wall (fields in UTC) or later.
func oracleInstant(wall time.Time, loc *time.Location) time.Time {
	maxOff := -24 * time.Hour
	for _, probe := range []time.Time{wall.Add(-24 * time.Hour), wall, wall.Add(24 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		maxOff = max(maxOff, time.Duration(off)*time.Second)
	}
	// No instant before wall-maxOff can read wall or later.
	for u := wall.Add(-maxOff); ; u = u.Add(time.Minute) {
		l := u.In(loc)
		if !time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC).Before(wall) {
			return u
		}
	}
}

// oracleRuns lists the first n runs after after of the wall times at
// (sorted) on the local days for which day (a UTC date) says true, each
// mapped by oracleInstant and taken once.
func oracleRuns(after time.Time, loc *time.Location, n int, day func(time.Time) bool, at []schedule.Clock) []time.Time {
	var runs []time.Time
	a := after.In(loc)
	for d := 0; len(runs) < n && d < 9*366; d++ {
		date := time.Date(a.Year(), a.Month(), a.Day()+d, 0, 0, 0, 0, time.UTC)
		if !day(date) {
			continue
		}
		for _, c := range at {
			u := oracleInstant(time.Date(date.Year(), date.Month(), date.Day(), c.Hour, c.Minute, 0, 0, time.UTC), loc)
			if u.After(after) && (len(runs) == 0 || u.After(runs[len(runs)-1])) && len(runs) < n {
				runs = append(runs, u)
			}
		}
	}
	return runs
}

func date(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// checkRuns fails unless runs are n, strictly increasing, after after,
// in loc, and equal to want.
func checkRuns(t *rapid.T, runs, want []time.Time, after time.Time, loc *time.Location, n int) {
	t.Helper()
	if len(runs) != n {
		t.Fatalf("NextN gave %d runs, want %d", len(runs), n)
	}
	for i, r := range runs {
		if !r.After(after) {
			t.Fatalf("run %d %v is not after %v", i, r, after)
		}
		if i > 0 && !r.After(runs[i-1]) {
			t.Fatalf("run %d %v is not after run %d %v", i, r, i-1, runs[i-1])
		}
		if r.Location() != loc {
			t.Fatalf("run %d %v is not in %s", i, r, loc)
		}
	}
	if !sameTimes(runs, want) {
		t.Fatalf("after %v:\n got %v\nwant %v", after.In(loc), inZone(runs, loc), inZone(want, loc))
	}
}

// checkClock fails unless run reads at on its wall clock or, when at was
// skipped that day, run ends the gap: it reads later than at and the
// minute before it read earlier.
func checkClock(t *rapid.T, run time.Time, at schedule.Clock, loc *time.Location) {
	t.Helper()
	wall := func(u time.Time) time.Time {
		l := u.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
	}
	got := wall(run)
	want := date(got).Add(time.Duration(at.Hour)*time.Hour + time.Duration(at.Minute)*time.Minute)
	if got.Equal(want) {
		return
	}
	if !got.After(want) || !wall(run.Add(-time.Minute)).Before(want) {
		t.Fatalf("run %v reads %s, not %s, and %s was not skipped that day", run.In(loc), got.Format("15:04"), at, at)
	}
}

func TestPropertyDailyRunsOncePerLocalDay(t *testing.T) {
	zones := append(dstZones(t), loadZones(t, "UTC", "Asia/Kolkata")...)
	rapid.Check(t, func(t *rapid.T) {
		z := rapid.SampledFrom(zones).Draw(t, "zone")
		at := genClock().Draw(t, "at")
		after := genAfter(z).Draw(t, "after")
		const n = 10
		runs := schedule.NewDaily(at, z.loc).NextN(after, n)
		checkRuns(t, runs, oracleRuns(after, z.loc, n, func(time.Time) bool { return true }, []schedule.Clock{at}), after, z.loc, n)
		// Consecutive runs fall on consecutive local days, and the first
		// on after's local day or the next.
		if first := date(runs[0].In(z.loc)); !first.Equal(date(after.In(z.loc))) && !first.Equal(date(after.In(z.loc)).AddDate(0, 0, 1)) {
			t.Fatalf("first run %v is neither on the day of %v nor the next", runs[0], after.In(z.loc))
		}
		for i, r := range runs {
			checkClock(t, r, at, z.loc)
			if i > 0 && !date(r.In(z.loc)).Equal(date(runs[i-1].In(z.loc)).AddDate(0, 0, 1)) {
				t.Fatalf("run %v does not fall on the local day after run %v", r, runs[i-1])
			}
		}
	})
}

func TestPropertyWeeklyRunsOncePerWeek(t *testing.T) {
	zones := append(dstZones(t), loadZones(t, "UTC")...)
	rapid.Check(t, func(t *rapid.T) {
		z := rapid.SampledFrom(zones).Draw(t, "zone")
		at := genClock().Draw(t, "at")
		day := time.Weekday(rapid.IntRange(0, 6).Draw(t, "day"))
		after := genAfter(z).Draw(t, "after")
		const n = 6
		runs := schedule.NewWeekly(day, at, z.loc).NextN(after, n)
		want := oracleRuns(after, z.loc, n, func(d time.Time) bool { return d.Weekday() == day }, []schedule.Clock{at})
		checkRuns(t, runs, want, after, z.loc, n)
		if first := date(runs[0].In(z.loc)); first.Sub(date(after.In(z.loc))) > 7*24*time.Hour {
			t.Fatalf("first run %v is more than a week after %v", runs[0], after.In(z.loc))
		}
		for i, r := range runs {
			checkClock(t, r, at, z.loc)
			if r.In(z.loc).Weekday() != day {
				t.Fatalf("run %v is not on a %s", r.In(z.loc), day)
			}
			if i > 0 && !date(r.In(z.loc)).Equal(date(runs[i-1].In(z.loc)).AddDate(0, 0, 7)) {
				t.Fatalf("run %v is not a week after run %v", r, runs[i-1])
			}
		}
	})
}

// genCronField draws one field of a valid expression.
func genCronField(lo, hi int, names []string, question bool) *rapid.Generator[string] {
	num := func(t *rapid.T, label string, from int) string {
		v := rapid.IntRange(from, hi).Draw(t, label)
		if names != nil && rapid.Bool().Draw(t, label+" as name") {
			return names[v-lo]
		}
		return fmt.Sprint(v)
	}
	item := rapid.Custom(func(t *rapid.T) string {
		switch rapid.IntRange(0, 6).Draw(t, "kind") {
		case 0:
			return "*"
		case 1:
			if question {
				return "?"
			}
			return "*"
		case 2:
			return num(t, "n", lo)
		case 3:
			a := rapid.IntRange(lo, hi).Draw(t, "from")
			b := rapid.IntRange(a, hi).Draw(t, "to")
			return fmt.Sprintf("%d-%d", a, b)
		case 4:
			return fmt.Sprintf("*/%d", rapid.IntRange(1, hi-lo).Draw(t, "step"))
		case 5:
			a := rapid.IntRange(lo, hi).Draw(t, "from")
			b := rapid.IntRange(a, hi).Draw(t, "to")
			return fmt.Sprintf("%d-%d/%d", a, b, rapid.IntRange(1, hi-lo).Draw(t, "step"))
		default:
			return fmt.Sprintf("%s/%d", num(t, "start", lo), rapid.IntRange(1, hi-lo).Draw(t, "step"))
		}
	})
	return rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(item, 1, 3).Draw(t, "items"), ",")
	})
}

// genCron draws valid expressions, their hours mostly in the night.
func genCron() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		hour := rapid.OneOf(genCronField(0, 23, nil, false), genCronField(0, 3, nil, false)).Draw(t, "hour")
		return strings.Join([]string{
			genCronField(0, 59, nil, false).Draw(t, "minute"),
			hour,
			genCronField(1, 31, nil, true).Draw(t, "day-of-month"),
			genCronField(1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}, false).Draw(t, "month"),
			genCronField(0, 6, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, true).Draw(t, "day-of-week"),
		}, " ")
	})
}

// robfigSpec parses expr with robfig/cron's standard parser.
func robfigSpec(expr string, loc *time.Location) (*cron.SpecSchedule, error) {
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, err
	}
	spec := sched.(*cron.SpecSchedule)
	spec.Location = loc
	return spec, nil
}

// robfigDay is robfig/cron's day rule: both day fields must match, or
// either when neither holds a star.
func robfigDay(spec *cron.SpecSchedule) func(time.Time) bool {
	const star = 1 << 63
	return func(d time.Time) bool {
		if spec.Month&(1<<uint(d.Month())) == 0 {
			return false
		}
		dom, dow := spec.Dom&(1<<uint(d.Day())) != 0, spec.Dow&(1<<uint(d.Weekday())) != 0
		if spec.Dom&star != 0 || spec.Dow&star != 0 {
			return dom && dow
		}
		return dom || dow
	}
}

func robfigTimes(spec *cron.SpecSchedule) []schedule.Clock {
	var at []schedule.Clock
	for h := 0; h < 24; h++ {
		for m := 0; m < 60; m++ {
			if spec.Hour&(1<<uint(h)) != 0 && spec.Minute&(1<<uint(m)) != 0 {
				at = append(at, schedule.Clock{Hour: h, Minute: m})
			}
		}
	}
	return at
}

// Where clocks never change, a cron schedule runs exactly when
// robfig/cron's does.
func TestPropertyCronAgreesWithRobfigWithoutDST(t *testing.T) {
	zones := append(loadZones(t, "UTC", "Asia/Kolkata", "Asia/Tokyo"), testZone{loc: time.FixedZone("UTC-03:30", -(3*3600 + 1800))})
	rapid.Check(t, func(t *rapid.T) {
		z := rapid.SampledFrom(zones).Draw(t, "zone")
		expr := genCron().Draw(t, "expr")
		after := genAfter(z).Draw(t, "after")
		spec, err := robfigSpec(expr, z.loc)
		if err != nil {
			t.Fatalf("robfig rejects generated %q: %v", expr, err)
		}
		s, err := schedule.ParseCron(expr, z.loc)
		if err != nil {
			if spec.Next(after).IsZero() {
				t.Skip("never runs")
			}
			t.Fatalf("ParseCron(%q): %v", expr, err)
		}
		const n = 8
		var want []time.Time
		for u := after; len(want) < n; {
			u = spec.Next(u)
			want = append(want, u)
		}
		checkRuns(t, s.NextN(after, n), want, after, z.loc, n)
	})
}

// Where clocks change, a cron schedule runs each of robfig/cron's wall
// times once, by the package's DST rule.
func TestPropertyCronFollowsTheDSTRule(t *testing.T) {
	zones := dstZones(t)
	rapid.Check(t, func(t *rapid.T) {
		z := rapid.SampledFrom(zones).Draw(t, "zone")
		expr := genCron().Draw(t, "expr")
		after := genAfter(z).Draw(t, "after")
		spec, err := robfigSpec(expr, z.loc)
		if err != nil {
			t.Fatalf("robfig rejects generated %q: %v", expr, err)
		}
		s, err := schedule.ParseCron(expr, z.loc)
		if err != nil {
			t.Skip("never runs: " + err.Error())
		}
		const n = 8
		checkRuns(t, s.NextN(after, n), oracleRuns(after, z.loc, n, robfigDay(spec), robfigTimes(spec)), after, z.loc, n)
	})
}

// ParseCron accepts no expression robfig/cron rejects, and what it accepts
// means what robfig/cron's does.
func TestPropertyCronParserIsRobfigsOrStricter(t *testing.T) {
	tokens := []string{"0", "1", "5", "7", "12", "23", "24", "31", "32", "59", "60", "*", "*", "/", "-", ",", "?", "jan", "DEC", "mon", "sun", "x", "L", "#"}
	field := rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(rapid.SampledFrom(tokens), 1, 5).Draw(t, "tokens"), "")
	})
	accepted, rejected := 0, 0
	rapid.Check(t, func(t *rapid.T) {
		// A valid expression with up to two fields replaced by junk.
		fields := strings.Fields(genCron().Draw(t, "valid"))
		for range rapid.IntRange(0, 2).Draw(t, "junk fields") {
			fields[rapid.IntRange(0, 4).Draw(t, "junk field")] = field.Draw(t, "junk")
		}
		expr := strings.Join(fields, " ")
		s, err := schedule.ParseCron(expr, time.UTC)
		spec, rerr := robfigSpec(expr, time.UTC)
		if err == nil && rerr != nil {
			t.Fatalf("ParseCron accepts %q, which robfig rejects: %v", expr, rerr)
		}
		if err != nil {
			rejected++
			return
		}
		accepted++
		after := time.Date(2026, 2, 27, 23, 59, 30, 0, time.UTC)
		var want []time.Time
		for u := after; len(want) < 5; {
			u = spec.Next(u)
			want = append(want, u)
		}
		if got := s.NextN(after, 5); !sameTimes(got, want) {
			t.Fatalf("%q: got %v, robfig %v", expr, got, want)
		}
	})
	if accepted == 0 || rejected == 0 {
		t.Errorf("%d generated expressions accepted, %d rejected: the comparison tested one side only", accepted, rejected)
	}
}

// Why Next is ours: robfig/cron v3.0.1's own Next skips a run in the spring
// gap and runs twice in the repeated hour. If this test fails, robfig's
// behaviour changed and delegating to it may be worth another look.
func TestRobfigNextBreaksTheDSTRule(t *testing.T) {
	ny := zone(t, "America/New_York")
	next := func(expr string, after time.Time, n int) []time.Time {
		spec, err := robfigSpec(expr, ny)
		if err != nil {
			t.Fatal(err)
		}
		var runs []time.Time
		for u := after; len(runs) < n; {
			u = spec.Next(u)
			runs = append(runs, u)
		}
		return runs
	}
	if got, skipped := next("30 2 * * *", utc(2026, 3, 7, 12, 0), 1), utc(2026, 3, 9, 6, 30); !sameTimes(got, []time.Time{skipped}) {
		t.Errorf("robfig's 30 2 * * * after 7 March: %v, expected it to skip 8 March (%v)", inZone(got, ny), skipped)
	}
	if got, twice := next("30 1 * * *", utc(2026, 10, 31, 12, 0), 2), []time.Time{utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)}; !sameTimes(got, twice) {
		t.Errorf("robfig's 30 1 * * * on 1 November: %v, expected both 01:30s %v", inZone(got, ny), inZone(twice, ny))
	}
}
