package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/schedule"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func utc(y int, mo time.Month, d, h, m int) time.Time {
	return time.Date(y, mo, d, h, m, 0, 0, time.UTC)
}

// The dates of 2026's DST changes used below:
//   - America/New_York: 8 March 02:00 EST -> 03:00 EDT; 1 November 02:00 EDT -> 01:00 EST.
//   - Europe/London: 29 March 01:00 GMT -> 02:00 BST; 25 October 02:00 BST -> 01:00 GMT.
//   - Australia/Lord_Howe: 5 April 02:00 (+11) -> 01:30 (+10:30); 4 October 02:00 (+10:30) -> 02:30 (+11).

func TestFirstInstant(t *testing.T) {
	ny, london, lordHowe := zone(t, "America/New_York"), zone(t, "Europe/London"), zone(t, "Australia/Lord_Howe")
	cases := []struct {
		name string
		wall time.Time // fields read as the zone's wall clock
		loc  *time.Location
		want time.Time
	}{
		{"ordinary time", utc(2026, 6, 1, 2, 30), ny, utc(2026, 6, 1, 6, 30)},
		{"in New York's spring gap: the gap's end", utc(2026, 3, 8, 2, 30), ny, utc(2026, 3, 8, 7, 0)},
		{"at the start of the gap", utc(2026, 3, 8, 2, 0), ny, utc(2026, 3, 8, 7, 0)},
		{"just after the gap", utc(2026, 3, 8, 3, 0), ny, utc(2026, 3, 8, 7, 0)},
		{"just before the gap", utc(2026, 3, 8, 1, 59), ny, utc(2026, 3, 8, 6, 59)},
		{"repeated hour: first occurrence (EDT)", utc(2026, 11, 1, 1, 30), ny, utc(2026, 11, 1, 5, 30)},
		{"start of the repeated hour", utc(2026, 11, 1, 1, 0), ny, utc(2026, 11, 1, 5, 0)},
		{"after the repeated hour", utc(2026, 11, 1, 2, 0), ny, utc(2026, 11, 1, 7, 0)},
		{"London's spring gap", utc(2026, 3, 29, 1, 30), london, utc(2026, 3, 29, 1, 0)},
		{"London's repeated hour", utc(2026, 10, 25, 1, 30), london, utc(2026, 10, 25, 0, 30)},
		{"Lord Howe's 30-minute gap", utc(2026, 10, 4, 2, 15), lordHowe, time.Date(2026, 10, 4, 2, 30, 0, 0, lordHowe)},
		{"Lord Howe's repeated half hour: first (+11)", utc(2026, 4, 5, 1, 45), lordHowe, time.Date(2026, 4, 5, 1, 45, 0, 0, time.FixedZone("", 11*3600))},
		{"UTC", utc(2026, 3, 8, 2, 30), time.UTC, utc(2026, 3, 8, 2, 30)},
	}
	for _, c := range cases {
		got := schedule.FirstInstant(c.wall, c.loc)
		if !got.Equal(c.want) || got.Location() != c.loc {
			t.Errorf("%s: FirstInstant(%s, %s) = %v, want %v in %s", c.name, c.wall.Format("2006-01-02 15:04"), c.loc, got, c.want.In(c.loc), c.loc)
		}
	}
}

