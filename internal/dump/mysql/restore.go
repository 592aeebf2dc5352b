package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// restoreClient empties the database (every table, view, sequence, procedure,
// function, package and event in it; triggers go with their tables) and
// then feeds the dump read from r to the client, which stops at the first
// failing statement. Afterwards the database holds exactly what the dump
// creates. Errors carry the client's stderr. If reading r fails, the client
// is killed before it sees the end of its input, so a cut-off statement is
// never run. Returns EUNAVAILABLE if the client is missing or the server
// cannot be reached; a failure before the emptying began (other sessions
// holding the tables past the lock timeout included) is marked
// backup.Untouched, and once it has begun, a failure leaves the database
// partly restored. Restore waits for a pending Read on r to return
// unless ctx ends; then it returns at once, and the caller must not Read r
// again (closing it is fine if r allows a Close during a Read).
func (d *Dumper) restoreClient(ctx context.Context, r io.Reader) error {
	// Check all that can be checked before anything is dropped: failures
	// up to the emptying leave the database untouched.
	client, err := exec.LookPath(d.clientCmd)
	if err != nil {
		return backup.Untouched(startError(err, d.clientCmd))
	}
	creds, err := d.openCredentials()
	if err != nil {
		return backup.Untouched(err)
	}
	defer creds.Close()
	if err := d.checkClient(ctx, client, creds); err != nil {
		return backup.Untouched(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return backup.Untouched(backup.Wrap(err, backup.EINTERNAL, "cannot set up the restore of MySQL database %q", d.db))
	}
	defer pw.Close()
	if err := d.emptyDatabase(ctx); err != nil {
		pr.Close()
		if ctx.Err() != nil {
			ierr := d.interrupted(ctx, "restore")
			if errors.Is(err, backup.ErrUntouched) {
				return backup.Untouched(ierr)
			}
			return ierr
		}
		return err
	}
	cmd := creds.command(ctx, client, clientArgs(creds.path, d.db)...)
	cmd.Stdin = pr
	stderr := newTailBuffer(stderrLimit)
	cmd.Stderr = stderr
	// Stdout stays nil (/dev/null): a dump's SELECTs have nothing to say.
	err = cmd.Start()
	pr.Close() // the client has its copy; when it exits, writes fail with EPIPE
	if err != nil {
		return startError(err, d.clientCmd)
	}

	type copyResult struct{ readErr, writeErr error }
	copied := make(chan copyResult, 1)
	go func() {
		var res copyResult
		buf := make([]byte, copyBufferSize)
		for {
			n, err := fill(r, buf, minChunk)
			if n > 0 {
				if _, werr := pw.Write(buf[:n]); werr != nil {
					res.writeErr = werr
					break
				}
			}
			if err == io.EOF {
				pw.Close() // end of input: the client finishes and exits
				break
			}
			if err != nil {
				// Kill before the client could see EOF: at EOF it would run
				// the cut-off last statement.
				res.readErr = err
				_ = cmd.Process.Kill()
				break
			}
		}
		copied <- res
	}()

	waitErr := cmd.Wait()
	pw.Close() // a copy stuck writing to a client that is gone fails now
	var res copyResult
	select {
	case res = <-copied:
	case <-ctx.Done():
		// The copy may be blocked in r.Read; do not wait for it.
	}

	if ctx.Err() != nil || interruptedBySignal(waitErr) {
		return d.interrupted(ctx, "restore")
	}
	if res.readErr != nil {
		if backup.ErrorCode(res.readErr) != backup.EINTERNAL {
			return fmt.Errorf("restore of MySQL database %q: reading the backup: %w", d.db, res.readErr)
		}
		return backup.Wrap(res.readErr, backup.ECORRUPT, "restore of MySQL database %q: cannot read the backup; the database is partly restored", d.db)
	}
	if waitErr != nil {
		return d.clientFailure(waitErr, stderr.Bytes(), fmt.Sprintf("failed to restore MySQL database %q at %s, which is partly restored", d.db, d.addr))
	}
	if res.writeErr != nil {
		return backup.Wrap(res.writeErr, backup.EINTERNAL, "%s exited before reading the whole backup of MySQL database %q", d.clientCmd, d.db)
	}
	return nil
}

// clientArgs is the client's argv for reading a dump from stdin.
// --defaults-file must come first.
func clientArgs(optFile, db string) []string {
	return []string{
		"--defaults-file=" + optFile,
		"--default-character-set=utf8mb4",
		"--binary-mode", // NUL bytes and \r in the dump are data
		"--batch",       // stop at the first error (no --force)
		"--max-allowed-packet=1G",
		"--",
		db,
	}
}

// checkClient runs the client once with the credentials file, so that a
// client that cannot log in fails the restore before anything is dropped.
func (d *Dumper) checkClient(ctx context.Context, client string, creds *credentials) error {
	args := clientArgs(creds.path, d.db)
	args = append(args[:len(args)-2], "--execute=SELECT 1", "--", d.db)
	cmd := creds.command(ctx, client, args...)
	stderr := newTailBuffer(stderrLimit)
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return d.interrupted(ctx, "restore")
		}
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return startError(err, d.clientCmd)
		}
		return d.clientFailure(err, stderr.Bytes(), fmt.Sprintf("cannot log in to MySQL database %q at %s, so nothing was changed", d.db, d.addr))
	}
	return nil
}

