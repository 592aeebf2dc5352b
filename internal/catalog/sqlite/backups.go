package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	sqlite3 "modernc.org/sqlite/lib"
)

// backupColumns are the backups columns every query reads, in scanBackup's
// order.
const backupColumns = `id, filename, file_size, file_path, google_drive_file_id, status, source,
	is_protected, created_by, completed_at, error_message, created_at, updated_at, sha256,
	compression, raw_size, duration_ms, db_engine, db_name, is_local, is_on_google_drive,
	s3_key, is_on_s3, warning, integrity, verified_at, content_warning`

// CreateBackup inserts b and sets its ID, CreatedAt and UpdatedAt. Returns
// ECONFLICT if b.Filename is already recorded, by this or another process,
// and EINVALID if b's status, source or file name is not valid.
//
// A pending b is recorded only with the catalog's reserve in place (see
// write), so that how the backup ends can be recorded even if it fills the
// disk; without room for the reserve CreateBackup returns EUNAVAILABLE,
// saying the disk is full, and records nothing.
func (c *Catalog) CreateBackup(ctx context.Context, b *backup.Backup) error {
	if err := validateBackup(b); err != nil {
		return err
	}
	now := c.now()
	if err := checkTime("created_at", now); err != nil {
		return err
	}
	var id int64
	insert := func() error { return c.insertBackup(ctx, b, now, &id) }
	var err error
	if b.Status == backup.StatusPending {
		// The reserve is for the end of this backup: not to be spent on
		// its start.
		if err := c.keepReserve(fmt.Sprintf("create backup record %q", b.Filename)); err != nil {
			return err
		}
		err = insert()
	} else {
		err = c.write(insert)
	}
	if err != nil {
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return backup.Wrap(err, backup.ECONFLICT, "backup file name %q is already recorded", b.Filename)
		}
		return c.wrap(err, "create backup record %q", b.Filename)
	}
	b.ID, b.CreatedAt, b.UpdatedAt = id, now, now
	return nil
}

