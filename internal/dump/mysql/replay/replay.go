// Package replay restores a mysqldump/mariadb-dump script through
// go-sql-driver connections instead of the mariadb client: schema
// statements run in dump order on one connection, and the INSERTs of each
// table are spread over several connections in large transactions. Every
// SET of the dump reaches every connection, in dump order, so all of them
// run with the dump's session settings (character set, time zone,
// sql_mode, foreign and unique checks, history insertion). The data of a
// table is committed on all connections before the next statement that is
// not one of its INSERTs runs (a barrier), so triggers, views, routines
// and the next table see it whole.
package replay

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/sqlsplit"
)

// Defaults of Options.
const (
	DefaultCommitBytes      = 64 << 20
	DefaultCommitStatements = 10000
)

// Options tune a replay. Zero values pick the defaults.
type Options struct {
	// Parallel is the number of connections that load table data: default
	// the number of CPUs, at least 2.
	Parallel int
	// CommitBytes and CommitStatements end a data connection's
	// transaction once it holds that many bytes of statements or that
	// many statements.
	CommitBytes      int64
	CommitStatements int
	// MaxStatement is the largest statement accepted (default
	// sqlsplit.DefaultMaxStatement).
	MaxStatement int
}

func (o Options) withDefaults() Options {
	if o.Parallel <= 0 {
		o.Parallel = max(2, runtime.NumCPU())
	}
	if o.CommitBytes <= 0 {
		o.CommitBytes = DefaultCommitBytes
	}
	if o.CommitStatements <= 0 {
		o.CommitStatements = DefaultCommitStatements
	}
	return o
}

// StatementError is a statement the server refused (or that could not be
// sent): where it is in the dump, and the server's error.
type StatementError struct {
	Line    int
	Table   string
	Section sqlsplit.Section
	Err     error
}

func (e *StatementError) Error() string {
	where := fmt.Sprintf("the statement at line %d of the dump", e.Line)
	if e.Table != "" {
		switch e.Section {
		case sqlsplit.SectionData:
			where += fmt.Sprintf(" (data of table `%s`)", e.Table)
		case sqlsplit.SectionView:
			where += fmt.Sprintf(" (view `%s`)", e.Table)
		default:
			where += fmt.Sprintf(" (table `%s`)", e.Table)
		}
	}
	return where + " failed: " + e.Err.Error()
}

func (e *StatementError) Unwrap() error { return e.Err }

// Stats says what a replay did.
type Stats struct {
	Statements int64 // statements executed, SETs repeated on data connections not counted
	Inserts    int64 // of which INSERTs on the data connections
	Bytes      int64 // bytes of statements executed
	Commits    int64 // data transactions committed
}

// kind is what the replayer does with a statement.
type kind int

const (
	kindSchema     kind = iota // on the schema connection, after a barrier
	kindSession                // SET: on the schema connection, and later on every data connection
	kindData                   // INSERT of the current data section's table
	kindSkip                   // LOCK TABLES / UNLOCK TABLES
	kindSerialData             // INSERT of a table loaded in dump order: on the schema connection, in large transactions
)

// Replay runs the dump read from r against db, which must be a pool for
// the target database allowing at least Parallel+1 connections. It stops
// at the first failing statement (*StatementError) or splitter error
// (sqlsplit.ErrUnsupported matches those that the client may handle),
// cancelling every connection; what was committed stays.
func Replay(ctx context.Context, db *sql.DB, r io.Reader, opt Options) (Stats, error) {
	opt = opt.withDefaults()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	rp := &replayer{opt: opt, cancel: cancel}
	schema, err := db.Conn(ctx)
	if err != nil {
		return rp.stats, fmt.Errorf("connecting: %w", err)
	}
	rp.schema = &batcher{conn: schema, opt: opt, stats: &rp.stats}
	defer schema.Close()

	rp.workers = make([]*worker, opt.Parallel)
	rp.jobs = make(chan job, opt.Parallel)
	for i := range rp.workers {
		c, err := db.Conn(ctx)
		if err != nil {
			rp.closeWorkers()
			return rp.stats, fmt.Errorf("connecting: %w", err)
		}
		w := &worker{b: &batcher{conn: c, opt: opt, stats: &rp.stats}, rp: rp}
		if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&w.id); err != nil {
			c.Close()
			rp.closeWorkers()
			return rp.stats, fmt.Errorf("connecting: %w", err)
		}
		rp.workers[i] = w
	}
	var wg sync.WaitGroup
	for _, w := range rp.workers {
		wg.Go(func() { w.run(ctx) })
	}

	err = rp.run(ctx, r)
	if err == nil {
		err = rp.barrier(ctx, true)
	}
	if err == nil {
		err = rp.schema.commit(ctx)
	}
	if err != nil {
		cancel(err)
		if e := rp.firstErr(); e != nil {
			err = e
		}
	}
	close(rp.jobs)
	wg.Wait()
	if err != nil {
		rp.kill(db)
	}
	rp.closeWorkers()
	return rp.stats, err
}