func TestNextAcrossDST(t *testing.T) {
	ny, london, lordHowe := zone(t, "America/New_York"), zone(t, "Europe/London"), zone(t, "Australia/Lord_Howe")
	at := func(h, m int) schedule.Clock { return schedule.Clock{Hour: h, Minute: m} }
	cases := []struct {
		name  string
		s     *schedule.Schedule
		after time.Time
		want  []time.Time
	}{
		{"daily 02:30, New York spring forward: 03:00 EDT that day", schedule.NewDaily(at(2, 30), ny), utc(2026, 3, 6, 12, 0),
			[]time.Time{utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)}},
		{"daily 01:30, New York fall back: once, at 01:30 EDT", schedule.NewDaily(at(1, 30), ny), utc(2026, 10, 31, 12, 0),
			[]time.Time{utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)}},
		{"daily 01:30, asked during the second 01:30 (EST): tomorrow", schedule.NewDaily(at(1, 30), ny), utc(2026, 11, 1, 6, 30),
			[]time.Time{utc(2026, 11, 2, 6, 30)}},
		{"daily 01:30, asked between the two 01:30s: tomorrow", schedule.NewDaily(at(1, 30), ny), utc(2026, 11, 1, 6, 0),
			[]time.Time{utc(2026, 11, 2, 6, 30)}},
		{"daily 01:30, London spring forward: 02:00 BST", schedule.NewDaily(at(1, 30), london), utc(2026, 3, 28, 12, 0),
			[]time.Time{utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)}},
		{"daily 01:30, London fall back: once (BST)", schedule.NewDaily(at(1, 30), london), utc(2026, 10, 24, 12, 0),
			[]time.Time{utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)}},
		{"daily 02:15, Lord Howe's 30-minute spring forward: 02:30", schedule.NewDaily(at(2, 15), lordHowe), utc(2026, 10, 2, 12, 0),
			[]time.Time{time.Date(2026, 10, 3, 2, 15, 0, 0, lordHowe), time.Date(2026, 10, 4, 2, 30, 0, 0, lordHowe), time.Date(2026, 10, 5, 2, 15, 0, 0, lordHowe)}},
		{"daily 01:45, Lord Howe's fall back: once (+11)", schedule.NewDaily(at(1, 45), lordHowe), utc(2026, 4, 3, 12, 0),
			[]time.Time{utc(2026, 4, 3, 14, 45), utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)}},
		{"weekly Sunday 02:30 across New York's spring forward", schedule.NewWeekly(time.Sunday, at(2, 30), ny), utc(2026, 3, 1, 0, 0),
			[]time.Time{utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 15, 6, 30)}},
		{"weekly Sunday 01:30 across New York's fall back", schedule.NewWeekly(time.Sunday, at(1, 30), ny), utc(2026, 10, 30, 0, 0),
			[]time.Time{utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)}},
		{"next is strictly after: at the run itself", schedule.NewDaily(at(2, 0), time.UTC), utc(2026, 1, 1, 2, 0),
			[]time.Time{utc(2026, 1, 2, 2, 0)}},
		{"a second before the run", schedule.NewDaily(at(2, 0), time.UTC), utc(2026, 1, 1, 2, 0).Add(-time.Second),
			[]time.Time{utc(2026, 1, 1, 2, 0)}},
	}
	for _, c := range cases {
		got := c.s.NextN(c.after, len(c.want))
		if !sameTimes(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, inZone(c.want, c.s.Location()))
		}
		for _, g := range got {
			if g.Location() != c.s.Location() {
				t.Errorf("%s: run %v is not in the schedule's zone %s", c.name, g, c.s.Location())
			}
		}
	}
}

func TestCronFollowsTheDSTRule(t *testing.T) {
	ny := zone(t, "America/New_York")
	cron := func(expr string) *schedule.Schedule {
		s, err := schedule.ParseCron(expr, ny)
		if err != nil {
			t.Fatalf("ParseCron(%q): %v", expr, err)
		}
		return s
	}
	cases := []struct {
		name  string
		s     *schedule.Schedule
		after time.Time
		want  []time.Time
	}{
		{"30 2 * * *: spring gap runs at its end", cron("30 2 * * *"), utc(2026, 3, 7, 12, 0),
			[]time.Time{utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)}},
		{"30 1 * * *: repeated hour runs once", cron("30 1 * * *"), utc(2026, 10, 31, 12, 0),
			[]time.Time{utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)}},
		{"*/15 * * * *: the gap's wall times fold into one run at 03:00", cron("*/15 * * * *"), utc(2026, 3, 8, 6, 30),
			[]time.Time{utc(2026, 3, 8, 6, 45), utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 15)}},
		{"*/15 * * * *: the repeated hour's second pass does not run", cron("*/15 * * * *"), utc(2026, 11, 1, 5, 30),
			[]time.Time{utc(2026, 11, 1, 5, 45), utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 15)}},
		{"0 * * * *: hourly across fall back", cron("0 * * * *"), utc(2026, 11, 1, 4, 30),
			[]time.Time{utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 8, 0)}},
	}
	for _, c := range cases {
		if got := c.s.NextN(c.after, len(c.want)); !sameTimes(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, inZone(c.want, ny))
		}
	}
}

