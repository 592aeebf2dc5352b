-- 0003: what the last verification (verify, or a restore's checksum check)
-- found of a backup, and when. Existing rows: unverified.

ALTER TABLE backups ADD COLUMN integrity   TEXT NOT NULL DEFAULT 'unverified'
    CHECK (integrity IN ('unverified', 'ok', 'corrupt', 'missing'));
ALTER TABLE backups ADD COLUMN verified_at TEXT NULL;
