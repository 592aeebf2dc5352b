package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

var _ backup.ServerLocker = (*Dumper)(nil)

// serverLockName is the GET_LOCK name of database db: "hmsbackup:" and the
// name, or a hash of it where that would pass the server's 64 characters.
func serverLockName(db string) string {
	name := "hmsbackup:" + db
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(db))
		name = "hmsbackup:" + hex.EncodeToString(sum[:16])
	}
	return name
}

// LockServer implements backup.ServerLocker with GET_LOCK on a connection
// of its own, held until release (or until the process dies and the
// server drops the connection).
func (d *Dumper) LockServer(ctx context.Context, what string, wait time.Duration) (release func(), err error) {
	// No default database: the session is not one "on" the database that
	// a busy restore lists.
	db, err := d.openDBIn("")
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, d.unavailable(err)
	}
	done := func() {
		conn.Close()
		db.Close()
	}
	name := serverLockName(d.db)
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(math.Ceil(wait.Seconds()))).Scan(&got); err != nil {
		done()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, d.unavailable(err)
	}
	if !got.Valid || got.Int64 != 1 {
		holder := d.serverLockHolder(ctx, conn, name)
		done()
		return nil, backup.Errorf(backup.EBUSY,
			"cannot start the %s: another hmsbackup (with another data directory, or on another host) is backing up or restoring it%s; wait for it to finish and try again",
			what, holder)
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn.ExecContext(rctx, "DO RELEASE_LOCK(?)", name)
		done()
	}, nil
}

// serverLockHolder describes the session holding lock name, as far as
// the user may see it.
func (d *Dumper) serverLockHolder(ctx context.Context, conn *sql.Conn, name string) string {
	var id sql.NullInt64
	if conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", name).Scan(&id) != nil || !id.Valid {
		return ""
	}
	var user, host string
	var secs int64
	if conn.QueryRowContext(ctx, "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = ?", id.Int64).Scan(&user, &host, &secs) != nil {
		return fmt.Sprintf(" (server session %d)", id.Int64)
	}
	return fmt.Sprintf(" (server session %d, %s@%s, for %d s)", id.Int64, user, host, secs)
}
