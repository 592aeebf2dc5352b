package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Settings returns the saved settings, or backup.DefaultSettings if none
// were saved. Empty NotificationEmails and GoogleCredentialsEnc read back
// as nil.
func (c *Catalog) Settings(ctx context.Context) (backup.Settings, error) {
	var (
		s         backup.Settings
		emails    string
		updatedAt string
		maxAge    int64
	)
	err := c.db.QueryRowContext(ctx, `
		SELECT schedule_enabled, schedule_frequency, schedule_time, schedule_day, cron_expression,
			retention_daily, retention_weekly, retention_monthly, google_drive_enabled,
			google_drive_folder_id, notification_emails, google_credentials, updated_at,
			timezone, max_backup_age_seconds, webhook_url,
			s3_endpoint, s3_bucket, s3_prefix, s3_region, s3_access_key, s3_secret_key, s3_use_tls, s3_sse
		FROM backup_settings WHERE id = 1`,
	).Scan(&s.ScheduleEnabled, &s.ScheduleFrequency, &s.ScheduleTime, &s.ScheduleDay, &s.CronExpression,
		&s.RetentionDaily, &s.RetentionWeekly, &s.RetentionMonthly, &s.GoogleDriveEnabled,
		&s.GoogleDriveFolderID, &emails, &s.GoogleCredentialsEnc, &updatedAt,
		&s.Timezone, &maxAge, &s.WebhookURLEnc,
		&s.S3Endpoint, &s.S3Bucket, &s.S3Prefix, &s.S3Region, &s.S3AccessKey, &s.S3SecretKeyEnc, &s.S3UseTLS, &s.S3SSE)
	if errors.Is(err, sql.ErrNoRows) {
		return backup.DefaultSettings(), nil
	}
	if err != nil {
		return backup.Settings{}, c.wrap(err, "read backup settings")
	}
	if err := json.Unmarshal([]byte(emails), &s.NotificationEmails); err != nil {
		return backup.Settings{}, backup.Wrap(err, backup.EINTERNAL, "read backup settings: notification_emails")
	}
	if len(s.NotificationEmails) == 0 {
		s.NotificationEmails = nil
	}
	if len(s.GoogleCredentialsEnc) == 0 {
		s.GoogleCredentialsEnc = nil
	}
	if len(s.WebhookURLEnc) == 0 {
		s.WebhookURLEnc = nil
	}
	if len(s.S3SecretKeyEnc) == 0 {
		s.S3SecretKeyEnc = nil
	}
	s.MaxBackupAge = backup.Duration(time.Duration(maxAge) * time.Second)
	if s.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return backup.Settings{}, c.wrap(err, "read backup settings")
	}
	return s, nil
}

// SaveSettings replaces the settings; s.UpdatedAt is ignored and the saved
// row's updated_at is the current time. GoogleCredentialsEnc is stored as
// given, like WebhookURLEnc and S3SecretKeyEnc: the caller seals them.
func (c *Catalog) SaveSettings(ctx context.Context, s backup.Settings) error {
	emails := s.NotificationEmails
	if emails == nil {
		emails = []string{}
	}
	emailsJSON, err := json.Marshal(emails)
	if err != nil {
		return backup.Wrap(err, backup.EINVALID, "save backup settings: notification_emails")
	}
	var creds, webhook, s3Secret []byte
	if len(s.GoogleCredentialsEnc) > 0 {
		creds = s.GoogleCredentialsEnc
	}
	if len(s.S3SecretKeyEnc) > 0 {
		s3Secret = s.S3SecretKeyEnc
	}
	if len(s.WebhookURLEnc) > 0 {
		webhook = s.WebhookURLEnc
	}
	maxAge := int64(time.Duration(s.MaxBackupAge) / time.Second)
	if maxAge <= 0 {
		return backup.Errorf(backup.EINVALID, "save backup settings: max_backup_age must be at least one second, not %v", time.Duration(s.MaxBackupAge))
	}
	now := c.now()
	if err := checkTime("updated_at", now); err != nil {
		return err
	}
	err = c.write(func() error {
		_, err := c.db.ExecContext(ctx, `
			INSERT INTO backup_settings (id, schedule_enabled, schedule_frequency, schedule_time,
				schedule_day, cron_expression, retention_daily, retention_weekly, retention_monthly,
				google_drive_enabled, google_drive_folder_id, notification_emails, google_credentials,
				created_at, updated_at, timezone, max_backup_age_seconds, webhook_url,
				s3_endpoint, s3_bucket, s3_prefix, s3_region, s3_access_key, s3_secret_key, s3_use_tls, s3_sse)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				schedule_enabled = excluded.schedule_enabled,
				schedule_frequency = excluded.schedule_frequency,
				schedule_time = excluded.schedule_time,
				schedule_day = excluded.schedule_day,
				cron_expression = excluded.cron_expression,
				retention_daily = excluded.retention_daily,
				retention_weekly = excluded.retention_weekly,
				retention_monthly = excluded.retention_monthly,
				google_drive_enabled = excluded.google_drive_enabled,
				google_drive_folder_id = excluded.google_drive_folder_id,
				notification_emails = excluded.notification_emails,
				google_credentials = excluded.google_credentials,
				updated_at = excluded.updated_at,
				timezone = excluded.timezone,
				max_backup_age_seconds = excluded.max_backup_age_seconds,
				webhook_url = excluded.webhook_url,
				s3_endpoint = excluded.s3_endpoint,
				s3_bucket = excluded.s3_bucket,
				s3_prefix = excluded.s3_prefix,
				s3_region = excluded.s3_region,
				s3_access_key = excluded.s3_access_key,
				s3_secret_key = excluded.s3_secret_key,
				s3_use_tls = excluded.s3_use_tls,
				s3_sse = excluded.s3_sse`,
			s.ScheduleEnabled, s.ScheduleFrequency, s.ScheduleTime, s.ScheduleDay, s.CronExpression,
			s.RetentionDaily, s.RetentionWeekly, s.RetentionMonthly, s.GoogleDriveEnabled,
			s.GoogleDriveFolderID, string(emailsJSON), creds, formatTime(now), formatTime(now),
			s.Timezone, maxAge, webhook,
			s.S3Endpoint, s.S3Bucket, s.S3Prefix, s.S3Region, s.S3AccessKey, s3Secret, s.S3UseTLS, s.S3SSE)
		return err
	})
	if err != nil {
		return c.wrap(err, "save backup settings")
	}
	return nil
}
