package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	_ "modernc.org/sqlite"

	"github.com/hmsbackup/hmsbackup/internal/dump/sqlite"
)

// tb is what the helpers need from *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// openTestDB opens the database file at p (creating it) with extra URI
// parameters, one connection, and a busy timeout.
func openTestDB(t tb, p string, params ...string) *sql.DB {
	t.Helper()
	u := url.URL{Path: filepath.ToSlash(p)}
	dsn := "file:" + u.EscapedPath() + "?" + strings.Join(append([]string{"_pragma=busy_timeout(30000)"}, params...), "&")
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// createDB creates a database at p by running stmts, then closes it.
func createDB(t tb, p string, stmts ...string) {
	t.Helper()
	db := openTestDB(t, p)
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: exec %q: %v", p, s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close %s: %v", p, err)
	}
}

// content returns a canonical text form of the database at p: its schema
// (without root pages) and every table's rows, sorted, with each value's
// storage class. Two databases with equal content hold the same data.
func content(t tb, p string) string {
	t.Helper()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("content: %v", err)
	}
	db := openTestDB(t, p, "mode=rw")
	defer db.Close()
	var b strings.Builder
	rows, err := db.Query("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
	if err != nil {
		t.Fatalf("content of %s: %v", p, err)
	}
	var tables []string
	for rows.Next() {
		var typ, name, tbl, sqlText string
		if err := rows.Scan(&typ, &name, &tbl, &sqlText); err != nil {
			t.Fatalf("content of %s: %v", p, err)
		}
		fmt.Fprintf(&b, "schema %s %q %q %q\n", typ, name, tbl, sqlText)
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("content of %s: %v", p, err)
	}
	rows.Close()
	for _, table := range tables {
		fmt.Fprintf(&b, "table %q\n", table)
		for _, row := range tableRows(t, db, table) {
			b.WriteString("  " + row + "\n")
		}
	}
	return b.String()
}

// tableRows returns table's rows, formatted and in a total order.
func tableRows(t tb, db *sql.DB, table string) []string {
	t.Helper()
	q := quote(table)
	cols, err := db.Query("SELECT * FROM " + q + " LIMIT 0")
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	names, err := cols.Columns()
	cols.Close()
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	order := make([]string, len(names))
	for i := range names {
		order[i] = strconv.Itoa(i + 1)
	}
	rows, err := db.Query("SELECT * FROM " + q + " ORDER BY " + strings.Join(order, ", "))
	if err != nil {
		t.Fatalf("rows of %s: %v", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("rows of %s: %v", table, err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = formatValue(v)
		}
		out = append(out, strings.Join(parts, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows of %s: %v", table, err)
	}
	return out
}

func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return "int " + strconv.FormatInt(v, 10)
	case float64:
		return "real " + strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return "text " + strconv.Quote(v)
	case []byte:
		return fmt.Sprintf("blob %x", v)
	}
	return fmt.Sprintf("%T %v", v, v)
}

func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// dump returns d's dump as bytes.
func dump(t tb, d *sqlite.Dumper) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := d.Dump(context.Background(), &buf); err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return buf.Bytes()
}

// listDir returns the names in dir, sorted.
func listDir(t tb, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read dir: %v", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// queryString returns the first column of the first row of q.
func queryString(t tb, p, q string) string {
	t.Helper()
	db := openTestDB(t, p, "mode=rw")
	defer db.Close()
	var s string
	if err := db.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %q: %v", p, q, err)
	}
	return s
}
