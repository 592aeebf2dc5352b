package engine

import (
	"context"
	"strings"

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
	cur, err := e.Catalog.Settings(ctx)
	if err != nil {
		return backup.Settings{}, nil, err
	}
	next, changes, err := settings.Apply(cur, pairs, seal)
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
