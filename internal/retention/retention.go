// Package retention decides which backups a retention policy keeps. It is
// a pure function of the backups, the policy and a time zone: it reads no
// clock and changes nothing; the engine carries out what it decides.
//
// The semantics are restic's --keep-daily, --keep-weekly and
// --keep-monthly, over completed backups, in one time zone:
//
//   - Backups are walked newest first (by CreatedAt, then by ID).
//   - The daily rule keeps a backup if it is the newest backup of one of
//     the Daily most recent calendar days that have a backup. Days without
//     a backup do not count: with Daily = 7 and a backup every other day,
//     the daily rule reaches back two weeks.
//   - The weekly rule does the same for ISO weeks (Monday to Sunday,
//     numbered by ISO year and week, as in 2026-W53), the monthly rule for
//     calendar months.
//   - A backup is kept if any rule keeps it.
//   - Protected backups take part like any other (they count toward the
//     periods, and may be the newest of their day) and are never deleted.
//   - The newest completed backup is never deleted.
//   - All three limits 0 (or less) means keep everything.
//
// Days, weeks and months are those of the given zone: a backup at 23:30 in
// New York on 2026-11-01 belongs to that day even though it is 2026-11-02
// in UTC. Across a DST change a day has 23 or 25 hours; that changes
// nothing here, since each backup's local date is read from its own instant.
//
// Each database (DBEngine and DBName) is planned on its own, so a catalog
// that also holds backups of another database (a data directory whose DSN
// was changed) never loses them because the other database's backups are
// newer; each database keeps its own newest backup.
//
// Pre-restore backups (source pre_restore) take part like any other. The
// seed's RetentionService works on completed, unprotected backups with no
// exception by source, and its Property 13 is stated "for any set of
// unprotected backups"; a pre-restore backup is a complete snapshot of the
// database at that moment, as restorable as any other. So it counts toward
// its day, week and month, may be the backup that keeps its day, and is
// deleted when no rule keeps it. To keep one past its periods (say, the
// state before a restore you may want to undo), protect it.
package retention

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Policy is how many periods each rule keeps; 0 (or less) turns a rule off.
type Policy struct {
	Daily   int `json:"daily"`
	Weekly  int `json:"weekly"`
	Monthly int `json:"monthly"`
}

// PolicyOf returns the retention limits of s.
func PolicyOf(s backup.Settings) Policy {
	return Policy{Daily: s.RetentionDaily, Weekly: s.RetentionWeekly, Monthly: s.RetentionMonthly}
}

// KeepsAll reports whether p keeps every backup: no rule has a limit above 0.
func (p Policy) KeepsAll() bool {
	return p.Daily <= 0 && p.Weekly <= 0 && p.Monthly <= 0
}

// String reads "7 daily, 4 weekly, 6 monthly".
func (p Policy) String() string {
	return fmt.Sprintf("%d daily, %d weekly, %d monthly", max(p.Daily, 0), max(p.Weekly, 0), max(p.Monthly, 0))
}

// Rule names what keeps a backup.
type Rule string

const (
	RuleDaily     Rule = "daily"     // the newest of one of the Daily most recent days with backups
	RuleWeekly    Rule = "weekly"    // the same for ISO weeks
	RuleMonthly   Rule = "monthly"   // the same for calendar months
	RuleProtected Rule = "protected" // protected backups are never deleted
	RuleNewest    Rule = "newest"    // the newest completed backup (of its database) is never deleted
	RuleNoLimits  Rule = "no_limits" // all three limits are 0: everything is kept
)

// Reason is one thing that keeps a backup: a rule, and for the period rules
// the period it is the newest backup of.
type Reason struct {
	Rule Rule `json:"rule"`
	// Period is the day (2026-11-27), ISO week (2026-W48) or month
	// (2026-11) in the plan's zone; "" for the other rules.
	Period string `json:"period,omitempty"`
}

// String reads "daily 2026-11-27", "weekly 2026-W48", "monthly 2026-11",
// "protected", "newest completed backup" or "no retention limits".
func (r Reason) String() string {
	switch r.Rule {
	case RuleNewest:
		return "newest completed backup"
	case RuleNoLimits:
		return "no retention limits"
	}
	if r.Period == "" {
		return string(r.Rule)
	}
	return string(r.Rule) + " " + r.Period
}

// Decision is what the policy does with one completed backup, and why.
type Decision struct {
	Backup *backup.Backup `json:"backup"`
	Keep   bool           `json:"keep"`
	// KeptBy lists everything that keeps the backup, period rules first
	// (daily, weekly, monthly), then protected and newest; empty when the
	// backup is to be deleted.
	KeptBy []Reason `json:"kept_by,omitempty"`
	// Why says, for a backup to be deleted, why no rule keeps it; for
	// each rule in use either which backup is the newest of its period, or
	// that its period is older than the periods the rule keeps.
	Why string `json:"why,omitempty"`
}

