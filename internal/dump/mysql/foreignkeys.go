package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

var _ backup.ReferenceChecker = (*Dumper)(nil)

// InboundForeignKeys implements backup.ReferenceChecker from
// information_schema, which shows the user only what it has privileges on.
func (d *Dumper) InboundForeignKeys(ctx context.Context) ([]backup.ForeignKey, error) {
	db, err := d.openDBIn("")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `
SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
  FROM information_schema.KEY_COLUMN_USAGE
 WHERE REFERENCED_TABLE_SCHEMA = ? AND TABLE_SCHEMA <> ?
 ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`, d.db, d.db)
	if err != nil {
		return nil, d.unavailable(fmt.Errorf("listing foreign keys from other databases: %w", err))
	}
	defer rows.Close()
	var fks []backup.ForeignKey
	for rows.Next() {
		var schema, table, name, col, refTable, refCol string
		if err := rows.Scan(&schema, &table, &name, &col, &refTable, &refCol); err != nil {
			return nil, fmt.Errorf("listing foreign keys from other databases: %w", err)
		}
		if n := len(fks); n == 0 || fks[n-1].Database != schema || fks[n-1].Table != table || fks[n-1].Name != name {
			fks = append(fks, backup.ForeignKey{Database: schema, Table: table, Name: name, RefDatabase: d.db, RefTable: refTable})
		}
		fk := &fks[len(fks)-1]
		fk.Columns = append(fk.Columns, col)
		fk.RefColumns = append(fk.RefColumns, refCol)
	}
	if err := rows.Err(); err != nil {
		return nil, d.unavailable(fmt.Errorf("listing foreign keys from other databases: %w", err))
	}
	return fks, nil
}

// CheckForeignKeys implements backup.ReferenceChecker with InnoDB's rules:
// the referenced table is InnoDB, its columns have the referring columns'
// type (integers: size and sign; strings: type and collation, any length;
// others: the whole type), they lead an index, and every referring row
// whose columns are all non-NULL finds its row.
func (d *Dumper) CheckForeignKeys(ctx context.Context, fks []backup.ForeignKey) []backup.BrokenForeignKey {
	if len(fks) == 0 {
		return nil
	}
	var broken []backup.BrokenForeignKey
	db, err := d.openDBIn("")
	if err != nil {
		for _, fk := range fks {
			broken = append(broken, backup.BrokenForeignKey{ForeignKey: fk, Problem: "could not be checked: " + err.Error()})
		}
		return broken
	}
	defer db.Close()
	for _, fk := range fks {
		problem, err := d.checkForeignKey(ctx, db, fk)
		if err != nil {
			problem = "could not be checked: " + d.redact(err.Error())
		}
		if problem != "" {
			broken = append(broken, backup.BrokenForeignKey{ForeignKey: fk, Problem: problem})
		}
	}
	return broken
}