// insertBackup inserts b, created at now, and sets *id to its ID.
func (c *Catalog) insertBackup(ctx context.Context, b *backup.Backup, now time.Time, id *int64) error {
	return c.db.QueryRowContext(ctx, `
		INSERT INTO backups (filename, file_size, file_path, google_drive_file_id, status, source,
			is_protected, created_by, completed_at, error_message, created_at, updated_at, sha256,
			compression, raw_size, duration_ms, db_engine, db_name, is_local, is_on_google_drive,
			s3_key, is_on_s3, warning, integrity, verified_at, content_warning)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		b.Filename, b.FileSize, b.FilePath, b.GoogleDriveFileID, string(b.Status), string(b.Source),
		b.IsProtected, b.CreatedBy, completedAt(b), b.ErrorMessage, formatTime(now), formatTime(now), b.SHA256,
		string(b.Compression), b.RawSize, b.DurationMS, b.DBEngine, b.DBName, b.IsLocal, b.IsOnGoogleDrive,
		b.S3Key, b.IsOnS3, b.Warning, string(b.Integrity), verifiedAt(b), b.ContentWarning,
	).Scan(id)
}

// SetProtected implements backup.Catalog.
func (c *Catalog) SetProtected(ctx context.Context, id int64, protected bool) error {
	now := c.now()
	if err := checkTime("updated_at", now); err != nil {
		return err
	}
	var res sql.Result
	err := c.write(func() (err error) {
		res, err = c.db.ExecContext(ctx, "UPDATE backups SET is_protected = ?, updated_at = ? WHERE id = ?", protected, formatTime(now), id)
		return err
	})
	if err != nil {
		return c.wrap(err, "update backup %d", id)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return backup.Errorf(backup.ENOTFOUND, "backup %d not found", id)
	}
	return nil
}

// UpdateBackup saves every field of b except CreatedAt, which it reloads,
// and sets UpdatedAt. Returns ENOTFOUND if there is no record b.ID,
// ECONFLICT if b.Filename belongs to another record. On a full disk it
// spends the catalog's reserve (see write): the end of a pending backup is
// recorded.
func (c *Catalog) UpdateBackup(ctx context.Context, b *backup.Backup) error {
	if err := validateBackup(b); err != nil {
		return err
	}
	now := c.now()
	if err := checkTime("updated_at", now); err != nil {
		return err
	}
	var createdAt string
	err := c.write(func() error { return c.updateBackup(ctx, b, now, &createdAt) })
	if errors.Is(err, sql.ErrNoRows) {
		return backup.Errorf(backup.ENOTFOUND, "backup %d not found", b.ID)
	}
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return backup.Wrap(err, backup.ECONFLICT, "backup file name %q is already recorded by another backup", b.Filename)
	}
	if err != nil {
		return c.wrap(err, "update backup %d", b.ID)
	}
	t, err := parseTime(createdAt)
	if err != nil {
		return c.wrap(err, "update backup %d", b.ID)
	}
	b.CreatedAt, b.UpdatedAt = t, now
	return nil
}

// updateBackup saves b, updated at now, sets b.IsProtected to the stored
// value and *createdAt to the stored text.
func (c *Catalog) updateBackup(ctx context.Context, b *backup.Backup, now time.Time, createdAt *string) error {
	return c.db.QueryRowContext(ctx, `
		UPDATE backups SET filename = ?, file_size = ?, file_path = ?, google_drive_file_id = ?,
			status = ?, source = ?, created_by = ?, completed_at = ?,
			error_message = ?, updated_at = ?, sha256 = ?, compression = ?, raw_size = ?,
			duration_ms = ?, db_engine = ?, db_name = ?, is_local = ?, is_on_google_drive = ?,
			s3_key = ?, is_on_s3 = ?, warning = ?, integrity = ?, verified_at = ?, content_warning = ?
		WHERE id = ?
		RETURNING created_at, is_protected`,
		b.Filename, b.FileSize, b.FilePath, b.GoogleDriveFileID,
		string(b.Status), string(b.Source), b.CreatedBy, completedAt(b),
		b.ErrorMessage, formatTime(now), b.SHA256, string(b.Compression), b.RawSize,
		b.DurationMS, b.DBEngine, b.DBName, b.IsLocal, b.IsOnGoogleDrive,
		b.S3Key, b.IsOnS3, b.Warning, string(b.Integrity), verifiedAt(b), b.ContentWarning,
		b.ID,
	).Scan(createdAt, &b.IsProtected)
}

// FindBackupByID returns the record id, or ENOTFOUND.
func (c *Catalog) FindBackupByID(ctx context.Context, id int64) (*backup.Backup, error) {
	row := c.db.QueryRowContext(ctx, `SELECT `+backupColumns+` FROM backups WHERE id = ?`, id)
	b, err := scanBackup(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, backup.Errorf(backup.ENOTFOUND, "backup %d not found", id)
	}
	if err != nil {
		return nil, c.wrap(err, "find backup %d", id)
	}
	return b, nil
}

// FindBackups returns the records f selects, newest first (by CreatedAt,
// then by ID), and how many match in all. The list and the count are read
// from one snapshot. Returns EINVALID for a negative Offset or Limit.
func (c *Catalog) FindBackups(ctx context.Context, f backup.BackupFilter) ([]*backup.Backup, int, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, backup.Errorf(backup.EINVALID, "backup filter offset %d and limit %d must not be negative", f.Offset, f.Limit)
	}
	var where []string
	var args []any
	if f.Status != nil {
		where, args = append(where, "status = ?"), append(args, string(*f.Status))
	}
	if f.Source != nil {
		where, args = append(where, "source = ?"), append(args, string(*f.Source))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit := -1 // SQLite: no limit
	if f.Limit > 0 {
		limit = f.Limit
	}

	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, c.wrap(err, "find backups")
	}
	defer tx.Rollback()

	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM backups`+cond, args...).Scan(&total); err != nil {
		return nil, 0, c.wrap(err, "count backups")
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT `+backupColumns+` FROM backups`+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, c.wrap(err, "find backups")
	}
	defer rows.Close()
	bs := []*backup.Backup{}
	for rows.Next() {
		b, err := scanBackup(rows)
		if err != nil {
			return nil, 0, c.wrap(err, "find backups")
		}
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, c.wrap(err, "find backups")
	}
	return bs, total, nil
}

// DeleteBackup removes the record id; its audit entries stay. Returns
// ENOTFOUND if there is no such record.
func (c *Catalog) DeleteBackup(ctx context.Context, id int64) error {
	var res sql.Result
	err := c.write(func() (err error) {
		res, err = c.db.ExecContext(ctx, `DELETE FROM backups WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return c.wrap(err, "delete backup %d", id)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return c.wrap(err, "delete backup %d", id)
	}
	if n == 0 {
		return backup.Errorf(backup.ENOTFOUND, "backup %d not found", id)
	}
	return nil
}