// Reason says in one line why the backup is kept ("daily 2026-11-27,
// weekly 2026-W48") or deleted (Why).
func (d Decision) Reason() string {
	if !d.Keep {
		return d.Why
	}
	parts := make([]string, len(d.KeptBy))
	for i, r := range d.KeptBy {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// Period keys in loc: day 2026-11-27, ISO week 2026-W48, month 2026-11.
func dayKey(t time.Time) string { return t.Format("2006-01-02") }

func weekKey(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

func monthKey(t time.Time) string { return t.Format("2006-01") }

// period is a day, week or month met in a walk: its newest backup, and
// whether the rule keeps it.
type period struct {
	newest *backup.Backup
	kept   bool
}

// periodRule is one of the period rules during a walk.
type periodRule struct {
	rule  Rule
	limit int
	unit  string // "day", "week", "month"
	key   func(time.Time) string
	seen  map[string]period // the periods met so far in the walk
	left  int               // periods still to keep
}

// Plan decides, for every completed backup in backups, whether p keeps it,
// with days, weeks and months taken in loc (nil: UTC). Backups that are not
// completed (pending, failed) take no part and get no decision. The
// decisions come newest first (by CreatedAt, then ID). backups is not
// changed.
//
// Plan promises: a protected backup is always kept; the newest completed
// backup of each database is always kept; if p.KeepsAll(), every backup is
// kept; otherwise a backup is kept exactly when a rule or one of those two
// keeps it.
func Plan(backups []*backup.Backup, p Policy, loc *time.Location) []Decision {
	if loc == nil {
		loc = time.UTC
	}
	var completed []*backup.Backup
	for _, b := range backups {
		if b != nil && b.Status == backup.StatusCompleted {
			completed = append(completed, b)
		}
	}
	slices.SortStableFunc(completed, func(a, b *backup.Backup) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})

	// Each database is walked on its own; its walk state lives here.
	type walk struct {
		rules  []*periodRule
		newest *backup.Backup
	}
	walks := map[[2]string]*walk{}
	decisions := make([]Decision, 0, len(completed))
	for _, b := range completed {
		db := [2]string{b.DBEngine, b.DBName}
		w := walks[db]
		if w == nil {
			w = &walk{newest: b}
			for _, r := range []struct {
				rule  Rule
				limit int
				unit  string
				key   func(time.Time) string
			}{{RuleDaily, p.Daily, "day", dayKey}, {RuleWeekly, p.Weekly, "week", weekKey}, {RuleMonthly, p.Monthly, "month", monthKey}} {
				if r.limit > 0 {
					w.rules = append(w.rules, &periodRule{rule: r.rule, limit: r.limit, unit: r.unit, key: r.key, seen: map[string]period{}, left: r.limit})
				}
			}
			walks[db] = w
		}
		d := Decision{Backup: b}
		var misses []miss
		local := b.CreatedAt.In(loc)
		for _, r := range w.rules {
			key := r.key(local)
			seen, ok := r.seen[key]
			if !ok {
				// The first backup of a period in the walk is its newest.
				seen = period{newest: b, kept: r.left > 0}
				r.seen[key] = seen
				if seen.kept {
					r.left--
					d.KeptBy = append(d.KeptBy, Reason{Rule: r.rule, Period: key})
					continue
				}
			}
			if !seen.kept {
				misses = append(misses, miss{rule: r, period: key})
			} else {
				misses = append(misses, miss{rule: r, period: key, keeper: seen.newest})
			}
		}
		if b.IsProtected {
			d.KeptBy = append(d.KeptBy, Reason{Rule: RuleProtected})
		}
		if b == w.newest {
			d.KeptBy = append(d.KeptBy, Reason{Rule: RuleNewest})
		}
		if p.KeepsAll() {
			d.KeptBy = append(d.KeptBy, Reason{Rule: RuleNoLimits})
		}
		d.Keep = len(d.KeptBy) > 0
		if !d.Keep {
			d.Why = why(misses)
		}
		decisions = append(decisions, d)
	}
	return decisions
}

// miss is why one period rule does not keep a backup: its period is kept
// by a newer backup (keeper), or is older than the periods the rule keeps.
type miss struct {
	rule   *periodRule
	period string
	keeper *backup.Backup // nil: the period is too old
}

// why says why no rule keeps a backup, naming each newer backup that keeps
// its periods once: "no rule keeps it: daily 2026-11-27 and weekly
// 2026-W48 are kept by newer backup 12; monthly 2026-08 is older than the 6
// most recent months with backups".
func why(misses []miss) string {
	var parts []string
	done := map[*backup.Backup]bool{}
	for i, m := range misses {
		if m.keeper == nil {
			parts = append(parts, fmt.Sprintf("%s %s is older than the %s with backups", m.rule.rule, m.period, count(m.rule.limit, m.rule.unit)))
			continue
		}
		if done[m.keeper] {
			continue
		}
		done[m.keeper] = true
		var periods []string
		for _, o := range misses[i:] {
			if o.keeper == m.keeper {
				periods = append(periods, string(o.rule.rule)+" "+o.period)
			}
		}
		verb := "is"
		if len(periods) > 1 {
			verb = "are"
		}
		parts = append(parts, fmt.Sprintf("%s %s kept by newer %s", andList(periods), verb, name(m.keeper)))
	}
	return "no rule keeps it: " + strings.Join(parts, "; ")
}

// andList reads "a", "a and b", "a, b and c".
func andList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// name says which backup: "backup 12", or its file name when it has no ID.
func name(b *backup.Backup) string {
	if b.ID != 0 {
		return fmt.Sprintf("backup %d", b.ID)
	}
	if b.Filename != "" {
		return b.Filename
	}
	return "created " + b.CreatedAt.UTC().Format(time.RFC3339)
}

// count reads "most recent day", "7 most recent days".
func count(n int, unit string) string {
	if n == 1 {
		return "most recent " + unit
	}
	return fmt.Sprintf("%d most recent %ss", n, unit)
}
