package mysql

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/replay"
	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/sqlsplit"
)

// Restore methods (Config.RestoreMethod).
const (
	// MethodReplay runs the dump through go-sql-driver connections: the
	// schema in dump order on one, each table's rows spread over several
	// in large transactions (package replay). A dump the replayer cannot
	// prove it understands goes to the client instead.
	MethodReplay = "replay"
	// MethodClient feeds the dump to the mariadb (or mysql) client.
	MethodClient = "client"
)

// headSize is how much of a dump Restore looks at before choosing the
// method.
const headSize = 16 << 10

// Restore empties the database (every table, view, sequence, procedure,
// function, package and event in it; triggers go with their tables) and
// then runs the dump read from r, stopping at the first failing
// statement. Afterwards the database holds exactly what the dump creates.
//
// With MethodReplay (the default) the dump runs through the replayer if
// its header is that of mysqldump or mariadb-dump; otherwise, or if the
// statement splitter meets something it cannot prove it understands, the
// client runs it: in the first case at once, with the database untouched;
// in the second the error is a *backup.RestoreFallbackError, and the
// caller must give the client the dump again from its start. Either way
// the reason is logged.
//
// A failure before the emptying began is marked backup.Untouched; once
// it has begun, a failure leaves the database partly restored. If reading
// r fails, no statement cut off by the failure is ever run. Returns
// EUNAVAILABLE if the server (or, with the client, the client) cannot be
// reached. Restore waits for a pending Read on r to return unless ctx
// ends; then it returns at once, and the caller must not Read r again.
func (d *Dumper) Restore(ctx context.Context, r io.Reader) error {
	if d.method == MethodClient {
		return d.restoreClient(ctx, r)
	}
	// The reads go on in a goroutine: if ctx ends while one is blocked,
	// Restore returns at once.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	br := bufio.NewReaderSize(newAheadReader(ctx, r), headSize)
	head, err := br.Peek(headSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		if ctx.Err() != nil {
			return backup.Untouched(d.interrupted(ctx, "restore"))
		}
		return backup.Untouched(readFailure(d.db, err))
	}
	if err := replay.Recognize(head); err != nil {
		d.logger.Warn("restoring with the client, not the replayer", "database", d.db, "client", d.clientCmd, "reason", err.Error())
		return d.restoreClient(ctx, br)
	}
	return d.restoreReplay(ctx, br)
}

// readFailure is the error for a backup that could not be read.
func readFailure(db string, err error) error {
	if backup.ErrorCode(err) != backup.EINTERNAL {
		return fmt.Errorf("restore of MySQL database %q: reading the backup: %w", db, err)
	}
	return backup.Wrap(err, backup.ECORRUPT, "restore of MySQL database %q: cannot read the backup; the database is partly restored", db)
}

// recordingReader remembers its reader's first error other than EOF, so
// that a splitter error caused by a failed read is told apart.
type recordingReader struct {
	r   io.Reader
	err error
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// restoreReplay is Restore with the replayer.
func (d *Dumper) restoreReplay(ctx context.Context, r io.Reader) error {
	// Log in before anything is dropped (on a connection that does not
	// stay: an idle one "on" the database would count among the sessions
	// that keep it busy).
	if err := d.Ping(ctx); err != nil {
		if ctx.Err() != nil {
			return backup.Untouched(d.interrupted(ctx, "restore"))
		}
		return backup.Untouched(err)
	}
	if err := d.emptyDatabase(ctx); err != nil {
		if ctx.Err() != nil {
			ierr := d.interrupted(ctx, "restore")
			if errors.Is(err, backup.ErrUntouched) {
				return backup.Untouched(ierr)
			}
			return ierr
		}
		return err
	}

	db, err := d.openReplayDB()
	if err != nil {
		return err
	}
	defer db.Close()
	rr := &recordingReader{r: r}
	start := time.Now()
	stats, err := replay.Replay(ctx, db, rr, d.replay)
	if err == nil {
		d.logger.Info("replayed the dump", "database", d.db, "statements", stats.Statements, "inserts", stats.Inserts,
			"bytes", stats.Bytes, "commits", stats.Commits, "ms", time.Since(start).Milliseconds())
		return nil
	}
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return d.interrupted(ctx, "restore")
	case rr.err != nil:
		return readFailure(d.db, rr.err)
	case errors.Is(err, sqlsplit.ErrUnsupported):
		d.logger.Warn("the replayer cannot restore this dump; restoring it again with the client", "database", d.db, "client", d.clientCmd, "reason", err.Error())
		return &backup.RestoreFallbackError{Reason: err.Error(), Restore: d.restoreClient}
	}
	var se *replay.StatementError
	if errors.As(err, &se) && isConnectionTrouble(se.Err) {
		return backup.Wrap(err, backup.EUNAVAILABLE, "failed to restore MySQL database %q at %s, which is partly restored (%s)", d.db, d.addr, unavailableHint)
	}
	var tl *sqlsplit.TooLargeError
	var tr *sqlsplit.TruncatedError
	if errors.As(err, &tl) || errors.As(err, &tr) {
		return backup.Wrap(err, backup.ECORRUPT, "failed to restore MySQL database %q, which is partly restored", d.db)
	}
	return backup.Wrap(err, backup.EINTERNAL, "failed to restore MySQL database %q at %s, which is partly restored", d.db, d.addr)
}

// isConnectionTrouble reports whether a driver error means the server was
// lost rather than that it refused a statement.
func isConnectionTrouble(err error) bool {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return false
	}
	return true
}

// openReplayDB opens a pool for the replayer: no limit on the statement
// size but the server's own (max_allowed_packet, asked at connect).
func (d *Dumper) openReplayDB() (*sql.DB, error) {
	cfg := d.conn.Clone()
	cfg.MaxAllowedPacket = 0
	connector, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "invalid MySQL connection settings")
	}
	return sql.OpenDB(connector), nil
}

// aheadReader reads its source in a goroutine of its own, ahead of the
// consumer (so decompressing overlaps splitting and sending), and lets
// the consumer's Read return as soon as ctx ends even while a Read of the
// source is blocked.
type aheadReader struct {
	ctx  context.Context
	full chan chunk
	free chan []byte
	cur  []byte // what is left of the current chunk
	buf  []byte // the current chunk's buffer, returned to free when used
	err  error
}

type chunk struct {
	buf []byte
	n   int
	err error
}

const (
	aheadChunk  = 1 << 20
	aheadChunks = 4
)

func newAheadReader(ctx context.Context, r io.Reader) *aheadReader {
	a := &aheadReader{ctx: ctx, full: make(chan chunk, aheadChunks), free: make(chan []byte, aheadChunks)}
	for range aheadChunks {
		a.free <- make([]byte, aheadChunk)
	}
	go func() {
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			case <-ctx.Done():
				return
			}
			// One Read, handed on at once: a source that stalls (a
			// network stream) must not hold back what it already gave.
			n, err := r.Read(buf)
			if n == 0 && err == nil {
				a.free <- buf
				continue
			}
			select {
			case a.full <- chunk{buf: buf, n: n, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.buf != nil {
			a.free <- a.buf
			a.buf = nil
		}
		if a.err != nil {
			return 0, a.err
		}
		select {
		case c := <-a.full:
			a.buf, a.cur, a.err = c.buf, c.buf[:c.n], c.err
		case <-a.ctx.Done():
			return 0, a.ctx.Err()
		}
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}
