package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// AddAuditEntry appends e and sets its ID and CreatedAt. Returns EINVALID
// if e.Action is empty.
func (c *Catalog) AddAuditEntry(ctx context.Context, e *backup.AuditEntry) error {
	if e.Action == "" {
		return backup.Errorf(backup.EINVALID, "audit entry has no action")
	}
	now := c.now()
	if err := checkTime("created_at", now); err != nil {
		return err
	}
	var id int64
	err := c.write(func() error {
		return c.db.QueryRowContext(ctx, `
			INSERT INTO backup_logs (backup_id, user_id, actor, action, outcome, details, created_at, updated_at,
				source_address, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			nullInt64(e.BackupID), nullInt64(e.UserID), e.Actor, string(e.Action), e.Outcome, e.Details,
			formatTime(now), formatTime(now), e.SourceAddress, e.UserAgent,
		).Scan(&id)
	})
	if err != nil {
		return c.wrap(err, "add audit entry %s by %q", e.Action, e.Actor)
	}
	e.ID, e.CreatedAt = id, now
	return nil
}

// FindAuditEntries returns the entries f selects, newest first (by
// CreatedAt, then by ID), the page f.Offset/f.Limit asks for, and how many
// entries match in all. Entries of deleted backups are still found by
// their backup id. Every value of f reaches SQLite as a parameter, never
// as SQL text. Returns EINVALID for a negative Offset or Limit, or times
// that cannot be stored.
func (c *Catalog) FindAuditEntries(ctx context.Context, f backup.AuditFilter) ([]*backup.AuditEntry, int, error) {
	if f.Limit < 0 || f.Offset < 0 {
		return nil, 0, backup.Errorf(backup.EINVALID, "audit filter limit %d and offset %d must not be negative", f.Limit, f.Offset)
	}
	var where []string
	var args []any
	if f.BackupID != nil {
		where, args = append(where, "backup_id = ?"), append(args, *f.BackupID)
	}
	if f.Action != nil {
		where, args = append(where, "action = ?"), append(args, string(*f.Action))
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ? COLLATE NOCASE"), append(args, f.Actor)
	}
	if f.UserID != nil {
		where, args = append(where, "user_id = ?"), append(args, *f.UserID)
	}
	if f.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, f.Outcome)
	}
	for _, bound := range []struct {
		op, name string
		t        time.Time
	}{{">=", "since", f.Since}, {"<", "until", f.Until}} {
		if bound.t.IsZero() {
			continue
		}
		if err := checkTime("audit filter "+bound.name, bound.t); err != nil {
			return nil, 0, err
		}
		where, args = append(where, "created_at "+bound.op+" ?"), append(args, formatTime(bound.t))
	}
	if f.MaxID > 0 {
		where, args = append(where, "id <= ?"), append(args, f.MaxID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM backup_logs`+cond, args...).Scan(&total); err != nil {
		return nil, 0, c.wrap(err, "count audit entries")
	}
	limit := -1 // SQLite: no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := c.db.QueryContext(ctx, `
		SELECT id, backup_id, user_id, actor, action, outcome, details, created_at, source_address, user_agent
		FROM backup_logs`+cond+`
		ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, c.wrap(err, "find audit entries")
	}
	defer rows.Close()
	es := []*backup.AuditEntry{}
	for rows.Next() {
		var (
			e                 backup.AuditEntry
			backupID, userID  sql.NullInt64
			action, createdAt string
		)
		if err := rows.Scan(&e.ID, &backupID, &userID, &e.Actor, &action, &e.Outcome, &e.Details, &createdAt,
			&e.SourceAddress, &e.UserAgent); err != nil {
			return nil, 0, c.wrap(err, "find audit entries")
		}
		e.Action = backup.Action(action)
		if backupID.Valid {
			e.BackupID = &backupID.Int64
		}
		if userID.Valid {
			e.UserID = &userID.Int64
		}
		if e.CreatedAt, err = parseTime(createdAt); err != nil {
			return nil, 0, c.wrap(err, "find audit entries")
		}
		es = append(es, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, c.wrap(err, "find audit entries")
	}
	return es, total, nil
}

// nullInt64 returns p as stored: NULL or its value.
func nullInt64(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}