// checkForeignKey returns what is wrong with fk, or "".
func (d *Dumper) checkForeignKey(ctx context.Context, db *sql.DB, fk backup.ForeignKey) (string, error) {
	ref := d.db + "." + fk.RefTable
	var engine sql.NullString
	err := db.QueryRowContext(ctx, `SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		d.db, fk.RefTable).Scan(&engine)
	if err == sql.ErrNoRows {
		return fmt.Sprintf("table %s is not in the restored database", ref), nil
	}
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(engine.String, "InnoDB") {
		return fmt.Sprintf("table %s is now %s, not InnoDB, so it cannot be referenced", ref, orUnknown(engine.String)), nil
	}
	own, err := columnTypes(ctx, db, fk.Database, fk.Table)
	if err != nil {
		return "", err
	}
	theirs, err := columnTypes(ctx, db, d.db, fk.RefTable)
	if err != nil {
		return "", err
	}
	for i, col := range fk.Columns {
		refCol := fk.RefColumns[i]
		t, ok := theirs[strings.ToLower(refCol)]
		if !ok {
			return fmt.Sprintf("column %s.%s is not in the restored database", ref, refCol), nil
		}
		if o := own[strings.ToLower(col)]; !o.compatible(t) {
			return fmt.Sprintf("column types differ: %s.%s.%s is %s but %s.%s is %s", fk.Database, fk.Table, col, o, ref, refCol, t), nil
		}
	}
	indexed, err := leadsAnIndex(ctx, db, d.db, fk.RefTable, fk.RefColumns)
	if err != nil {
		return "", err
	}
	if !indexed {
		return fmt.Sprintf("no index of %s starts with (%s), which InnoDB needs for the key", ref, strings.Join(fk.RefColumns, ", ")), nil
	}
	return d.orphans(ctx, db, fk)
}

// orphans counts the referring rows whose values are not in the
// referenced table, and gives one of them.
func (d *Dumper) orphans(ctx context.Context, db *sql.DB, fk backup.ForeignKey) (string, error) {
	var notNull, match, cols []string
	for i, col := range fk.Columns {
		notNull = append(notNull, "c."+quoteIdent(col)+" IS NOT NULL")
		match = append(match, "p."+quoteIdent(fk.RefColumns[i])+" = c."+quoteIdent(col))
		cols = append(cols, "c."+quoteIdent(col))
	}
	from := " FROM " + quoteIdent(fk.Database) + "." + quoteIdent(fk.Table) + " AS c WHERE " + strings.Join(notNull, " AND ") +
		" AND NOT EXISTS (SELECT 1 FROM " + quoteIdent(d.db) + "." + quoteIdent(fk.RefTable) + " AS p WHERE " + strings.Join(match, " AND ") + ")"
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*)"+from).Scan(&n); err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	var example sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT CONCAT_WS(', ', "+strings.Join(cols, ", ")+")"+from+" LIMIT 1").Scan(&example); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s of %s.%s refer to rows no longer in %s.%s (e.g. %s = %s)",
		backup.Count(int(n), "row"), fk.Database, fk.Table, d.db, fk.RefTable, strings.Join(fk.Columns, ", "), example.String), nil
}

// columnType is what InnoDB compares between a foreign key's columns.
type columnType struct {
	dataType, columnType, collation string
}

func (c columnType) String() string {
	if c.collation != "" && isString(c.dataType) {
		return c.columnType + " " + c.collation
	}
	return c.columnType
}

// compatible applies InnoDB's rule for a foreign key's column pairs.
func (c columnType) compatible(o columnType) bool {
	switch {
	case c.dataType != o.dataType:
		return false
	case isString(c.dataType):
		return c.collation == o.collation
	case strings.HasSuffix(c.dataType, "int"):
		return strings.Contains(c.columnType, "unsigned") == strings.Contains(o.columnType, "unsigned")
	}
	return c.columnType == o.columnType
}

func isString(dataType string) bool {
	switch dataType {
	case "char", "varchar", "binary", "varbinary":
		return true
	}
	return false
}

// columnTypes returns the types of a table's columns by lower-case name.
func columnTypes(ctx context.Context, db *sql.DB, schema, table string) (map[string]columnType, error) {
	rows, err := db.QueryContext(ctx, `
SELECT COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), COALESCE(COLLATION_NAME, '')
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := map[string]columnType{}
	for rows.Next() {
		var name string
		var t columnType
		if err := rows.Scan(&name, &t.dataType, &t.columnType, &t.collation); err != nil {
			return nil, err
		}
		types[strings.ToLower(name)] = t // names are case-insensitive
	}
	return types, rows.Err()
}

// leadsAnIndex reports whether some index of the table starts with cols,
// in order.
func leadsAnIndex(ctx context.Context, db *sql.DB, schema, table string, cols []string) (bool, error) {
	rows, err := db.QueryContext(ctx, `
SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`, schema, table)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	indexes := map[string][]string{}
	for rows.Next() {
		var index, col string
		if err := rows.Scan(&index, &col); err != nil {
			return false, err
		}
		indexes[index] = append(indexes[index], col)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, indexCols := range indexes {
		if len(indexCols) >= len(cols) && strings.EqualFold(strings.Join(indexCols[:len(cols)], "\x00"), strings.Join(cols, "\x00")) {
			return true, nil
		}
	}
	return false, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "of unknown engine"
	}
	return s
}
