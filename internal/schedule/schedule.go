// Package schedule says when scheduled backups run: daily at a wall-clock
// time, weekly on a weekday at a wall-clock time, or by a 5-field cron
// expression, all in one time zone.
//
// # Daylight saving time
//
// A schedule is a set of wall-clock times in its zone, and each of them
// runs exactly once:
//
//   - a wall time that occurs once runs then;
//   - a wall time that occurs twice, in the hour repeated when clocks go
//     back, runs at its first occurrence only;
//   - a wall time that does not occur, in the gap skipped when clocks go
//     forward, runs at the first instant after the gap: 02:30 on the day
//     New York springs from 02:00 to 03:00 runs at 03:00 EDT, and 02:15 on
//     the day Lord Howe Island springs from 02:00 to 02:30 runs at 02:30.
//
// So a daily schedule neither skips nor doubles a run across a DST change:
// it runs once on every local day, and a weekly one once every week. The
// same rule holds for cron expressions: the wall times of one gap fold into
// one run at its end ("*/15 * * * *" runs once at 03:00 for 02:00, 02:15,
// 02:30, 02:45 and 03:00), and in a repeated hour only the first pass runs
// (so "*/15 * * * *" pauses from 01:45 EDT to 02:00 EST, 1h15m).
//
// The one exception is a day that a zone skips whole (Samoa skipped 30
// December 2011): its run happens at the first instant after it, on the
// next local day, which then also has its own run.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Frequencies of backup.Settings.ScheduleFrequency.
const (
	Daily  = "daily"
	Weekly = "weekly"
	Custom = "custom"
)

// searchDays bounds Next's search: every schedule New accepts matches at
// least one day in any 8 consecutive years (29 February included).
const searchDays = 9 * 366

// Schedule is a set of wall-clock times in one zone. It is immutable and
// safe for concurrent use.
type Schedule struct {
	loc     *time.Location
	enabled bool
	desc    string // the schedule in words, without the zone
	// The wall times: minutes and hours as bit sets, and the days.
	minute, hour uint64
	days         daySet
}

// New returns the schedule that s describes in loc: s.ScheduleFrequency
// daily (at s.ScheduleTime), weekly (on s.ScheduleDay at s.ScheduleTime)
// or custom (s.CronExpression). The error names the settings key at fault
// and why. The schedule is built even if s.ScheduleEnabled is false.
func New(s backup.Settings, loc *time.Location) (*Schedule, error) {
	var (
		sch *Schedule
		err error
	)
	switch strings.ToLower(s.ScheduleFrequency) {
	case Daily:
		var at Clock
		if at, err = ParseClock(s.ScheduleTime); err != nil {
			return nil, fmt.Errorf("schedule_time: %w", err)
		}
		sch = NewDaily(at, loc)
	case Weekly:
		var at Clock
		if at, err = ParseClock(s.ScheduleTime); err != nil {
			return nil, fmt.Errorf("schedule_time: %w", err)
		}
		if s.ScheduleDay < 0 || s.ScheduleDay > 6 {
			return nil, fmt.Errorf("schedule_day: %d is not a weekday 0-6 (0 = Sunday)", s.ScheduleDay)
		}
		sch = NewWeekly(time.Weekday(s.ScheduleDay), at, loc)
	case Custom:
		if sch, err = ParseCron(s.CronExpression, loc); err != nil {
			return nil, fmt.Errorf("cron_expression: %w", err)
		}
	default:
		return nil, fmt.Errorf("schedule_frequency: %q is not daily, weekly or custom", s.ScheduleFrequency)
	}
	sch.enabled = s.ScheduleEnabled
	return sch, nil
}

// NewDaily returns an enabled schedule that runs every day at at in loc.
func NewDaily(at Clock, loc *time.Location) *Schedule {
	return &Schedule{loc: loc, enabled: true, desc: "every day at " + at.String(),
		minute: 1 << at.Minute, hour: 1 << at.Hour, days: everyDay()}
}

