-- 0006: users, roles and API tokens for the web UI and API (issue 9), and
-- where an audited request came from.
--
-- Secrets are never stored in clear: users.password_hash is an argon2id
-- hash in PHC form, api_tokens.token_hash the SHA-256 of the token.
-- User names are ASCII (internal/identity checks them), so NOCASE makes
-- them unique regardless of case.

CREATE TABLE roles (
	name        TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 32),
	permissions TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(permissions) AND json_type(permissions) = 'array'),
	built_in    INTEGER NOT NULL DEFAULT 0 CHECK (built_in IN (0, 1))
) STRICT;

-- The built-in roles; identity.BuiltinRoles says the same.
INSERT INTO roles (name, permissions, built_in) VALUES
	('admin', '["backups.view","backups.create","backups.delete","backups.restore","backups.manage-settings"]', 1),
	('operator', '["backups.view","backups.create"]', 1),
	('viewer', '["backups.view"]', 1);

CREATE TRIGGER roles_built_in_not_deleted BEFORE DELETE ON roles WHEN OLD.built_in = 1
BEGIN
	SELECT RAISE(ABORT, 'a built-in role cannot be deleted');
END;

CREATE TRIGGER roles_built_in_not_changed BEFORE UPDATE ON roles WHEN OLD.built_in = 1
BEGIN
	SELECT RAISE(ABORT, 'a built-in role cannot be changed');
END;

CREATE TABLE users (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	name            TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 64),
	password_hash   TEXT    NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
	role            TEXT    NOT NULL REFERENCES roles (name) ON DELETE RESTRICT,
	disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at      TEXT    NOT NULL,
	updated_at      TEXT    NOT NULL,
	last_sign_in_at TEXT
) STRICT;

CREATE INDEX users_role ON users (role);

CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	label        TEXT    NOT NULL DEFAULT '',
	token_hash   BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at   TEXT    NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
) STRICT;

CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

ALTER TABLE backup_logs ADD COLUMN source_address TEXT NOT NULL DEFAULT '';
ALTER TABLE backup_logs ADD COLUMN user_agent     TEXT NOT NULL DEFAULT '';