type replayer struct {
	opt     Options
	cancel  context.CancelCauseFunc
	schema  *batcher
	workers []*worker
	jobs    chan job

	errOnce sync.Once
	err     error

	bufs      sync.Pool // *[]byte: statement copies for the data connections, reused
	pending   []string  // SETs not yet run on the data connections
	dirty     bool      // the data connections may hold uncommitted work
	lastTable string    // the table the last CREATE TABLE made
	parallel  bool      // whether its data may be spread
	loading   bool      // the current table's first INSERT has run
	stats     Stats
}

// job is an INSERT for a data connection, or (barrier != nil) a request
// to commit, run the pending SETs, and wait for the others.
type job struct {
	stmt    *[]byte // from rp.bufs; back there once run
	line    int
	table   string
	barrier *barrier
}

type barrier struct {
	sets    []string
	arrived chan error
	release chan struct{}
}

func (rp *replayer) fail(err error) {
	rp.errOnce.Do(func() {
		rp.err = err
		rp.cancel(err)
	})
}

func (rp *replayer) firstErr() error {
	var err error
	rp.errOnce.Do(func() {}) // no more setting after this
	err = rp.err
	return err
}

func (rp *replayer) closeWorkers() {
	for _, w := range rp.workers {
		if w != nil {
			w.b.conn.Close()
		}
	}
}

// kill ends the data connections' statements and transactions on the
// server at once, so their locks go before the caller rolls back.
func (rp *replayer) kill(db *sql.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, w := range rp.workers {
		if w != nil && w.id != 0 {
			_, _ = db.ExecContext(ctx, fmt.Sprintf("KILL %d", w.id))
		}
	}
}

// run reads and dispatches every statement.
func (rp *replayer) run(ctx context.Context, r io.Reader) error {
	sp := sqlsplit.New(r, rp.opt.MaxStatement)
	for {
		if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
			return err
		}
		st, err := sp.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := sqlsplit.Check(st); err != nil {
			return err
		}
		switch k := rp.classify(st); k {
		case kindSkip:
			continue
		case kindData:
			if !rp.loading {
				// The table's first INSERT runs alone and is committed at
				// once: InnoDB's bulk load of an empty table locks the
				// whole table until its transaction ends, which would make
				// the other connections wait for a whole batch.
				rp.loading = true
				if err := rp.barrier(ctx, true); err != nil {
					return err
				}
				if err := rp.schema.exec(ctx, st, false); err != nil {
					return err
				}
				continue
			}
			if len(rp.pending) > 0 {
				if err := rp.barrier(ctx, false); err != nil {
					return err
				}
			}
			rp.dirty = true
			select {
			case rp.jobs <- job{stmt: rp.copyStatement(st.Text), line: st.Line, table: st.Table}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		default:
			rp.loading = false
			if err := rp.barrier(ctx, true); err != nil {
				return err
			}
			if err := rp.schema.exec(ctx, st, k == kindSerialData); err != nil {
				return err
			}
			if k == kindSession {
				rp.pending = append(rp.pending, string(st.Text))
			}
		}
	}
}

// copyStatement copies a statement for a data connection into a reused
// buffer (no garbage per statement: memory stays flat).
func (rp *replayer) copyStatement(text []byte) *[]byte {
	b, _ := rp.bufs.Get().(*[]byte)
	if b == nil {
		b = new([]byte)
	}
	*b = append((*b)[:0], text...)
	return b
}