// NewWeekly returns an enabled schedule that runs every week on day at at
// in loc.
func NewWeekly(day time.Weekday, at Clock, loc *time.Location) *Schedule {
	d := everyDay()
	d.dow, d.dowStar = 1<<uint(day), false
	return &Schedule{loc: loc, enabled: true, desc: "every " + day.String() + " at " + at.String(),
		minute: 1 << at.Minute, hour: 1 << at.Hour, days: d}
}

// Enabled reports whether the settings turned the schedule on. Next and
// NextN ignore it: they say when the schedule runs once it is on.
func (s *Schedule) Enabled() bool { return s.enabled }

// Location is the zone of the schedule's wall-clock times.
func (s *Schedule) Location() *time.Location { return s.loc }

// String describes the schedule in words, e.g. "every Sunday at 02:30" or
// `cron "0 */6 * * *": at 00:00, 06:00, 12:00 and 18:00, every day`.
func (s *Schedule) String() string { return s.desc }

// Next returns the first run strictly after after, in the schedule's zone,
// following the package's DST rule. It returns the zero time only for a
// schedule that never runs, which New and ParseCron do not return.
func (s *Schedule) Next(after time.Time) time.Time {
	// Wall times before after's own wall time (to the minute) run at or
	// before after: the instant a wall time runs at only grows with it.
	a := after.In(s.loc)
	y, mo, d := a.Date()
	h0, m0 := a.Hour(), a.Minute()
	for i := 0; i < searchDays; i++ {
		day := time.Date(y, mo, d+i, 0, 0, 0, 0, time.UTC)
		if !s.days.matches(day) {
			continue
		}
		for h := 0; h < 24; h++ {
			if s.hour&(1<<uint(h)) == 0 || (i == 0 && h < h0) {
				continue
			}
			for m := 0; m < 60; m++ {
				if s.minute&(1<<uint(m)) == 0 || (i == 0 && h == h0 && m < m0) {
					continue
				}
				wall := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, time.UTC)
				if t := firstInstant(wall, s.loc); t.After(after) {
					return t
				}
			}
		}
	}
	return time.Time{}
}

// NextN returns the next n runs after after, in order, each strictly later
// than the one before.
func (s *Schedule) NextN(after time.Time, n int) []time.Time {
	runs := make([]time.Time, 0, max(n, 0))
	for len(runs) < n {
		t := s.Next(after)
		if t.IsZero() {
			break
		}
		runs = append(runs, t)
		after = t
	}
	return runs
}

// firstInstant returns the first instant at which loc's clock reads the
// wall time wall or later (wall's fields are read as loc's wall clock; its
// own zone is ignored): the instant wall occurs if it occurs once, its
// first occurrence if clocks go back over it, and the end of the gap if
// clocks skip it. The result is in loc.
func firstInstant(wall time.Time, loc *time.Location) time.Time {
	w := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), time.UTC)
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	start, end := t.ZoneBounds()
	// The occurrences of w: with t's offset, the previous zone period's or
	// the next one's.
	probes := []time.Time{t}
	if !start.IsZero() {
		probes = append(probes, start.Add(-time.Nanosecond))
	}
	if !end.IsZero() {
		probes = append(probes, end)
	}
	var first time.Time
	for _, p := range probes {
		_, off := p.Zone()
		u := w.Add(-time.Duration(off) * time.Second)
		if wallClock(u, loc).Equal(w) && (first.IsZero() || u.Before(first)) {
			first = u
		}
	}
	if !first.IsZero() {
		return first.In(loc)
	}
	// w never occurs: it is in a gap, which ends at one of t's zone
	// period's bounds.
	for _, b := range []time.Time{start, end} {
		if b.IsZero() || !wallClock(b.Add(-time.Nanosecond), loc).Before(w) || wallClock(b, loc).Before(w) {
			continue
		}
		if first.IsZero() || b.Before(first) {
			first = b
		}
	}
	if first.IsZero() {
		return t // not reached with real zone data
	}
	return first.In(loc)
}

// wallClock is loc's wall clock at u, as a UTC time with those fields.
func wallClock(u time.Time, loc *time.Location) time.Time {
	l := u.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}