// A day a zone skips whole runs at the first instant after it.
func TestSkippedDay(t *testing.T) {
	apia := zone(t, "Pacific/Apia") // 29 December 2011 23:59:59 (-10) -> 31 December 00:00 (+14)
	got := schedule.NewDaily(schedule.Clock{Hour: 10}, apia).NextN(time.Date(2011, 12, 29, 0, 0, 0, 0, apia), 3)
	want := []time.Time{time.Date(2011, 12, 29, 10, 0, 0, 0, apia), time.Date(2011, 12, 31, 0, 0, 0, 0, apia), time.Date(2011, 12, 31, 10, 0, 0, 0, apia)}
	if !sameTimes(got, want) {
		t.Errorf("daily 10:00 over Samoa's skipped day: got %v, want %v", got, want)
	}
}

// simulate drives s the way a scheduler does, on an injected clock that
// ticks every minute from start until end (a run at start included): when
// the clock reaches the next run, the run fires and the scheduler asks for
// the one after.
func simulate(s *schedule.Schedule, start, end time.Time) []time.Time {
	var fired []time.Time
	next := s.Next(start.Add(-time.Nanosecond))
	for now := start; now.Before(end); now = now.Add(time.Minute) {
		if !now.Before(next) {
			fired = append(fired, now)
			next = s.Next(now)
		}
	}
	return fired
}

