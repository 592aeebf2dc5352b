-- 0008: the off-site storages' settings move into the catalog (issue 9),
-- and the audit trail gets indexes for the audit page's filters.
--
-- S3: on when s3_bucket is not empty. s3_secret_key is sealed by the
-- caller (internal/secret) and stored as given, like google_credentials
-- and webhook_url. HMSBACKUP_S3_* variables override these column by
-- column (cmd/hmsbackup, internal/remotes).
ALTER TABLE backup_settings ADD COLUMN s3_endpoint   TEXT    NOT NULL DEFAULT '';
ALTER TABLE backup_settings ADD COLUMN s3_bucket     TEXT    NOT NULL DEFAULT '';
ALTER TABLE backup_settings ADD COLUMN s3_prefix     TEXT    NOT NULL DEFAULT '';
ALTER TABLE backup_settings ADD COLUMN s3_region     TEXT    NOT NULL DEFAULT '';
ALTER TABLE backup_settings ADD COLUMN s3_access_key TEXT    NOT NULL DEFAULT '';
ALTER TABLE backup_settings ADD COLUMN s3_secret_key BLOB;
ALTER TABLE backup_settings ADD COLUMN s3_use_tls    INTEGER NOT NULL DEFAULT 1 CHECK (s3_use_tls IN (0, 1));
ALTER TABLE backup_settings ADD COLUMN s3_sse        INTEGER NOT NULL DEFAULT 0 CHECK (s3_sse IN (0, 1));

-- The audit page filters by user, action and outcome, newest first; the
-- backup filter has backup_logs_backup_id (0001).
CREATE INDEX backup_logs_actor_created_at   ON backup_logs (actor COLLATE NOCASE, created_at);
CREATE INDEX backup_logs_user_id            ON backup_logs (user_id);
CREATE INDEX backup_logs_action_created_at  ON backup_logs (action, created_at);
CREATE INDEX backup_logs_outcome_created_at ON backup_logs (outcome, created_at);
