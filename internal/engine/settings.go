package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/settings"
)

// UpdateSettings applies the "KEY=VALUE" pairs to the saved settings, all
// or nothing (settings.Apply), sealing secrets with seal; saves them once;
// and writes one audit entry naming each key changed with its old and new
// value (a secret only as "set" or "not set"). When any pair is invalid it
// returns EINVALID wrapping settings.Errors, and nothing is saved or
// audited. When no value changes, nothing is saved and changes is empty.
func (e *Engine) UpdateSettings(ctx context.Context, actor Actor, pairs []string, seal settings.Sealer) (backup.Settings, []settings.Change, error) {
	return e.UpdateSettingsWith(ctx, actor, pairs, settings.Options{Seal: seal})
}

// UpdateSettingsWith is UpdateSettings with settings.Options: with
// Overridden (remotes.Env.Overrides), a setting the environment gives
// counts as given (an S3 bucket needs an endpoint).
func (e *Engine) UpdateSettingsWith(ctx context.Context, actor Actor, pairs []string, opts settings.Options) (backup.Settings, []settings.Change, error) {
	return e.changeSettings(ctx, actor, func(cur backup.Settings) (backup.Settings, []settings.Change, error) {
		return settings.ApplyWith(cur, pairs, opts)
	})
}

// ApplySettings applies a whole form or API update (settings.Update) like
// UpdateSettings: all or nothing, one save, one audit entry naming the
// changed keys (secrets as "set"/"not set", never their values). On
// invalid input the error is EINVALID wrapping settings.Errors, which maps
// each bad key to its message:
//
//	var fe settings.Errors
//	if errors.As(err, &fe) { /* fe["s3_bucket"] is the message for that field */ }
//
// Settings changes made here are seen by the scheduler, the notifier and a
// remotes.Provider at their next read: no restart.
func (e *Engine) ApplySettings(ctx context.Context, actor Actor, f settings.Form, opts settings.Options) (backup.Settings, []settings.Change, error) {
	return e.changeSettings(ctx, actor, func(cur backup.Settings) (backup.Settings, []settings.Change, error) {
		return settings.Update(cur, f, opts)
	})
}

// changeSettings reads the settings, applies change, and saves and audits
// the result, under the settings' lock: two changes at once (two forms, a
// form and the CLI) are made one after the other, so neither undoes the
// other's.
func (e *Engine) changeSettings(ctx context.Context, actor Actor, change func(backup.Settings) (backup.Settings, []settings.Change, error)) (backup.Settings, []settings.Change, error) {
	if e.Locker != nil {
		l, err := e.Locker.Acquire(ctx, "settings", "a change of the settings", 30*time.Second)
		if err != nil {
			return backup.Settings{}, nil, fmt.Errorf("settings not changed: %w", err)
		}
		defer l.Release()
	}
	cur, err := e.Catalog.Settings(ctx)
	if err != nil {
		return backup.Settings{}, nil, err
	}
	next, changes, err := change(cur)
	if err != nil {
		return cur, nil, backup.Wrap(err, backup.EINVALID, "settings not changed")
	}
	if len(changes) == 0 {
		return cur, nil, nil
	}
	details := describeChanges(changes)
	if err := e.Catalog.SaveSettings(ctx, next); err != nil {
		e.audit(ctx, actor, backup.ActionSettings, nil, err, "change "+details)
		return cur, nil, err
	}
	e.audit(ctx, actor, backup.ActionSettings, nil, nil, "changed "+details)
	saved, err := e.Catalog.Settings(ctx)
	if err != nil {
		return next, changes, err
	}
	return saved, changes, nil
}

// describeChanges reads "schedule_time 02:00 -> 03:00, webhook_url not set -> set".
func describeChanges(changes []settings.Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		old, cur := c.Old, c.New
		if old == "" {
			old = `""`
		}
		if cur == "" {
			cur = `""`
		}
		parts[i] = c.Key + " " + old + " -> " + cur
	}
	return strings.Join(parts, ", ")
}