func TestAMonthOnAnInjectedClock(t *testing.T) {
	ny := zone(t, "America/New_York")
	local := func(y int, mo time.Month, d, h, m int) time.Time { return time.Date(y, mo, d, h, m, 0, 0, ny) }
	march := func(h, m int, gap time.Time) []time.Time {
		var want []time.Time
		for d := 1; d <= 31; d++ {
			if d == 8 {
				want = append(want, gap)
				continue
			}
			want = append(want, local(2026, 3, d, h, m))
		}
		return want
	}
	november := func(h, m int, repeated time.Time) []time.Time {
		var want []time.Time
		for d := 1; d <= 30; d++ {
			if d == 1 {
				want = append(want, repeated)
				continue
			}
			want = append(want, local(2026, 11, d, h, m))
		}
		return want
	}
	mustCron := func(expr string) *schedule.Schedule {
		s, err := schedule.ParseCron(expr, ny)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cronTwice := func() []time.Time {
		var want []time.Time
		for d := 1; d <= 31; d++ {
			second := local(2026, 3, d, 2, 30)
			if d == 8 {
				second = utc(2026, 3, 8, 7, 0) // 03:00 EDT
			}
			want = append(want, local(2026, 3, d, 1, 30), second)
		}
		return want
	}
	marchStart, marchEnd := local(2026, 3, 1, 0, 0), local(2026, 4, 1, 0, 0)
	novStart, novEnd := local(2026, 11, 1, 0, 0), local(2026, 12, 1, 0, 0)
	cases := []struct {
		name       string
		s          *schedule.Schedule
		start, end time.Time
		want       []time.Time
	}{
		{"daily 02:30 in March", schedule.NewDaily(schedule.Clock{Hour: 2, Minute: 30}, ny), marchStart, marchEnd,
			march(2, 30, utc(2026, 3, 8, 7, 0))},
		{"daily 01:30 in November", schedule.NewDaily(schedule.Clock{Hour: 1, Minute: 30}, ny), novStart, novEnd,
			november(1, 30, utc(2026, 11, 1, 5, 30))},
		{"weekly Sunday 02:30 in March", schedule.NewWeekly(time.Sunday, schedule.Clock{Hour: 2, Minute: 30}, ny), marchStart, marchEnd,
			[]time.Time{local(2026, 3, 1, 2, 30), utc(2026, 3, 8, 7, 0), local(2026, 3, 15, 2, 30), local(2026, 3, 22, 2, 30), local(2026, 3, 29, 2, 30)}},
		{"weekly Sunday 01:30 in November", schedule.NewWeekly(time.Sunday, schedule.Clock{Hour: 1, Minute: 30}, ny), novStart, novEnd,
			[]time.Time{utc(2026, 11, 1, 5, 30), local(2026, 11, 8, 1, 30), local(2026, 11, 15, 1, 30), local(2026, 11, 22, 1, 30), local(2026, 11, 29, 1, 30)}},
		{"cron 30 1,2 * * * in March", mustCron("30 1,2 * * *"), marchStart, marchEnd, cronTwice()},
		{"cron 30 1 * * 0 in November", mustCron("30 1 * * 0"), novStart, novEnd,
			[]time.Time{utc(2026, 11, 1, 5, 30), local(2026, 11, 8, 1, 30), local(2026, 11, 15, 1, 30), local(2026, 11, 22, 1, 30), local(2026, 11, 29, 1, 30)}},
	}
	for _, c := range cases {
		if got := simulate(c.s, c.start, c.end); !sameTimes(got, c.want) {
			t.Errorf("%s: fired %d times:\n got %v\nwant %v", c.name, len(got), inZone(got, ny), inZone(c.want, ny))
		}
	}

	// Every half hour: 46 runs on the 23-hour day, 48 on the 25-hour one
	// (the repeated hour's second pass does not run), 48 on other days.
	perDay := map[string]int{}
	for _, f := range simulate(mustCron("*/30 * * * *"), marchStart, marchEnd) {
		perDay[f.In(ny).Format("01-02")]++
	}
	for _, f := range simulate(mustCron("*/30 * * * *"), novStart, novEnd) {
		perDay[f.In(ny).Format("01-02")]++
	}
	for day, n := range perDay {
		want := 48
		if day == "03-08" {
			want = 46
		}
		if n != want {
			t.Errorf("*/30 * * * * ran %d times on %s, want %d", n, day, want)
		}
	}
	if len(perDay) != 61 {
		t.Errorf("*/30 * * * * ran on %d days of March and November, want 61", len(perDay))
	}
}

func TestNewFromSettings(t *testing.T) {
	ny := zone(t, "America/New_York")
	base := backup.DefaultSettings()
	with := func(f func(*backup.Settings)) backup.Settings { s := base; f(&s); return s }
	after := utc(2026, 6, 1, 12, 0) // a Monday, 08:00 in New York
	cases := []struct {
		settings backup.Settings
		enabled  bool
		desc     string
		next     time.Time
	}{
		{base, false, "every day at 02:00", utc(2026, 6, 2, 6, 0)},
		{with(func(s *backup.Settings) { s.ScheduleEnabled = true; s.ScheduleTime = "23:15" }), true, "every day at 23:15", utc(2026, 6, 2, 3, 15)},
		{with(func(s *backup.Settings) { s.ScheduleFrequency = "weekly"; s.ScheduleDay = 6; s.ScheduleTime = "3:05" }), false, "every Saturday at 03:05", utc(2026, 6, 6, 7, 5)},
		{with(func(s *backup.Settings) { s.ScheduleFrequency = "custom"; s.CronExpression = "0 */6 * * *" }), false,
			`cron "0 */6 * * *": at 00:00, 06:00, 12:00 and 18:00, every day`, utc(2026, 6, 1, 16, 0)},
		{with(func(s *backup.Settings) {
			s.ScheduleFrequency = "Custom"
			s.CronExpression = "15 8-17 * jan,jun mon-fri"
		}), false,
			`cron "15 8-17 * jan,jun mon-fri": at minute 15 of hours 8-17, on Monday-Friday in January,June`, utc(2026, 6, 1, 12, 15)},
	}
	for _, c := range cases {
		s, err := schedule.New(c.settings, ny)
		if err != nil {
			t.Errorf("New(%+v): %v", c.settings, err)
			continue
		}
		if s.Enabled() != c.enabled || s.String() != c.desc || s.Location() != ny {
			t.Errorf("New(%+v) = enabled %v, %q, %v; want %v, %q, %v", c.settings, s.Enabled(), s.String(), s.Location(), c.enabled, c.desc, ny)
		}
		if got := s.Next(after); !got.Equal(c.next) {
			t.Errorf("%s: Next(%v) = %v, want %v", c.desc, after, got, c.next.In(ny))
		}
	}

	bad := []struct {
		settings backup.Settings
		want     string
	}{
		{with(func(s *backup.Settings) { s.ScheduleFrequency = "hourly" }), `schedule_frequency: "hourly" is not daily, weekly or custom`},
		{with(func(s *backup.Settings) { s.ScheduleTime = "24:00" }), `schedule_time: "24:00" is not a time of day HH:MM`},
		{with(func(s *backup.Settings) { s.ScheduleFrequency = "weekly"; s.ScheduleDay = 7 }), "schedule_day: 7 is not a weekday 0-6 (0 = Sunday)"},
		{with(func(s *backup.Settings) { s.ScheduleFrequency = "custom"; s.CronExpression = "61 * * * *" }), "cron_expression: minute field: 61 is out of range 0-59"},
		{with(func(s *backup.Settings) { s.ScheduleFrequency = "custom"; s.CronExpression = "" }), "cron_expression: expected 5 fields"},
	}
	for _, c := range bad {
		_, err := schedule.New(c.settings, ny)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error starting %q", c.settings, err, c.want)
		}
	}
}

