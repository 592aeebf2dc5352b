package mysql

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// dumpTrailer starts the last line of every complete mysqldump/mariadb-dump
// output ("-- Dump completed on 2026-01-02 03:04:05").
const dumpTrailer = "-- Dump completed"

// dumpArgs is the dump tool's argv. --defaults-file must come first. The
// dump has no CREATE DATABASE or USE (no --databases), so it restores into
// whatever database the client is pointed at. history adds
// --dump-history: the past rows of system-versioned tables (MariaDB 10.11+).
func dumpArgs(optFile, db string, history bool) []string {
	args := []string{
		"--defaults-file=" + optFile,
		"--single-transaction", // a consistent snapshot of InnoDB tables, no global lock
		"--skip-lock-tables",
		"--routines",
		"--triggers",
		"--events",
		"--hex-blob",
		"--quick", // row by row, not whole tables in memory
		"--default-character-set=utf8mb4",
		"--no-tablespaces", // needs no PROCESS privilege
		"--max-allowed-packet=1G",
	}
	if history {
		args = append(args, "--dump-history")
	}
	return append(args, "--", db)
}

// dumpsHistory reports whether the dump tool can dump the history of
// system-versioned tables (its --help lists --dump-history). It asks the
// tool once, bounded by ctx and 10 s; an answer cut short by ctx is not
// kept.
func (d *Dumper) dumpsHistory(ctx context.Context) bool {
	d.historyMu.Lock()
	defer d.historyMu.Unlock()
	if d.historyKnown {
		return d.history
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(hctx, d.dumpCmd, "--help")
	cmd.Env = toolEnv()
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return false
	}
	d.history, d.historyKnown = err == nil && bytes.Contains(out, []byte("--dump-history")), true
	return d.history
}

var _ backup.ContentWarner = (*Dumper)(nil)

// DumpLacks implements backup.ContentWarner: without --dump-history, the
// past rows of system-versioned tables are not in the dump.
func (d *Dumper) DumpLacks(ctx context.Context) string {
	if d.dumpsHistory(ctx) {
		return ""
	}
	db, err := d.openDBIn("")
	if err != nil {
		return ""
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SYSTEM VERSIONED' ORDER BY TABLE_NAME`, d.db)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var t string
		if rows.Scan(&t) != nil {
			return ""
		}
		tables = append(tables, t)
	}
	if rows.Err() != nil || len(tables) == 0 {
		return ""
	}
	return fmt.Sprintf("the history of %s (%s) is not in this backup: %s cannot dump it (it lacks --dump-history, MariaDB 10.11 and later have it), so a restore brings back only their current rows; point HMSBACKUP_MYSQLDUMP at a newer mariadb-dump",
		backup.Count(len(tables), "system-versioned table"), strings.Join(tables, ", "), d.dumpCmd)
}

// Dump streams a consistent dump of the database (tables, rows, views,
// triggers, routines, events) to w, as the dump tool writes it. It fails,
// with the tool's stderr in the error, if the tool exits non-zero, writes
// nothing, or its output does not end with the "-- Dump completed" trailer;
// then w holds an unusable partial dump. Returns EUNAVAILABLE if the tool
// is missing or the server cannot be reached with the credentials. If ctx
// ends, the tool is killed and ctx's error returned.
func (d *Dumper) Dump(ctx context.Context, w io.Writer) error {
	creds, err := d.openCredentials()
	if err != nil {
		return err
	}
	defer creds.Close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := creds.command(runCtx, d.dumpCmd, dumpArgs(creds.path, d.db, d.dumpsHistory(ctx))...)
	stderr := newTailBuffer(stderrLimit)
	cmd.Stderr = stderr
	pr, pw, capacity, err := toolPipe()
	if err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot set up the dump of MySQL database %q", d.db)
	}
	defer pr.Close()
	cmd.Stdout = pw
	err = cmd.Start()
	pw.Close() // the tool has its copy; its exit ends our reads with EOF
	if err != nil {
		if ctx.Err() != nil {
			return d.interrupted(ctx, "dump")
		}
		return startError(err, d.dumpCmd)
	}
	stdout := newPipeReader(pr, capacity)

	// Copy in large chunks and keep the last bytes to check the trailer.
	tail := newTailBuffer(512)
	buf := make([]byte, copyBufferSize)
	var written int64
	var readErr, writeErr error
	for {
		n, err := fill(stdout, buf, minChunk)
		if n > 0 {
			tail.Write(buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				writeErr = werr
				cancel() // kill the tool; nobody takes its output
				break
			}
			written += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			cancel()
			break
		}
	}
	waitErr := cmd.Wait()

	if ctx.Err() != nil || interruptedBySignal(waitErr) {
		return d.interrupted(ctx, "dump")
	}
	if writeErr != nil {
		// Keep the writer's own code (e.g. a storage error) in the chain.
		return fmt.Errorf("dump of MySQL database %q: writing the dump: %w", d.db, writeErr)
	}
	if readErr != nil {
		return backup.Wrap(readErr, backup.EINTERNAL, "dump of MySQL database %q: reading from %s", d.db, d.dumpCmd)
	}
	msg := d.redact(toolMessage(stderr.Bytes()))
	if waitErr != nil {
		code := toolFailureCode(msg)
		if code == backup.EUNAVAILABLE {
			return backup.Wrap(waitErr, code, "%s cannot dump MySQL database %q at %s: %s; %s", d.dumpCmd, d.db, d.addr, msg, unavailableHint)
		}
		return backup.Wrap(waitErr, code, "%s failed to dump MySQL database %q: %s", d.dumpCmd, d.db, msg)
	}
	if written == 0 {
		return backup.Errorf(backup.EINTERNAL, "%s exited 0 but wrote nothing for MySQL database %q: %s", d.dumpCmd, d.db, msg)
	}
	if !hasTrailer(tail.Bytes()) {
		return backup.Errorf(backup.EINTERNAL, "the dump of MySQL database %q is incomplete: %s exited 0 but its output does not end with %q: %s", d.db, d.dumpCmd, dumpTrailer, msg)
	}
	return nil
}

// hasTrailer reports whether the last line of a dump is the trailer.
func hasTrailer(tail []byte) bool {
	t := bytes.TrimRight(tail, " \t\r\n")
	return bytes.HasPrefix(t[bytes.LastIndexByte(t, '\n')+1:], []byte(dumpTrailer))
}
