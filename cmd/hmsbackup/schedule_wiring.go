package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// nextScheduledRun implements scheduler.NextFunc from the saved settings,
// read afresh each time: a daily run at schedule_time, a weekly one on
// schedule_day at schedule_time, or cron_expression, in the settings' zone
// (else HMSBACKUP_TIMEZONE, else the server's).
func (a *app) nextScheduledRun(ctx context.Context, after time.Time) (time.Time, bool, error) {
	s, err := a.catalog.Settings(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	if !s.ScheduleEnabled {
		return time.Time{}, false, nil
	}
	loc := a.cfg.Location
	if s.Timezone != "" {
		if loc, err = time.LoadLocation(s.Timezone); err != nil {
			return time.Time{}, false, backup.Wrap(err, backup.EINVALID, "settings timezone %q", s.Timezone)
		}
	}
	spec, err := cronSpec(s)
	if err != nil {
		return time.Time{}, false, err
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return time.Time{}, false, backup.Wrap(err, backup.EINVALID, "schedule %q", spec)
	}
	return sched.Next(after.In(loc)), true, nil
}

// cronSpec writes a daily or weekly schedule as a cron expression.
func cronSpec(s backup.Settings) (string, error) {
	switch s.ScheduleFrequency {
	case "custom":
		return s.CronExpression, nil
	case "daily", "weekly":
		hh, mm, ok := strings.Cut(s.ScheduleTime, ":")
		if !ok {
			return "", backup.Errorf(backup.EINVALID, "schedule_time %q is not HH:MM", s.ScheduleTime)
		}
		if s.ScheduleFrequency == "daily" {
			return fmt.Sprintf("%s %s * * *", mm, hh), nil
		}
		return fmt.Sprintf("%s %s * * %d", mm, hh, s.ScheduleDay), nil
	}
	return "", backup.Errorf(backup.EINVALID, "schedule_frequency %q is not daily, weekly or custom", s.ScheduleFrequency)
}
