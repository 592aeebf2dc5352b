package backup

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// SourceInfo describes the database a Dumper backs up.
type SourceInfo struct {
	Engine   string // "mysql" or "sqlite"
	Database string // the schema name, or the SQLite file's base name
	Format   string // file-name format part: "sql" (a SQL script) or "sqlite" (a database file)
	// Key identifies the source across processes (host+database, or the
	// SQLite file's absolute path); locks are taken on it. Never holds secrets.
	Key string
}

// Dumper backs up and restores one database. Implementations stream: they
// never hold a whole dump in memory.
type Dumper interface {
	// Info describes the source. It does no I/O.
	Info() SourceInfo

	// Dump writes a complete, consistent dump to w while the database stays
	// online. It returns an error, carrying the tool's own message (stderr),
	// if the dump could not be taken or is incomplete; then what was written
	// to w must be discarded. Returns EUNAVAILABLE if the server or the dump
	// tool cannot be reached.
	Dump(ctx context.Context, w io.Writer) error

	// Restore replaces the database's whole content with the dump read from
	// r: afterwards it holds exactly the dump's tables, rows, views,
	// triggers, routines and events, and nothing else. It stops at the first
	// error and returns it; the database may then be partly restored (the
	// engine rolls back with the pre-restore backup), unless the error is
	// marked Untouched: it failed before changing anything (e.g. other
	// sessions held locks on the tables past the configured wait). A
	// *RestoreFallbackError asks the caller to hand the same dump, read
	// again from its start, to the method it names.
	Restore(ctx context.Context, r io.Reader) error

	// Ping checks that the database can be reached with the configured
	// credentials, returning EUNAVAILABLE with a reason if not.
	Ping(ctx context.Context) error
}

// ContentWarner is implemented by Dumpers whose dumps may lack part of a
// database.
type ContentWarner interface {
	// DumpLacks says what a dump taken now lacks of the database, and
	// why, or "" when it holds everything (or that cannot be told).
	DumpLacks(ctx context.Context) string
}

// ServerLocker is implemented by Dumpers whose database server can hold a
// lock of its own (MySQL's GET_LOCK), so that hmsbackup processes with other
// data directories or on other hosts see each other's backups and
// restores of the same database.
type ServerLocker interface {
	// LockServer takes the database's lock on its server for the operation
	// described by what, waiting up to wait. It returns EBUSY naming the
	// holder if another session keeps it. The lock is held until release
	// is called or the process dies.
	LockServer(ctx context.Context, what string, wait time.Duration) (release func(), err error)
}

// Catalog stores backup records, settings and the audit trail. It lives in
// its own store, never in the database being backed up. Safe for
// concurrent use by several goroutines and processes.
type Catalog interface {
	// CreateBackup inserts b (normally pending) and sets its ID, CreatedAt
	// and UpdatedAt. Returns ECONFLICT if b.Filename is already recorded,
	// and EUNAVAILABLE if its disk is too full to record a pending b's end
	// later (UpdateBackup to failed or completed must not fail for a disk
	// the backup filled).
	CreateBackup(ctx context.Context, b *Backup) error
	// UpdateBackup saves every field of b (by b.ID) but IsProtected, and
	// sets UpdatedAt and b.IsProtected to the stored value: only
	// SetProtected changes it, so a stale copy of the record (an upload
	// that took an hour) cannot undo a protect. Returns ENOTFOUND if there
	// is no such record.
	UpdateBackup(ctx context.Context, b *Backup) error
	// SetProtected sets the record's IsProtected and UpdatedAt. Returns
	// ENOTFOUND if there is no such record.
	SetProtected(ctx context.Context, id int64, protected bool) error
	// FindBackupByID returns ENOTFOUND if there is no such record.
	FindBackupByID(ctx context.Context, id int64) (*Backup, error)
	// FindBackups returns the matching records, newest first, and how many
	// match in all (ignoring Offset and Limit).
	FindBackups(ctx context.Context, f BackupFilter) ([]*Backup, int, error)
	// DeleteBackup removes the record; its audit entries stay, with their
	// backup id. Returns ENOTFOUND if there is no such record.
	DeleteBackup(ctx context.Context, id int64) error

	// Settings returns the saved settings, or DefaultSettings if none.
	Settings(ctx context.Context) (Settings, error)
	// SaveSettings replaces the settings.
	SaveSettings(ctx context.Context, s Settings) error

	// AddAuditEntry appends e and sets its ID and CreatedAt.
	AddAuditEntry(ctx context.Context, e *AuditEntry) error
	// FindAuditEntries returns the entries f selects, newest first, the
	// page f.Offset/f.Limit asks for, and how many match in all.
	FindAuditEntries(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error)

	Close() error
}

// ForeignKey is a foreign key of a table in another database that refers
// to tables of the database a Dumper restores. A restore replaces the
// referenced tables without looking at it, so it may break.
type ForeignKey struct {
	Database    string   `json:"database"` // the referring table's database
	Table       string   `json:"table"`
	Name        string   `json:"name"` // the constraint's name
	Columns     []string `json:"columns"`
	RefDatabase string   `json:"referenced_database"` // the restored database
	RefTable    string   `json:"referenced_table"`
	RefColumns  []string `json:"referenced_columns"`
}

// String reads "otherdb.orders(patient_id) -> hms.patients(id)".
func (f ForeignKey) String() string {
	return fmt.Sprintf("%s.%s(%s) -> %s.%s(%s)", f.Database, f.Table, strings.Join(f.Columns, ", "),
		f.RefDatabase, f.RefTable, strings.Join(f.RefColumns, ", "))
}

// Count says "1 foreign key" or "n foreign keys".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// BrokenForeignKey is a ForeignKey that no longer holds, and why.
type BrokenForeignKey struct {
	ForeignKey
	Problem string `json:"problem"`
}

// ReferenceChecker is implemented by Dumpers whose server lets tables of
// other databases refer to the restored one (MySQL foreign keys).
type ReferenceChecker interface {
	// InboundForeignKeys lists the foreign keys of other databases that
	// refer to this one, as far as the user may see them.
	InboundForeignKeys(ctx context.Context) ([]ForeignKey, error)
	// CheckForeignKeys says which of fks are broken: the referenced table
	// or columns are gone, have another type or engine, lack an index, or
	// rows refer to values that are no longer there. A key it cannot check
	// (no privilege, server gone) is returned too, saying so.
	CheckForeignKeys(ctx context.Context, fks []ForeignKey) []BrokenForeignKey
}
