-- 0004: what a completed backup lacks of its database (e.g. the history of
-- system-versioned tables, when the dump tool cannot write it). Unlike
-- warning (off-site copies), it never changes after the backup is made.

ALTER TABLE backups ADD COLUMN content_warning TEXT NOT NULL DEFAULT '';
