package main

import (
	"context"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/schedule"
	"github.com/hmsbackup/hmsbackup/internal/settings"
)

// nextScheduledRun implements scheduler.NextFunc from the saved settings,
// read afresh each time, so a change applies without a restart: the first
// run strictly after after, in the settings' zone (else
// HMSBACKUP_TIMEZONE, else the server's).
func (a *app) nextScheduledRun(ctx context.Context, after time.Time) (time.Time, bool, error) {
	s, err := a.catalog.Settings(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	if !s.ScheduleEnabled {
		return time.Time{}, false, nil
	}
	loc, err := settings.Location(s, a.cfg.Location)
	if err != nil {
		return time.Time{}, false, err
	}
	sched, err := schedule.New(s, loc)
	if err != nil {
		return time.Time{}, false, err
	}
	return sched.Next(after), true, nil
}
