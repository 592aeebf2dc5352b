package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"time"
)

// Sessions is the web UI's session store (alexedwards/scs's CtxStore) in
// the catalog. It keeps each session under the SHA-256 of its token, so
// the catalog never holds a token that signs anyone in.
type Sessions struct{ c *Catalog }

// Sessions returns the catalog's session store.
func (c *Catalog) Sessions() *Sessions { return &Sessions{c: c} }

func sessionKey(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// FindCtx returns the data of an unexpired session, and whether there is one.
func (s *Sessions) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := s.c.db.QueryRowContext(ctx, `SELECT data FROM sessions WHERE token_hash = ? AND expiry > ?`,
		sessionKey(token), formatTime(s.c.now())).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.c.wrap(err, "read a session")
	}
	return data, true, nil
}

// CommitCtx saves a session's data until expiry.
func (s *Sessions) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	return s.c.write(func() error {
		_, err := s.c.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, data, expiry) VALUES (?, ?, ?)
			ON CONFLICT (token_hash) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
			sessionKey(token), data, formatTime(expiry.UTC()))
		if err != nil {
			return s.c.wrap(err, "save a session")
		}
		return nil
	})
}

// DeleteCtx removes a session (sign-out, or a token renewed at sign-in).
func (s *Sessions) DeleteCtx(ctx context.Context, token string) error {
	return s.c.write(func() error {
		if _, err := s.c.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, sessionKey(token)); err != nil {
			return s.c.wrap(err, "delete a session")
		}
		return nil
	})
}

// DeleteExpired removes the sessions past their expiry and says how many.
func (s *Sessions) DeleteExpired(ctx context.Context) (int64, error) {
	var n int64
	err := s.c.write(func() error {
		res, err := s.c.db.ExecContext(ctx, `DELETE FROM sessions WHERE expiry <= ?`, formatTime(s.c.now()))
		if err != nil {
			return s.c.wrap(err, "delete expired sessions")
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Find, Commit and Delete are scs.Store's methods; scs calls the Ctx ones.
func (s *Sessions) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *Sessions) Commit(token string, data []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, data, expiry)
}

func (s *Sessions) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }
