package mysql

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// dumpTrailer starts the last line of every complete mysqldump/mariadb-dump
// output ("-- Dump completed on 2026-01-02 03:04:05").
const dumpTrailer = "-- Dump completed"

// dumpArgs is the dump tool's argv. --defaults-file must come first. The
// dump has no CREATE DATABASE or USE (no --databases), so it restores into
// whatever database the client is pointed at.
func dumpArgs(optFile, db string) []string {
	return []string{
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
		"--",
		db,
	}
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
	cmd := creds.command(runCtx, d.dumpCmd, dumpArgs(creds.path, d.db)...)
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

	if ctx.Err() != nil {
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