// clientFailure describes a client that exited non-zero: "<client> <what>:
// <its message>", plus a hint when the server or the login is the problem.
func (d *Dumper) clientFailure(err error, stderr []byte, what string) error {
	msg := d.redact(toolMessage(stderr))
	code := toolFailureCode(msg)
	if code == backup.EUNAVAILABLE {
		return backup.Wrap(err, code, "%s %s: %s; %s", d.clientCmd, what, msg, unavailableHint)
	}
	return backup.Wrap(err, code, "%s %s: %s", d.clientCmd, what, msg)
}

// interrupted is the error for a run that ctx ended, or whose tool was
// interrupted (Ctrl-C reaches the whole process group, and the tool may
// die of it before ctx ends); it wraps context.Canceled then. It does not
// say what state a restore left the database in: the caller knows
// (Untouched, or rolled back).
func (d *Dumper) interrupted(ctx context.Context, what string) error {
	return backup.Wrap(cmp.Or(ctx.Err(), context.Canceled), backup.EINTERNAL, "the %s of MySQL database %q was interrupted", what, d.db)
}

// interruptedBySignal reports whether a tool died of SIGINT or SIGTERM.
func interruptedBySignal(waitErr error) bool {
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) {
		return false
	}
	ws, ok := exitErr.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && (ws.Signal() == syscall.SIGINT || ws.Signal() == syscall.SIGTERM)
}

// schemaObject is one thing in the database that Restore drops.
type schemaObject struct {
	kind string // EVENT, PROCEDURE, FUNCTION, VIEW, TABLE, SEQUENCE, PACKAGE BODY, PACKAGE
	name string
}

// dropOrder is the order in which kinds are dropped: what may refer to
// tables first, packages last (they need Oracle mode on 10.x).
func dropOrder(kind string) int {
	switch kind {
	case "EVENT":
		return 0
	case "PROCEDURE", "FUNCTION":
		return 1
	case "VIEW":
		return 2
	case "TABLE":
		return 3
	case "SEQUENCE":
		return 4
	case "PACKAGE BODY":
		return 5
	case "PACKAGE":
		return 6
	}
	return 7
}

// emptyDatabase drops everything in the database. It first locks every
// table (bounded by the lock timeout), so that when other sessions hold
// them it gives up, naming those sessions, before anything is dropped;
// such errors are marked backup.Untouched.
func (d *Dumper) emptyDatabase(ctx context.Context) error {
	db, err := d.openDB()
	if err != nil {
		return backup.Untouched(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return backup.Untouched(d.unavailable(err))
	}
	defer conn.Close()

	objects, err := d.listObjects(ctx, conn)
	if err != nil {
		return backup.Untouched(d.unavailable(err))
	}
	// Every wait for a lock, here and in the drops, is bounded.
	secs := max(1, int(math.Ceil(d.lockWait.Seconds())))
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION FOREIGN_KEY_CHECKS = 0, SESSION lock_wait_timeout = %d", secs)); err != nil {
		return backup.Untouched(d.unavailable(err))
	}
	locked, err := d.lockTables(ctx, conn, objects)
	if err != nil {
		return backup.Untouched(err)
	}
	// Under LOCK TABLES only tables and sequences may be dropped; the
	// views, routines and events go after.
	oracleMode := false
	for pass, underLock := range []bool{true, false} {
		for _, o := range objects {
			if isTable(o.kind) != underLock {
				continue
			}
			if strings.HasPrefix(o.kind, "PACKAGE") && !oracleMode {
				// MariaDB 10.x parses DROP PACKAGE only in Oracle mode.
				if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = 'ORACLE'"); err != nil {
					return backup.Wrap(err, backup.EINTERNAL, "cannot empty MySQL database %q before the restore", d.db)
				}
				oracleMode = true
			}
			stmt := "DROP " + o.kind + " IF EXISTS " + quoteIdent(d.db) + "." + quoteIdent(o.name)
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return backup.Wrap(err, backup.EINTERNAL, "cannot empty MySQL database %q before the restore: dropping %s %s", d.db, strings.ToLower(o.kind), quoteIdent(o.name))
			}
		}
		if pass == 0 && locked {
			if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
				return backup.Wrap(err, backup.EINTERNAL, "cannot empty MySQL database %q before the restore", d.db)
			}
		}
	}

	left, err := d.listObjects(ctx, conn)
	if err != nil {
		return d.unavailable(err)
	}
	if len(left) > 0 {
		names := make([]string, 0, 5)
		for i, o := range left {
			if i == 5 {
				names = append(names, "...")
				break
			}
			names = append(names, strings.ToLower(o.kind)+" "+quoteIdent(o.name))
		}
		return backup.Errorf(backup.EINTERNAL, "cannot empty MySQL database %q before the restore: %d objects are still there (%s)", d.db, len(left), strings.Join(names, ", "))
	}
	return nil
}

