-- 0005: settings the automation needs: the zone schedules and retention
-- use ('' = the process's zone), how old the newest completed backup may
-- get before `status` alarms, and the webhook URL (it holds a token, so it
-- is sealed by the caller and stored as given, like google_credentials).

ALTER TABLE backup_settings ADD COLUMN timezone               TEXT    NOT NULL DEFAULT '';
ALTER TABLE backup_settings ADD COLUMN max_backup_age_seconds INTEGER NOT NULL DEFAULT 93600 CHECK (max_backup_age_seconds > 0);
ALTER TABLE backup_settings ADD COLUMN webhook_url            BLOB;
