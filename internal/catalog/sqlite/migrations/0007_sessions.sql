-- 0007: web sign-in sessions (issue 9). A session is found by the SHA-256
-- of its cookie's token, never the token itself: a copy of the catalog
-- does not let anyone take over a session.
CREATE TABLE sessions (
	token_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
	data       BLOB    NOT NULL,
	expiry     TEXT    NOT NULL
) STRICT;

CREATE INDEX sessions_expiry ON sessions (expiry);