// isTable reports whether objects of kind are locked and dropped as tables.
func isTable(kind string) bool { return kind == "TABLE" || kind == "SEQUENCE" }

// lockTables write-locks every table and sequence among objects, waiting at
// most the lock timeout for other sessions to let go; locked reports
// whether it holds the locks. When the wait runs out it returns EBUSY
// naming the sessions it can see. A lock refused for another reason (a
// trigger on a table the user may not lock) is not fatal: the restore goes
// on without it, its drops bounded by the same timeout.
func (d *Dumper) lockTables(ctx context.Context, conn *sql.Conn, objects []schemaObject) (locked bool, err error) {
	var names []string
	for _, o := range objects {
		if isTable(o.kind) {
			names = append(names, quoteIdent(d.db)+"."+quoteIdent(o.name)+" WRITE")
		}
	}
	if len(names) == 0 {
		return false, nil
	}
	_, err = conn.ExecContext(ctx, "LOCK TABLES "+strings.Join(names, ", "))
	if err == nil {
		return true, nil
	}
	if ctx.Err() != nil {
		return false, d.interrupted(ctx, "restore")
	}
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) && me.Number == errLockWaitTimeout {
		return false, backup.Errorf(backup.EBUSY,
			"cannot restore MySQL database %q: other sessions kept its tables locked (an open transaction, a long query or a LOCK TABLES) for the whole %v allowed, so nothing was changed. %s Let them finish or end them (KILL <id>), then restore again; HMSBACKUP_RESTORE_LOCK_TIMEOUT sets how long to wait",
			d.db, d.lockWait, d.blockers(ctx, conn))
	}
	return false, nil
}

// errLockWaitTimeout is ER_LOCK_WAIT_TIMEOUT.
const errLockWaitTimeout = 1205

// blockers describes the other sessions using the database, as far as the
// user may see them (all of them with the PROCESS privilege); conn, ours,
// is left out.
func (d *Dumper) blockers(ctx context.Context, conn *sql.Conn) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	rows, err := conn.QueryContext(ctx, `
SELECT ID, USER, HOST, COMMAND, TIME, COALESCE(STATE, ''), COALESCE(LEFT(INFO, 80), '')
  FROM information_schema.PROCESSLIST
 WHERE ID <> CONNECTION_ID() AND DB = ? ORDER BY TIME DESC LIMIT 10`, d.db)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var seen []string
	for rows.Next() {
		var id, secs int64
		var user, host, command, state, info string
		if rows.Scan(&id, &user, &host, &command, &secs, &state, &info) != nil {
			return ""
		}
		s := fmt.Sprintf("id %d (%s@%s, %s for %d s", id, user, host, command, secs)
		if state != "" {
			s += ", " + state
		}
		if info != "" {
			s += ": " + strings.Join(strings.Fields(info), " ")
		}
		seen = append(seen, s+")")
	}
	if len(seen) == 0 {
		return "No other session on it is visible to this user: one with the PROCESS privilege sees them in SHOW PROCESSLIST."
	}
	return "Sessions on it: " + strings.Join(seen, "; ") + "."
}

// listObjects returns what is in the database, in drop order.
func (d *Dumper) listObjects(ctx context.Context, conn *sql.Conn) ([]schemaObject, error) {
	const q = `
SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?
UNION ALL
SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
UNION ALL
SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'VIEW' WHEN 'SEQUENCE' THEN 'SEQUENCE' ELSE 'TABLE' END, TABLE_NAME
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'TEMPORARY'`
	rows, err := conn.QueryContext(ctx, q, d.db, d.db, d.db)
	if err != nil {
		return nil, fmt.Errorf("listing the objects in %q: %w", d.db, err)
	}
	defer rows.Close()
	var objects []schemaObject
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.kind, &o.name); err != nil {
			return nil, fmt.Errorf("listing the objects in %q: %w", d.db, err)
		}
		objects = append(objects, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the objects in %q: %w", d.db, err)
	}
	sort.SliceStable(objects, func(i, j int) bool { return dropOrder(objects[i].kind) < dropOrder(objects[j].kind) })
	return objects, nil
}

// quoteIdent quotes a MySQL identifier with backticks.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}