// barrier waits until every data connection has run every job sent so
// far; then each commits (if commit) and runs the pending SETs.
func (rp *replayer) barrier(ctx context.Context, commit bool) error {
	if !(commit && rp.dirty) && len(rp.pending) == 0 {
		return nil
	}
	b := &barrier{sets: rp.pending, arrived: make(chan error, len(rp.workers)), release: make(chan struct{})}
	defer close(b.release)
	for range rp.workers {
		select {
		case rp.jobs <- job{barrier: b}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for range rp.workers {
		select {
		case err := <-b.arrived:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	rp.pending = nil
	rp.dirty = false
	return nil
}

// classify says what to do with st, and notes what CREATE TABLE made.
func (rp *replayer) classify(st sqlsplit.Statement) kind {
	words := leadingWords(st.Text, 3)
	if len(words) == 0 {
		return kindSchema
	}
	switch words[0] {
	case "LOCK", "UNLOCK":
		// The dump's write lock would shut out the data connections; with
		// InnoDB it gains nothing.
		if len(words) > 1 && (words[1] == "TABLES" || words[1] == "TABLE") {
			return kindSkip
		}
	case "SET":
		if !bytes.Contains(bytes.ToUpper(st.Text), []byte("GLOBAL")) {
			return kindSession
		}
	case "CREATE":
		if len(words) > 1 && words[1] == "TABLE" {
			rp.lastTable, rp.parallel = createdTable(st.Text)
		}
	case "INSERT", "REPLACE":
		if st.Section == sqlsplit.SectionData && st.Table != "" && st.Table == rp.lastTable && insertTarget(st.Text) == st.Table {
			if rp.parallel {
				return kindData
			}
			return kindSerialData
		}
	}
	return kindSchema
}

// createdTable returns the table a CREATE TABLE statement makes, and
// whether its rows may be loaded over several connections: an InnoDB
// table with a primary key, whose rows a dump lists in key order however
// they were inserted. Other tables (MyISAM, Aria, no primary key) keep
// insertion order, so one connection loads them in dump order.
func createdTable(text []byte) (string, bool) {
	i := bytes.IndexByte(text, '`')
	if i < 0 {
		return "", false
	}
	name, n := sqlsplit.ParseIdent(text[i:])
	if n == 0 {
		return "", false
	}
	up := bytes.ToUpper(text)
	tail := up[bytes.LastIndexByte(up, ')')+1:]
	innodb := bytes.Contains(tail, []byte("ENGINE=INNODB"))
	pk := bytes.Contains(up, []byte("\n  PRIMARY KEY ("))
	temporary := bytes.Contains(up[:i], []byte("TEMPORARY"))
	return name, innodb && pk && !temporary
}

// insertTarget is the table of "INSERT [IGNORE] INTO `t`" or
// "REPLACE INTO `t`", or "".
func insertTarget(text []byte) string {
	rest := text
	for _, w := range [][]byte{[]byte("INSERT "), []byte("REPLACE "), []byte("IGNORE "), []byte("INTO ")} {
		if len(rest) >= len(w) && bytes.EqualFold(rest[:len(w)], w) {
			rest = rest[len(w):]
		}
	}
	name, n := sqlsplit.ParseIdent(rest)
	if n == 0 {
		return ""
	}
	return name
}

// leadingWords returns up to n upper-cased words at the start of text,
// looking inside conditional comments (/*!NNNNN and /*M!NNNNNN).
func leadingWords(text []byte, n int) []string {
	var words []string
	i := 0
	for i < len(text) && len(words) < n {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '/' && i+2 < len(text) && text[i+1] == '*' && (text[i+2] == '!' || text[i+2] == 'M'):
			i += 2
			for i < len(text) && (text[i] == '!' || text[i] == 'M' || text[i] >= '0' && text[i] <= '9') {
				i++
			}
		case c == '*' && i+1 < len(text) && text[i+1] == '/':
			i += 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j := i
			for j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z' || text[j] == '_') {
				j++
			}
			words = append(words, strings.ToUpper(string(text[i:j])))
			i = j
		default:
			return words
		}
	}
	return words
}

// worker is a data connection.
type worker struct {
	b  *batcher
	rp *replayer
	id int64 // the server's connection id, for KILL
}

func (w *worker) run(ctx context.Context) {
	for j := range w.rp.jobs {
		if ctx.Err() != nil {
			if j.barrier != nil {
				j.barrier.arrived <- context.Cause(ctx)
			}
			continue // drain, so the dispatcher never blocks
		}
		if j.barrier != nil {
			err := w.b.commit(ctx)
			for _, s := range j.barrier.sets {
				if err != nil {
					break
				}
				if _, err = w.b.conn.ExecContext(ctx, s); err != nil {
					err = fmt.Errorf("repeating %q on a data connection: %w", s, err)
				}
			}
			if err != nil {
				w.rp.fail(err)
			}
			j.barrier.arrived <- err
			select {
			case <-j.barrier.release:
			case <-ctx.Done():
			}
			continue
		}
		st := sqlsplit.Statement{Line: j.line, Table: j.table, Section: sqlsplit.SectionData}
		// The driver copies the query into its own buffer and keeps
		// nothing of it once Exec returns, so the buffer is reused after.
		q := unsafe.String(unsafe.SliceData(*j.stmt), len(*j.stmt))
		err := w.b.execString(ctx, q, st, true)
		w.rp.bufs.Put(j.stmt)
		if err != nil {
			w.rp.fail(err)
		}
	}
}

// batcher runs statements on one connection, grouping data statements
// into transactions.
type batcher struct {
	conn    *sql.Conn
	opt     Options
	stats   *Stats
	inTx    bool
	txBytes int64
	txStmts int
}

func (b *batcher) exec(ctx context.Context, st sqlsplit.Statement, data bool) error {
	return b.execString(ctx, string(st.Text), st, data)
}

func (b *batcher) execString(ctx context.Context, q string, st sqlsplit.Statement, data bool) error {
	if !data {
		if err := b.commit(ctx); err != nil {
			return err
		}
	} else if !b.inTx {
		if _, err := b.conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
			return &StatementError{Line: st.Line, Table: st.Table, Section: st.Section, Err: fmt.Errorf("starting a transaction: %w", err)}
		}
		b.inTx = true
	}
	if _, err := b.conn.ExecContext(ctx, q); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return &StatementError{Line: st.Line, Table: st.Table, Section: st.Section, Err: err}
	}
	atomic.AddInt64(&b.stats.Statements, 1)
	atomic.AddInt64(&b.stats.Bytes, int64(len(q)))
	if data {
		atomic.AddInt64(&b.stats.Inserts, 1)
		b.txBytes += int64(len(q))
		b.txStmts++
		if b.txBytes >= b.opt.CommitBytes || b.txStmts >= b.opt.CommitStatements {
			if err := b.commit(ctx); err != nil {
				return &StatementError{Line: st.Line, Table: st.Table, Section: st.Section, Err: err}
			}
		}
	}
	return nil
}

