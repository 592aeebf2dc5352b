-- 0001: the seed's three tables plus hmsbackup's own columns.
-- Timestamps are UTC RFC 3339 text with nine fractional digits, so they sort.

CREATE TABLE backups (
	id                   INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: audit entries keep old ids
	filename             TEXT    NOT NULL UNIQUE CHECK (filename <> ''),
	file_size            INTEGER NOT NULL DEFAULT 0,
	file_path            TEXT    NOT NULL DEFAULT '',
	google_drive_file_id TEXT    NOT NULL DEFAULT '',
	status               TEXT    NOT NULL DEFAULT 'pending'
	                             CHECK (status IN ('pending', 'completed', 'failed')),
	source               TEXT    NOT NULL
	                             CHECK (source IN ('manual_ui', 'manual_cli', 'scheduled', 'pre_restore')),
	is_protected         INTEGER NOT NULL DEFAULT 0 CHECK (is_protected IN (0, 1)),
	created_by           TEXT    NOT NULL DEFAULT '',
	created_by_user_id   INTEGER,
	completed_at         TEXT,
	error_message        TEXT    NOT NULL DEFAULT '',
	created_at           TEXT    NOT NULL,
	updated_at           TEXT    NOT NULL,
	sha256               TEXT    NOT NULL DEFAULT '',
	compression          TEXT    NOT NULL DEFAULT 'gzip',
	raw_size             INTEGER NOT NULL DEFAULT 0,
	duration_ms          INTEGER NOT NULL DEFAULT 0,
	db_engine            TEXT    NOT NULL DEFAULT '',
	db_name              TEXT    NOT NULL DEFAULT '',
	is_local             INTEGER NOT NULL DEFAULT 1 CHECK (is_local IN (0, 1)),
	is_on_google_drive   INTEGER NOT NULL DEFAULT 0 CHECK (is_on_google_drive IN (0, 1))
) STRICT;

CREATE INDEX backups_status_created_at ON backups (status, created_at);
CREATE INDEX backups_created_at ON backups (created_at);

CREATE TABLE backup_settings (
	id                     INTEGER PRIMARY KEY CHECK (id = 1),
	schedule_enabled       INTEGER NOT NULL DEFAULT 0 CHECK (schedule_enabled IN (0, 1)),
	schedule_frequency     TEXT    NOT NULL DEFAULT 'daily',
	schedule_time          TEXT    NOT NULL DEFAULT '02:00',
	schedule_day           INTEGER NOT NULL DEFAULT 0,
	cron_expression        TEXT    NOT NULL DEFAULT '',
	retention_daily        INTEGER NOT NULL DEFAULT 7,
	retention_weekly       INTEGER NOT NULL DEFAULT 4,
	retention_monthly      INTEGER NOT NULL DEFAULT 6,
	google_drive_enabled   INTEGER NOT NULL DEFAULT 0 CHECK (google_drive_enabled IN (0, 1)),
	google_drive_folder_id TEXT    NOT NULL DEFAULT '',
	notification_emails    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(notification_emails)),
	google_credentials     BLOB, -- encrypted by the caller; stored as given
	created_at             TEXT    NOT NULL,
	updated_at             TEXT    NOT NULL
) STRICT;

-- No foreign key to backups: the audit trail outlives the records it names.
CREATE TABLE backup_logs (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	backup_id  INTEGER,
	user_id    INTEGER,
	actor      TEXT    NOT NULL DEFAULT '',
	action     TEXT    NOT NULL,
	outcome    TEXT    NOT NULL DEFAULT '',
	details    TEXT    NOT NULL DEFAULT '',
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
) STRICT;

CREATE INDEX backup_logs_backup_id ON backup_logs (backup_id);
CREATE INDEX backup_logs_created_at ON backup_logs (created_at);
