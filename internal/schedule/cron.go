package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CronError says what is wrong with a cron expression: Field names the
// field at fault ("minute", "hour", "day-of-month", "month",
// "day-of-week"), or is "" when the expression as a whole is wrong.
type CronError struct {
	Field  string
	Reason string
}

// Error reads e.g. "minute field: 61 is out of range 0-59".
func (e *CronError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + " field: " + e.Reason
}

// cronField is one field of a 5-field expression: its name, its range and
// the names its values may be written as (names[v] is value v's).
type cronField struct {
	name     string
	min, max int
	names    []string
	question bool   // "?" may stand for "*"
	nameHint string // how else values may be written
	note     string // said after the range
}

func cronFields() [5]cronField {
	return [5]cronField{
		{name: "minute", min: 0, max: 59},
		{name: "hour", min: 0, max: 23},
		{name: "day-of-month", min: 1, max: 31, question: true},
		{name: "month", min: 1, max: 12, nameHint: " or a month name (jan-dec)",
			names: []string{"", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
		{name: "day-of-week", min: 0, max: 6, question: true, nameHint: " or a day name (sun-sat)", note: " (0 = Sunday)",
			names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
	}
}

// ParseCron returns the schedule of a standard 5-field cron expression
// ("minute hour day-of-month month day-of-week") in loc. The language is
// that of github.com/robfig/cron/v3's standard parser, a little stricter:
// each field is a comma-separated list of *, N, N-M, */S, N-M/S or N/S
// (N to the field's maximum every S); months and weekdays may be written
// jan-dec and sun-sat; weekdays are 0-6 with 0 = Sunday; "?" means "*" in
// the day fields; a day matches if it matches both day fields, or either
// when neither starts with "*" or "?" (a step over 1, as in */2, counts
// as not starting with "*"). The descriptors @yearly, @annually,
// @monthly, @weekly, @daily, @midnight and @hourly are accepted; @every
// and time-zone prefixes are not. An expression that can never run (day
// 31 in February only) is an error. The error is a *CronError naming the
// field and why.
func ParseCron(expr string, loc *time.Location) (*Schedule, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "@") {
		fields, ok := descriptor(e)
		if !ok {
			return nil, &CronError{Reason: fmt.Sprintf("%q is not a 5-field expression nor one of @yearly, @monthly, @weekly, @daily, @hourly", e)}
		}
		e = fields
	}
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, &CronError{Reason: "a time zone prefix (TZ=, CRON_TZ=) is not allowed: the timezone setting gives the zone"}
	}
	parts := strings.Fields(e)
	if len(parts) != 5 {
		return nil, &CronError{Reason: fmt.Sprintf("expected 5 fields (minute hour day-of-month month day-of-week), found %d in %q", len(parts), e)}
	}
	specs := cronFields()
	var bits [5]uint64
	var stars [5]bool
	for i, f := range specs {
		b, star, reason := parseField(parts[i], f)
		if reason != "" {
			return nil, &CronError{Field: f.name, Reason: reason}
		}
		bits[i], stars[i] = b, star
	}
	s := &Schedule{loc: loc, enabled: true, minute: bits[0], hour: bits[1],
		days: daySet{dom: bits[2], domStar: stars[2], month: bits[3], dow: bits[4], dowStar: stars[4]}}
	if !s.days.everMatches() {
		return nil, &CronError{Field: "day-of-month", Reason: fmt.Sprintf("no month given (%s) has day %s, so the schedule would never run", parts[3], parts[2])}
	}
	s.desc = fmt.Sprintf("cron %q: %s, %s", strings.Join(parts, " "), describeTimes(s.minute, s.hour), s.days.describe())
	return s, nil
}

// descriptor returns the 5 fields a @descriptor stands for.
func descriptor(d string) (string, bool) {
	switch d {
	case "@yearly", "@annually":
		return "0 0 1 1 *", true
	case "@monthly":
		return "0 0 1 * *", true
	case "@weekly":
		return "0 0 * * 0", true
	case "@daily", "@midnight":
		return "0 0 * * *", true
	case "@hourly":
		return "0 * * * *", true
	}
	return "", false
}

// parseField returns a field's values as a bit set and whether it holds a
// star item ("*" or "?" without a step over 1), or the reason it is wrong.
func parseField(text string, f cronField) (bits uint64, star bool, reason string) {
	for _, item := range strings.Split(text, ",") {
		if item == "" {
			return 0, false, fmt.Sprintf("%q has an empty item in its list", text)
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		if strings.Contains(stepText, "/") {
			return 0, false, fmt.Sprintf("%q has more than one /", item)
		}
		var lo, hi int
		isStar, isRange := false, false
		switch rng {
		case "?":
			if !f.question {
				return 0, false, "? is allowed only in the day-of-month and day-of-week fields; use *"
			}
			fallthrough
		case "*":
			lo, hi, isStar = f.min, f.max, true
		default:
			var a, b string
			a, b, isRange = strings.Cut(rng, "-")
			if strings.Contains(b, "-") {
				return 0, false, fmt.Sprintf("%q has more than one -", item)
			}
			if lo, reason = f.value(a, item); reason != "" {
				return 0, false, reason
			}
			hi = lo
			if isRange {
				if hi, reason = f.value(b, item); reason != "" {
					return 0, false, reason
				}
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			switch {
			case stepText == "":
				return 0, false, fmt.Sprintf("%q has no step after /", item)
			case !digits(stepText):
				return 0, false, fmt.Sprintf("step %q in %q is not a number", stepText, item)
			case err != nil || n < 1 || n > f.max-f.min:
				return 0, false, fmt.Sprintf("step %s in %q is out of range 1-%d", stepText, item, f.max-f.min)
			}
			step = n
			if !isStar && !isRange {
				hi = f.max // N/S: from N to the maximum, every S
			}
			if step > 1 {
				isStar = false
			}
		}
		if lo > hi {
			return 0, false, fmt.Sprintf("range %q goes backwards: ranges do not wrap around (write %d-%d,%d-%d)", rng, lo, f.max, f.min, hi)
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << uint(v)
		}
		star = star || isStar
	}
	return bits, star, ""
}

// value reads one number or name of item, checking its range.
func (f cronField) value(s, item string) (int, string) {
	if s == "" {
		return 0, fmt.Sprintf("%q is missing a number", item)
	}
	for v, name := range f.names {
		if name != "" && strings.EqualFold(s, name) {
			return v, ""
		}
	}
	if !digits(s) {
		return 0, fmt.Sprintf("%q is not a number%s", s, f.nameHint)
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		return 0, fmt.Sprintf("%s is out of range %d-%d%s", s, f.min, f.max, f.note)
	}
	return v, ""
}

// daySet is the days a schedule runs on, as bit sets of days of the month
// (1-31), months (1-12) and weekdays (0-6, 0 = Sunday).
type daySet struct {
	dom, month, dow  uint64
	domStar, dowStar bool
}

func everyDay() daySet {
	return daySet{dom: bitRange(1, 31), month: bitRange(1, 12), dow: bitRange(0, 6), domStar: true, dowStar: true}
}

// matches reports whether the date of day (a UTC time) is in the set.
func (d daySet) matches(day time.Time) bool {
	if d.month&(1<<uint(day.Month())) == 0 {
		return false
	}
	domOK := d.dom&(1<<uint(day.Day())) != 0
	dowOK := d.dow&(1<<uint(day.Weekday())) != 0
	if d.domStar || d.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// everMatches reports whether any date matches; 2000-2007 has every
// combination of month, day of month (29 February too) and weekday.
func (d daySet) everMatches() bool {
	for day := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 2008; day = day.AddDate(0, 0, 1) {
		if d.matches(day) {
			return true
		}
	}
	return false
}

func (d daySet) describe() string {
	var s string
	dowNames := func(v int) string { return time.Weekday(v).String() }
	switch {
	case d.domStar && d.dowStar:
		s = "every day"
	case d.domStar:
		s = "on " + compress(values(d.dow, 0, 6), dowNames)
	case d.dowStar:
		s = "on day " + compress(values(d.dom, 1, 31), strconv.Itoa) + " of the month"
	default:
		s = "on day " + compress(values(d.dom, 1, 31), strconv.Itoa) + " of the month or on " + compress(values(d.dow, 0, 6), dowNames)
	}
	if d.month != bitRange(1, 12) {
		s += " in " + compress(values(d.month, 1, 12), func(v int) string { return time.Month(v).String() })
	}
	return s
}

// describeTimes says at which times of day the minute and hour sets run.
func describeTimes(minute, hour uint64) string {
	mins, hrs := values(minute, 0, 59), values(hour, 0, 23)
	switch {
	case len(mins)*len(hrs) <= 6:
		var at []string
		for _, h := range hrs {
			for _, m := range mins {
				at = append(at, Clock{Hour: h, Minute: m}.String())
			}
		}
		if len(at) == 1 {
			return "at " + at[0]
		}
		return "at " + strings.Join(at[:len(at)-1], ", ") + " and " + at[len(at)-1]
	case len(mins) == 60 && len(hrs) == 24:
		return "every minute"
	case len(mins) == 60:
		return "every minute of hours " + compress(hrs, strconv.Itoa)
	}
	word := "minutes "
	if len(mins) == 1 {
		word = "minute "
	}
	if len(hrs) == 24 {
		return "at " + word + compress(mins, strconv.Itoa) + " of every hour"
	}
	return "at " + word + compress(mins, strconv.Itoa) + " of hours " + compress(hrs, strconv.Itoa)
}

// values lists the members of bits between lo and hi.
func values(bits uint64, lo, hi int) []int {
	var vs []int
	for v := lo; v <= hi; v++ {
		if bits&(1<<uint(v)) != 0 {
			vs = append(vs, v)
		}
	}
	return vs
}

// compress writes sorted values as "1-5,7,9", naming each with name.
func compress(vs []int, name func(int) string) string {
	var parts []string
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, name(vs[i])+"-"+name(vs[j]))
		case j == i+1:
			parts = append(parts, name(vs[i]), name(vs[j]))
		default:
			parts = append(parts, name(vs[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func bitRange(lo, hi int) uint64 {
	var b uint64
	for v := lo; v <= hi; v++ {
		b |= 1 << uint(v)
	}
	return b
}