func (b *batcher) commit(ctx context.Context) error {
	if !b.inTx {
		return nil
	}
	b.inTx, b.txBytes, b.txStmts = false, 0, 0
	if _, err := b.conn.ExecContext(ctx, "COMMIT"); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("committing: %w", err)
	}
	atomic.AddInt64(&b.stats.Commits, 1)
	return nil
}

// ErrNotADump is returned by Recognize.
var ErrNotADump = errors.New("not a mysqldump or mariadb-dump script")

// Recognize checks the start of a dump (its first few KiB): the replayer
// takes only what mysqldump and mariadb-dump write, whose header it knows.
func Recognize(head []byte) error {
	h := head
	if rest, ok := bytes.CutPrefix(h, []byte(`/*M!999999\- enable the sandbox mode */`)); ok {
		h = bytes.TrimLeft(rest, " \r\n")
	}
	if !bytes.HasPrefix(h, []byte("-- MariaDB dump ")) && !bytes.HasPrefix(h, []byte("-- MySQL dump ")) {
		return fmt.Errorf("%w: it does not start with their header", ErrNotADump)
	}
	if bytes.Contains(head, []byte("\nUSE `")) {
		return fmt.Errorf("%w of one database: it switches databases (USE)", ErrNotADump)
	}
	return nil
}
