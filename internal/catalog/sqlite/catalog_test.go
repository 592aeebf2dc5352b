package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
)

// openCatalog opens a new catalog in a temporary directory, with a clock
// that starts at start and advances one second per reading.
func openCatalog(t *testing.T) *sqlite.Catalog {
	t.Helper()
	c, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	c.Now = steppingClock(start)
	return c
}

// start is the first time steppingClock returns.
var start = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// steppingClock returns a clock, safe for concurrent use, that returns t0,
// then t0 plus one second, and so on.
func steppingClock(t0 time.Time) func() time.Time {
	var mu sync.Mutex
	next := t0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := next
		next = next.Add(time.Second)
		return t
	}
}

// wantCode fails t unless err carries code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := backup.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

func TestOpenCreatesPrivateDirectoryAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "hmsbackup")
	path := filepath.Join(dir, "catalog.db")
	c, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()

	for _, tc := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {path, 0o600}} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if got := fi.Mode(); got != tc.want {
			t.Errorf("mode of %s = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestOpenUsesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()

	// The journal mode is stored in the file, so another connection sees it.
	db := rawDB(t, path)
	var mode string
	if err := db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatalf("journal_mode: %v", err)
	}
	if got, want := mode, "wal"; got != want {
		t.Errorf("journal_mode = %q, want %q", got, want)
	}
}

// rawDB opens path without the catalog, for inspecting and tampering.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenTwiceAppliesMigrationsOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	b := &backup.Backup{Filename: "a.sql.gz", Status: backup.StatusPending, Source: backup.SourceManualCLI}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for i := range 2 {
		c, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if _, err := c.FindBackupByID(ctx, b.ID); err != nil {
			t.Errorf("after reopen %d, FindBackupByID: %v", i, err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}

	db := rawDB(t, path)
	var n, distinct int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations has %d rows, %d distinct versions; want each version once", n, distinct)
	}
}

func TestOpenConcurrentlyOnNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	var wg sync.WaitGroup
	const openers = 8
	errs := make(chan error, openers)
	for range openers {
		wg.Go(func() {
			c, err := sqlite.Open(t.Context(), path)
			if err != nil {
				errs <- err
				return
			}
			errs <- c.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Open: %v", err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	c.Close()
	db := rawDB(t, path)
	if _, err := db.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', '2099-01-01T00:00:00.000000000Z')`); err != nil {
		t.Fatalf("insert future migration: %v", err)
	}
	db.Close()

	_, err = sqlite.Open(ctx, path)
	if err == nil {
		t.Fatal("Open of a catalog with a newer schema succeeded, want an error")
	}
	wantCode(t, err, backup.EINVALID)
}

func TestOpenRefusesNonCatalogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	if err := os.WriteFile(path, []byte("this is not a SQLite database, it is a text file of some length"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := sqlite.Open(t.Context(), path); err == nil {
		c.Close()
		t.Fatal("Open of a text file succeeded, want an error")
	}
}

// TestTwoCatalogsWriteConcurrently simulates a CLI and a server using one
// catalog file at once: no write may fail with "database is locked".
func TestTwoCatalogsWriteConcurrently(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	const catalogs, goroutines, inserts = 2, 8, 50

	var cs []*sqlite.Catalog
	for range catalogs {
		c, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer c.Close()
		cs = append(cs, c)
	}

	var wg sync.WaitGroup
	errs := make(chan error, catalogs*goroutines*inserts*2)
	for ci, c := range cs {
		for g := range goroutines {
			wg.Go(func() {
				for i := range inserts {
					b := &backup.Backup{
						Filename: fmt.Sprintf("hms_backup_c%d_g%d_%03d.sql.gz", ci, g, i),
						Status:   backup.StatusPending,
						Source:   backup.SourceScheduled,
					}
					if err := c.CreateBackup(ctx, b); err != nil {
						errs <- fmt.Errorf("CreateBackup %s: %w", b.Filename, err)
						continue
					}
					b.Status = backup.StatusCompleted
					if err := c.UpdateBackup(ctx, b); err != nil {
						errs <- fmt.Errorf("UpdateBackup %s: %w", b.Filename, err)
					}
					if err := c.AddAuditEntry(ctx, &backup.AuditEntry{BackupID: &b.ID, Action: backup.ActionCreate, Outcome: "success"}); err != nil {
						errs <- fmt.Errorf("AddAuditEntry %s: %w", b.Filename, err)
					}
					if _, _, err := c.FindBackups(ctx, backup.BackupFilter{Limit: 5}); err != nil {
						errs <- fmt.Errorf("FindBackups: %w", err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
	if n > 10 {
		t.Errorf("... and %d more errors", n-10)
	}

	completed := backup.StatusCompleted
	_, total, err := cs[0].FindBackups(ctx, backup.BackupFilter{Status: &completed})
	if err != nil {
		t.Fatalf("FindBackups: %v", err)
	}
	if got, want := total, catalogs*goroutines*inserts; got != want {
		t.Errorf("completed backups = %d, want %d", got, want)
	}
}

// TestTwoCatalogsSameFilenameOneWins checks that when two processes record
// the same file name at once, exactly one succeeds and the other gets
// ECONFLICT.
func TestTwoCatalogsSameFilenameOneWins(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	var cs [2]*sqlite.Catalog
	for i := range cs {
		c, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer c.Close()
		cs[i] = c
	}
	for round := range 20 {
		name := fmt.Sprintf("hms_backup_20250314_092653_%d.sql.gz", round)
		var wg sync.WaitGroup
		var errs [2]error
		for i, c := range cs {
			wg.Go(func() {
				errs[i] = c.CreateBackup(ctx, &backup.Backup{Filename: name, Status: backup.StatusPending, Source: backup.SourceScheduled})
			})
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case backup.ErrorCode(err) == backup.ECONFLICT:
				conflict++
			default:
				t.Errorf("round %d: CreateBackup: %v", round, err)
			}
		}
		if ok != 1 || conflict != 1 {
			t.Errorf("round %d: %d succeeded and %d conflicted, want 1 and 1", round, ok, conflict)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	c := openCatalog(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.FindBackupByID(ctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("FindBackupByID with a canceled context: err = %v, want context.Canceled in its chain", err)
	}
}

func TestOpenUpgradesVersion1CatalogInPlace(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")

	// Build a catalog as a binary that knew only migration 0001 left it.
	init1, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	if err != nil {
		t.Fatalf("read 0001: %v", err)
	}
	db := rawDB(t, path)
	for _, stmt := range []string{
		`CREATE TABLE schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		) STRICT`,
		string(init1),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '0001_init.sql', '2025-01-01T00:00:00.000000000Z')`,
		`INSERT INTO backups (filename, file_size, file_path, google_drive_file_id, status, source,
			is_protected, created_by, completed_at, error_message, created_at, updated_at, sha256,
			compression, raw_size, duration_ms, db_engine, db_name, is_local, is_on_google_drive)
		VALUES ('old.sql.gz', 1234, '/backups/old.sql.gz', 'drive-id', 'completed', 'scheduled',
			1, 'scheduler', '2025-02-01T03:00:05.000000001Z', '', '2025-02-01T03:00:00.000000000Z',
			'2025-02-01T03:00:06.000000000Z', 'abc123', 'gzip', 5678, 5000, 'mysql', 'hospital', 1, 1)`,
		`INSERT INTO backups (filename, status, source, created_at, updated_at)
		VALUES ('failed.sql.gz', 'failed', 'manual_cli', '2025-02-02T00:00:00.000000000Z', '2025-02-02T00:00:00.000000000Z')`,
		`DELETE FROM backups WHERE filename = 'failed.sql.gz'`, // its id must not be reused after the upgrade
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("build version 1 catalog: %v\n%s", err, stmt)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close raw db: %v", err)
	}

	c, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open version 1 catalog: %v", err)
	}
	defer c.Close()
	c.Now = steppingClock(start)

	completed := time.Date(2025, 2, 1, 3, 0, 5, 1, time.UTC)
	want := &backup.Backup{
		ID: 1, Filename: "old.sql.gz", FileSize: 1234, FilePath: "/backups/old.sql.gz",
		GoogleDriveFileID: "drive-id", Status: backup.StatusCompleted, Source: backup.SourceScheduled,
		IsProtected: true, CreatedBy: "scheduler", CompletedAt: &completed,
		CreatedAt: time.Date(2025, 2, 1, 3, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2025, 2, 1, 3, 0, 6, 0, time.UTC),
		SHA256:    "abc123", Compression: backup.CompressionGzip, RawSize: 5678, DurationMS: 5000,
		DBEngine: "mysql", DBName: "hospital", IsLocal: true, IsOnGoogleDrive: true,
		// And the new fields' defaults: not in S3, no warning, unverified.
		Integrity: backup.IntegrityUnverified,
	}
	got, err := c.FindBackupByID(ctx, 1)
	if err != nil {
		t.Fatalf("FindBackupByID after upgrade: %v", err)
	}
	checkSame(t, got, want)
	bs, total, err := c.FindBackups(ctx, backup.BackupFilter{})
	if err != nil {
		t.Fatalf("FindBackups after upgrade: %v", err)
	}
	if total != 1 || len(bs) != 1 {
		t.Fatalf("FindBackups after upgrade = %d records (total %d), want 1", len(bs), total)
	}

	// The upgraded record takes the new fields.
	got.S3Key, got.IsOnS3, got.Warning = "hmsbackup/old.sql.gz", true, "Google Drive copy is stale"
	if err := c.UpdateBackup(ctx, got); err != nil {
		t.Fatalf("UpdateBackup after upgrade: %v", err)
	}
	again, err := c.FindBackupByID(ctx, 1)
	if err != nil {
		t.Fatalf("FindBackupByID: %v", err)
	}
	checkSame(t, again, got)

	// New records keep counting after the deleted id.
	b := &backup.Backup{Filename: "new.sql.gz", Status: backup.StatusPending, Source: backup.SourceManualCLI, S3Key: "k", IsOnS3: true}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatalf("CreateBackup after upgrade: %v", err)
	}
	if b.ID != 3 {
		t.Errorf("new backup id = %d, want 3 (ids are never reused)", b.ID)
	}

	// Migration 0002 is recorded once, after 0001, and the new column keeps
	// its CHECK.
	db = rawDB(t, path)
	var versions []int
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("scan version: %v", err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if fmt.Sprint(versions) != "[1 2 3 4 5 6 7 8]" {
		t.Errorf("schema versions = %v, want [1 2 3 4 5 6 7 8]", versions)
	}
	if _, err := db.ExecContext(ctx, `UPDATE backups SET is_on_s3 = 2 WHERE id = 1`); err == nil {
		t.Errorf("is_on_s3 = 2 was accepted; want the CHECK to refuse it")
	}

	// Reopening the upgraded catalog changes nothing.
	c2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen upgraded catalog: %v", err)
	}
	defer c2.Close()
	again2, err := c2.FindBackupByID(ctx, 1)
	if err != nil {
		t.Fatalf("FindBackupByID after reopen: %v", err)
	}
	checkSame(t, again2, got)
}
