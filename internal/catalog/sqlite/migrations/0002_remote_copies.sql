-- 0002: a copy of each backup in S3 storage, and a warning for a backup that
-- completed but whose off-site copy (or other follow-up) failed.
-- Existing rows get the defaults: not in S3, no warning.

ALTER TABLE backups ADD COLUMN s3_key   TEXT    NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN is_on_s3 INTEGER NOT NULL DEFAULT 0 CHECK (is_on_s3 IN (0, 1));
ALTER TABLE backups ADD COLUMN warning  TEXT    NOT NULL DEFAULT '';