// validateBackup returns EINVALID if b cannot be stored.
func validateBackup(b *backup.Backup) error {
	if b.Filename == "" {
		return backup.Errorf(backup.EINVALID, "backup file name is empty")
	}
	if b.Integrity == "" {
		b.Integrity = backup.IntegrityUnverified
	}
	if !b.Integrity.Valid() {
		return backup.Errorf(backup.EINVALID, "backup %q has unknown integrity %q", b.Filename, b.Integrity)
	}
	switch b.Status {
	case backup.StatusPending, backup.StatusCompleted, backup.StatusFailed:
	default:
		return backup.Errorf(backup.EINVALID, "backup %q has unknown status %q", b.Filename, b.Status)
	}
	switch b.Source {
	case backup.SourceManualUI, backup.SourceManualCLI, backup.SourceScheduled, backup.SourcePreRestore:
	default:
		return backup.Errorf(backup.EINVALID, "backup %q has unknown source %q", b.Filename, b.Source)
	}
	if b.CompletedAt != nil {
		if err := checkTime("completed_at", *b.CompletedAt); err != nil {
			return err
		}
	}
	if b.VerifiedAt != nil {
		if err := checkTime("verified_at", *b.VerifiedAt); err != nil {
			return err
		}
	}
	return nil
}

// completedAt returns b.CompletedAt as stored: NULL or text.
func completedAt(b *backup.Backup) sql.NullString {
	if b.CompletedAt == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(*b.CompletedAt), Valid: true}
}

func verifiedAt(b *backup.Backup) sql.NullString {
	if b.VerifiedAt == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(*b.VerifiedAt), Valid: true}
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanBackup reads one row of backupColumns.
func scanBackup(s scanner) (*backup.Backup, error) {
	var (
		b                     backup.Backup
		status, source, compr string
		completed, verified   sql.NullString
		createdAt, updatedAt  string
		integrity             string
	)
	err := s.Scan(&b.ID, &b.Filename, &b.FileSize, &b.FilePath, &b.GoogleDriveFileID, &status, &source,
		&b.IsProtected, &b.CreatedBy, &completed, &b.ErrorMessage, &createdAt, &updatedAt, &b.SHA256,
		&compr, &b.RawSize, &b.DurationMS, &b.DBEngine, &b.DBName, &b.IsLocal, &b.IsOnGoogleDrive,
		&b.S3Key, &b.IsOnS3, &b.Warning, &integrity, &verified, &b.ContentWarning)
	if err != nil {
		return nil, err
	}
	b.Status, b.Source, b.Compression = backup.Status(status), backup.Source(source), backup.Compression(compr)
	b.Integrity = backup.Integrity(integrity)
	if verified.Valid {
		t, err := parseTime(verified.String)
		if err != nil {
			return nil, err
		}
		b.VerifiedAt = &t
	}
	if b.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, err
	}
	if b.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return nil, err
	}
	if completed.Valid {
		t, err := parseTime(completed.String)
		if err != nil {
			return nil, err
		}
		b.CompletedAt = &t
	}
	return &b, nil
}
