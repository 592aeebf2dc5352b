package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/dump/sqlite"
)

// TestProperty11RestoreRoundTrip checks Property 11: restore round trip.
// For any database, restoring its dump (into a fresh path or over another
// database) yields a database with exactly the same schema and rows.
func TestProperty11RestoreRoundTrip(t *testing.T) {
	t.Run("Property 11: restore round trip", func(t *testing.T) {
		base := t.TempDir()
		rapid.Check(t, func(rt *rapid.T) {
			dir, err := os.MkdirTemp(base, "case-*")
			if err != nil {
				rt.Fatalf("MkdirTemp: %v", err)
			}
			defer os.RemoveAll(dir)

			src := filepath.Join(dir, "src.db")
			createGenerated(rt, src, genDatabase(rt))
			want := content(rt, src)

			raw := dump(rt, sqlite.New(src, filepath.Join(dir, "snapshots")))

			dstDir := filepath.Join(dir, "dst")
			if err := os.Mkdir(dstDir, 0o700); err != nil {
				rt.Fatalf("Mkdir: %v", err)
			}
			dst := filepath.Join(dstDir, "hms.db")
			if rapid.Bool().Draw(rt, "restore over an existing database") {
				createDB(rt, dst,
					"PRAGMA journal_mode = "+rapid.SampledFrom([]string{"wal", "delete"}).Draw(rt, "existing journal mode"),
					"CREATE TABLE t0 (old TEXT)", "INSERT INTO t0 VALUES ('stale')",
					"CREATE TABLE only_in_target (x)", "CREATE INDEX only_in_target_x ON only_in_target (x)")
			}
			if err := sqlite.New(dst, filepath.Join(dir, "snapshots")).Restore(context.Background(), bytes.NewReader(raw)); err != nil {
				rt.Fatalf("Restore: %v", err)
			}
			if got := content(rt, dst); got != want {
				rt.Fatalf("restored content differs:\ngot:\n%s\nwant:\n%s", got, want)
			}
			if got, want := listDir(rt, dstDir), []string{"hms.db"}; !slices.Equal(got, want) {
				rt.Fatalf("directory after Restore holds %v, want %v", got, want)
			}
		})
	})
}

// statement is one SQL statement with its arguments.
type statement struct {
	sql  string
	args []any
}

// genDatabase draws the statements that create a database of one to three
// tables with random names, column types, indexes and rows.
func genDatabase(rt *rapid.T) []statement {
	stmts := []statement{{sql: "PRAGMA journal_mode = " + rapid.SampledFrom([]string{"wal", "delete"}).Draw(rt, "journal mode")}}
	name := rapid.StringMatching(`[a-zA-Z_][a-zA-Z0-9_ "éß🏥]{0,8}`)
	declType := rapid.SampledFrom([]string{"", "INTEGER", "REAL", "TEXT", "BLOB", "NUMERIC", "VARCHAR(20)"})
	tables := rapid.IntRange(1, 3).Draw(rt, "tables")
	for i := range tables {
		table := quote(fmt.Sprintf("t%d %s", i, name.Draw(rt, "table name")))
		cols := make([]string, rapid.IntRange(1, 4).Draw(rt, "columns"))
		defs := make([]string, len(cols))
		for j := range cols {
			cols[j] = quote(fmt.Sprintf("c%d %s", j, name.Draw(rt, "column name")))
			defs[j] = strings.TrimSpace(cols[j] + " " + declType.Draw(rt, "type"))
		}
		stmts = append(stmts, statement{sql: fmt.Sprintf("CREATE TABLE %s (%s)", table, strings.Join(defs, ", "))})
		if rapid.Bool().Draw(rt, "index") {
			stmts = append(stmts, statement{sql: fmt.Sprintf("CREATE INDEX %s ON %s (%s)",
				quote(fmt.Sprintf("i%d", i)), table, cols[len(cols)-1])})
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
		for range rapid.IntRange(0, 25).Draw(rt, "rows") {
			args := make([]any, len(cols))
			for j := range args {
				args[j] = genValue().Draw(rt, "value")
			}
			stmts = append(stmts, statement{sql: fmt.Sprintf("INSERT INTO %s VALUES (%s)", table, marks), args: args})
		}
	}
	return stmts
}

// genValue draws a value of any SQLite storage class: NULL, integers,
// reals, text (any Unicode, emoji, NUL) and BLOBs of arbitrary bytes.
func genValue() *rapid.Generator[any] {
	return rapid.OneOf(
		rapid.Just[any](nil),
		rapid.Map(rapid.Int64(), func(v int64) any { return v }),
		rapid.Map(rapid.Float64(), func(v float64) any { return v }),
		rapid.Map(rapid.String(), func(v string) any { return v }),
		rapid.Map(rapid.StringOf(rapid.RuneFrom([]rune("aZ0 '\"é漢🏥🩺💊👩‍⚕️\u200d\x00\n"))), func(v string) any { return v }),
		rapid.Map(rapid.SliceOf(rapid.Byte()), func(v []byte) any { return v }),
	)
}

// createGenerated creates a database at p by running stmts.
func createGenerated(rt *rapid.T, p string, stmts []statement) {
	db := openTestDB(rt, p)
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s.sql, s.args...); err != nil {
			rt.Fatalf("exec %q %v: %v", s.sql, s.args, err)
		}
	}
	if err := db.Close(); err != nil {
		rt.Fatalf("close %s: %v", p, err)
	}
}