func TestParseClock(t *testing.T) {
	good := map[string]schedule.Clock{"00:00": {0, 0}, "02:30": {2, 30}, "2:30": {2, 30}, "23:59": {23, 59}, " 07:05 ": {7, 5}}
	for in, want := range good {
		if got, err := schedule.ParseClock(in); err != nil || got != want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got := (schedule.Clock{Hour: 7, Minute: 5}).String(); got != "07:05" {
		t.Errorf("Clock.String() = %q, want 07:05", got)
	}
	for _, in := range []string{"", "24:00", "12:60", "12", "12:5", "123:00", "-1:00", "12:00:00", "ab:cd", "１２:００", "+1:00"} {
		if got, err := schedule.ParseClock(in); err == nil || !strings.Contains(err.Error(), "is not a time of day HH:MM") {
			t.Errorf("ParseClock(%q) = %v, %v; want an error", in, got, err)
		}
	}
}

func TestParseCronErrorsNameTheFieldAndWhy(t *testing.T) {
	cases := map[string]string{
		"61 * * * *":          "minute field: 61 is out of range 0-59",
		"* 24 * * *":          "hour field: 24 is out of range 0-23",
		"* * 0 * *":           "day-of-month field: 0 is out of range 1-31",
		"* * * 13 *":          "month field: 13 is out of range 1-12",
		"* * * * 7":           "day-of-week field: 7 is out of range 0-6 (0 = Sunday)",
		"* * * foo *":         `month field: "foo" is not a number or a month name (jan-dec)`,
		"* * * * monday":      `day-of-week field: "monday" is not a number or a day name (sun-sat)`,
		"*/0 * * * *":         `minute field: step 0 in "*/0" is out of range 1-59`,
		"*/x * * * *":         `minute field: step "x" in "*/x" is not a number`,
		"*/ * * * *":          `minute field: "*/" has no step after /`,
		"1/2/3 * * * *":       `minute field: "1/2/3" has more than one /`,
		"1-2-3 * * * *":       `minute field: "1-2-3" has more than one -`,
		"0 22-2 * * *":        `hour field: range "22-2" goes backwards: ranges do not wrap around (write 22-23,0-2)`,
		"5- * * * *":          `minute field: "5-" is missing a number`,
		"1,,2 * * * *":        `minute field: "1,,2" has an empty item in its list`,
		"? * * * *":           "minute field: ? is allowed only in the day-of-month and day-of-week fields; use *",
		"-1 * * * *":          `minute field: "-1" is missing a number`,
		"+5 * * * *":          `minute field: "+5" is not a number`,
		"* * * *":             `expected 5 fields (minute hour day-of-month month day-of-week), found 4 in "* * * *"`,
		"0 * * * * *":         `expected 5 fields (minute hour day-of-month month day-of-week), found 6 in "0 * * * * *"`,
		"":                    `expected 5 fields (minute hour day-of-month month day-of-week), found 0 in ""`,
		"@every 1h":           `"@every 1h" is not a 5-field expression nor one of @yearly, @monthly, @weekly, @daily, @hourly`,
		"TZ=UTC 0 0 * * *":    "a time zone prefix (TZ=, CRON_TZ=) is not allowed: the timezone setting gives the zone",
		"0 0 31 2,4 *":        "day-of-month field: no month given (2,4) has day 31, so the schedule would never run",
		"0 0 30 feb *":        "day-of-month field: no month given (feb) has day 30, so the schedule would never run",
		"99999999999 * * * *": "minute field: 99999999999 is out of range 0-59",
	}
	for expr, want := range cases {
		_, err := schedule.ParseCron(expr, time.UTC)
		if err == nil || err.Error() != want {
			t.Errorf("ParseCron(%q) = %v, want %q", expr, err, want)
			continue
		}
		var ce *schedule.CronError
		if !errors.As(err, &ce) || ce.Field == "" && strings.Contains(want, " field: ") {
			t.Errorf("ParseCron(%q): error %T is not a *CronError", expr, err)
		}
	}
	// These run, if rarely.
	for _, expr := range []string{"0 0 29 2 *", "0 0 31 * *", "0 0 30 2 1", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "0 0 ? * ?", "0-59/59 * * * *"} {
		if _, err := schedule.ParseCron(expr, time.UTC); err != nil {
			t.Errorf("ParseCron(%q): %v", expr, err)
		}
	}
}

func TestDescriptions(t *testing.T) {
	cases := map[string]string{
		"* * * * *":          `cron "* * * * *": every minute, every day`,
		"* 9-17 * * *":       `cron "* 9-17 * * *": every minute of hours 9-17, every day`,
		"*/15 * * * *":       `cron "*/15 * * * *": at minutes 0,15,30,45 of every hour, every day`,
		"5 * * * *":          `cron "5 * * * *": at minute 5 of every hour, every day`,
		"0 2 1 * *":          `cron "0 2 1 * *": at 02:00, on day 1 of the month`,
		"0 2 1,15 * 1":       `cron "0 2 1,15 * 1": at 02:00, on day 1,15 of the month or on Monday`,
		"30 1,13 * * sat,0":  `cron "30 1,13 * * sat,0": at 01:30 and 13:30, on Sunday,Saturday`,
		"0 3 * 1-3,12 *":     `cron "0 3 * 1-3,12 *": at 03:00, every day in January-March,December`,
		"0,30 0-5 * * *":     `cron "0,30 0-5 * * *": at minutes 0,30 of hours 0-5, every day`,
		"@weekly":            `cron "0 0 * * 0": at 00:00, on Sunday`,
		"  0   4  *  *  *  ": `cron "0 4 * * *": at 04:00, every day`,
	}
	for expr, want := range cases {
		s, err := schedule.ParseCron(expr, time.UTC)
		if err != nil {
			t.Errorf("ParseCron(%q): %v", expr, err)
			continue
		}
		if got := s.String(); got != want {
			t.Errorf("ParseCron(%q).String() = %q, want %q", expr, got, want)
		}
	}
}

func TestNextN(t *testing.T) {
	s := schedule.NewDaily(schedule.Clock{Hour: 2}, time.UTC)
	if got := s.NextN(utc(2026, 1, 1, 0, 0), 0); len(got) != 0 {
		t.Errorf("NextN(0) = %v, want none", got)
	}
	if got := s.NextN(utc(2026, 1, 1, 0, 0), -1); len(got) != 0 {
		t.Errorf("NextN(-1) = %v, want none", got)
	}
	want := []time.Time{utc(2026, 1, 1, 2, 0), utc(2026, 1, 2, 2, 0), utc(2026, 1, 3, 2, 0), utc(2026, 1, 4, 2, 0), utc(2026, 1, 5, 2, 0)}
	if got := s.NextN(utc(2026, 1, 1, 0, 0), 5); !sameTimes(got, want) {
		t.Errorf("NextN(5) = %v, want %v", got, want)
	}
}

func sameTimes(got, want []time.Time) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			return false
		}
	}
	return true
}

func inZone(ts []time.Time, loc *time.Location) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(loc).Format("2006-01-02 15:04 MST")
	}
	return out
}
