package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/lock"
	"github.com/hmsbackup/hmsbackup/internal/storage/local"
	"github.com/hmsbackup/hmsbackup/internal/testutil"
)

// memDB is a Dumper over an in-memory "database": a byte string. Dump
// writes it; Restore replaces it, failing halfway (after writing part of
// the new content) if the stream contains "BREAK".
type memDB struct {
	mu      sync.Mutex
	content []byte
	dumpErr error // returned by Dump after writing content
	// If set, Dump sends on dumping once it has written content (which
	// the compressor still holds), then waits for hold to close.
	dumping chan struct{}
	hold    chan struct{}
	// If set, Restore sends on restoring once it has read the dump, then
	// waits for restoreHold to close.
	restoring   chan struct{}
	restoreHold chan struct{}
	// restoreErr, if set, is what Restore returns before touching anything.
	restoreErr error
}

func (m *memDB) Info() backup.SourceInfo {
	return backup.SourceInfo{Engine: "mem", Database: "hms", Format: "sql", Key: "mem:hms"}
}

func (m *memDB) Ping(context.Context) error { return nil }

func (m *memDB) Dump(ctx context.Context, w io.Writer) error {
	m.mu.Lock()
	content := bytes.Clone(m.content)
	m.mu.Unlock()
	if _, err := w.Write(content); err != nil {
		return err
	}
	if m.dumping != nil {
		m.dumping <- struct{}{}
	}
	if m.hold != nil {
		<-m.hold
	}
	return m.dumpErr
}

func (m *memDB) Restore(ctx context.Context, r io.Reader) error {
	if m.restoreErr != nil {
		return m.restoreErr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if m.restoring != nil {
		m.restoring <- struct{}{}
		<-m.restoreHold
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := bytes.Index(data, []byte("BREAK")); i >= 0 {
		m.content = data[:i] // partly restored, as a real client leaves it
		return errors.New("ERROR 1064 (42000) at line 7: syntax error")
	}
	m.content = data
	return nil
}

func (m *memDB) get() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.content)
}

type fixture struct {
	eng   *engine.Engine
	db    *memDB
	store *local.Storage
	cat   *catalogsqlite.Catalog
	dir   string
}

func newFixture(t fixtureT) *fixture {
	t.Helper()
	return newFixtureIn(t, t.TempDir())
}

// newFixtureIn is newFixture with the catalog, backups and locks in dir.
func newFixtureIn(t fixtureT, dir string) *fixture {
	t.Helper()
	ctx := context.Background()
	cat, err := catalogsqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	store, err := local.New(filepath.Join(dir, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	locker, err := lock.New(filepath.Join(dir, "locks"))
	if err != nil {
		t.Fatal(err)
	}
	db := &memDB{content: []byte("CREATE TABLE patients (id INT);\nINSERT INTO patients VALUES (1);\n-- Dump completed\n")}
	eng := &engine.Engine{Catalog: cat, Dumper: db, Storage: store, Locker: locker, Compression: backup.CompressionGzip, Location: time.UTC}
	return &fixture{eng: eng, db: db, store: store, cat: cat, dir: dir}
}

var alice = engine.Actor{Name: "cli:alice"}

// fixtureT is what fixtures need of a test: a *testing.T, or a rapid case
// (rapidCase), so that each case gets its own fixture and its failures
// shrink.
type fixtureT interface {
	tb
	TempDir() string
	Cleanup(func())
}

// rapidCase gives one rapid case a temp dir and clean-ups, run by done at
// the case's end.
type rapidCase struct {
	*rapid.T
	cleanups []func()
}

// newCase wraps rt; defer the result's done.
func newCase(rt *rapid.T) *rapidCase { return &rapidCase{T: rt} }

func (c *rapidCase) TempDir() string {
	dir, err := os.MkdirTemp("", "engine-case-*")
	if err != nil {
		c.Fatal(err)
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (c *rapidCase) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

func (c *rapidCase) done() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
}

func (f *fixture) create(t tb) *backup.Backup {
	t.Helper()
	b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	return b
}

func (f *fixture) backupDirFiles(t tb) []string {
	t.Helper()
	entries, err := os.ReadDir(f.store.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func (f *fixture) audit(t tb, action backup.Action) []*backup.AuditEntry {
	t.Helper()
	entries, _, err := f.cat.FindAuditEntries(context.Background(), backup.AuditFilter{Action: &action})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestBackupsInTheSameSecondGetDistinctNames(t *testing.T) {
	f := newFixture(t)
	fixed := time.Date(2025, 6, 7, 14, 30, 22, 0, time.UTC)
	f.eng.Now = func() time.Time { return fixed }
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		b := f.create(t)
		if seen[b.Filename] {
			t.Fatalf("file name %s used twice", b.Filename)
		}
		seen[b.Filename] = true
	}
	for _, want := range []string{"hms_backup_20250607_143022.sql.gz", "hms_backup_20250607_143022_2.sql.gz", "hms_backup_20250607_143022_3.sql.gz"} {
		if !seen[want] {
			t.Errorf("got names %v, want %s among them", seen, want)
		}
	}
}

func TestFailedDumpIsRecordedWithToolErrorAndLeavesNoFile(t *testing.T) {
	f := newFixture(t)
	f.db.dumpErr = errors.New("mysqldump: Got error: 1045: Access denied for user 'hms'@'localhost'")
	b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err == nil {
		t.Fatal("CreateBackup succeeded, want error")
	}
	got, ferr := f.cat.FindBackupByID(context.Background(), b.ID)
	if ferr != nil {
		t.Fatal(ferr)
	}
	if got.Status != backup.StatusFailed || !strings.Contains(got.ErrorMessage, "Access denied") {
		t.Errorf("record: status %s, error %q; want failed with the tool's message", got.Status, got.ErrorMessage)
	}
	if files := f.backupDirFiles(t); len(files) != 0 {
		t.Errorf("files left in backup dir: %v", files)
	}
	if a := f.audit(t, backup.ActionCreate); len(a) != 1 || a[0].Outcome != "failure" || a[0].Actor != "cli:alice" {
		t.Errorf("audit: %+v, want one failure by cli:alice", a)
	}
}

func TestEmptyDumpIsAFailure(t *testing.T) {
	f := newFixture(t)
	f.db.content = nil
	b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if err == nil || b.Status != backup.StatusFailed || !strings.Contains(err.Error(), "wrote nothing") {
		t.Fatalf("got status %v, err %v; want failed, 'wrote nothing'", b.Status, err)
	}
	if files := f.backupDirFiles(t); len(files) != 0 {
		t.Errorf("files left in backup dir: %v", files)
	}
}

// A backup that fills a real disk (a 256 KiB tmpfs; the storage has written
// part of the file when the kernel says ENOSPC) fails with the storage's
// own "disk is full" message and leaves no file behind.
func TestFullDiskFailsBackupCleanly(t *testing.T) {
	f := newFixture(t)
	dir := testutil.SmallTmpfs(t, "256k")
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.eng.Storage = store
	f.db.content = make([]byte, 1<<20) // random: gzip cannot make it fit
	rand.Read(f.db.content)
	b, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("got %v, want a disk-full error", err)
	}
	if b.Status != backup.StatusFailed || !strings.Contains(b.ErrorMessage, "disk is full") {
		t.Errorf("status %s (%q), want failed saying the disk is full", b.Status, b.ErrorMessage)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left on the full disk: %v", entries)
	}
}

func TestSecondOperationOnSameDatabaseIsRefused(t *testing.T) {
	f := newFixture(t)
	f.db.hold = make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
		done <- err
	}()
	// Wait until the first backup is running (its record is pending).
	deadline := time.Now().Add(5 * time.Second)
	for {
		pending := backup.StatusPending
		bs, _, _ := f.cat.FindBackups(context.Background(), backup.BackupFilter{Status: &pending})
		if len(bs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first backup never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err := f.eng.CreateBackup(context.Background(), engine.CreateRequest{Source: backup.SourceManualCLI, Actor: alice})
	if backup.ErrorCode(err) != backup.EBUSY || !strings.Contains(err.Error(), "backup of database hms") {
		t.Errorf("second backup: %v, want EBUSY naming the running backup", err)
	}
	// Recovery must not touch a backup that is running in someone else.
	if n, err := f.eng.Recover(context.Background()); n != 0 || err != nil {
		t.Errorf("Recover during a running backup: %d, %v; want 0, nil", n, err)
	}
	close(f.db.hold)
	if err := <-done; err != nil {
		t.Fatalf("first backup: %v", err)
	}
}

func TestRestoreRefusesCorruptFileBeforeTouchingDatabase(t *testing.T) {
	f := newFixture(t)
	b := f.create(t)
	f.db.content = []byte("changed since\n")
	// Flip a byte in the middle of the stored file.
	data, _ := os.ReadFile(b.FilePath)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(b.FilePath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
	if backup.ErrorCode(err) != backup.ECORRUPT || !strings.Contains(err.Error(), "does not match the SHA-256") {
		t.Fatalf("got %v, want ECORRUPT checksum mismatch", err)
	}
	if got := string(f.db.get()); got != "changed since\n" {
		t.Errorf("database touched: %q", got)
	}
	// No pre-restore backup was taken for a restore that never started.
	bs, total, _ := f.cat.FindBackups(context.Background(), backup.BackupFilter{})
	if total != 1 {
		t.Errorf("got %d backups (%v), want only the original", total, bs)
	}
	// Issue 7: the catalog remembers what the restore found.
	if rec, _ := f.cat.FindBackupByID(context.Background(), b.ID); rec.Integrity != backup.IntegrityCorrupt || rec.VerifiedAt == nil || rec.Good() {
		t.Errorf("after the refused restore: integrity %q, verified_at %v; want corrupt, and not good", rec.Integrity, rec.VerifiedAt)
	}
	if _, err := f.eng.Verify(context.Background(), b.ID, alice); backup.ErrorCode(err) != backup.ECORRUPT {
		t.Errorf("verify: %v, want ECORRUPT", err)
	}
}

func TestTruncatedGzipWithMatchingChecksumIsRolledBack(t *testing.T) {
	f := newFixture(t)
	f.db.content = bytes.Repeat([]byte("INSERT INTO patients VALUES (42, 'Ann');\n"), 50000)
	b := f.create(t)
	// Truncate the file and make the catalog agree, as if it had been
	// recorded that way: only the gzip stream itself can tell.
	data, _ := os.ReadFile(b.FilePath)
	data = data[:len(data)/2]
	if err := os.WriteFile(b.FilePath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	b.SHA256 = sha256Hex(data)
	if err := f.cat.UpdateBackup(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	f.db.content = []byte("state before the restore\n")
	res, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
	if backup.ErrorCode(err) != backup.ECORRUPT || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v, want ECORRUPT truncated", err)
	}
	if !res.RolledBack {
		t.Error("RolledBack = false, want true")
	}
	if got := string(f.db.get()); got != "state before the restore\n" {
		t.Errorf("after failed restore the database holds %.40q, want the state before", got)
	}
}

func TestUnknownIDIsNotFound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: 999, Actor: alice})
	if backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("restore: %v, want ENOTFOUND", err)
	}
	if _, err := f.eng.Verify(ctx, 999, alice); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("verify: %v, want ENOTFOUND", err)
	}
	if _, err := f.eng.Delete(ctx, 999, alice); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("delete: %v, want ENOTFOUND", err)
	}
	if _, _, err := f.eng.Download(ctx, 999, alice); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("download: %v, want ENOTFOUND", err)
	}
}

func TestPreRestoreFailureAbortsRestore(t *testing.T) {
	f := newFixture(t)
	b := f.create(t)
	f.db.content = []byte("current\n")
	f.db.dumpErr = errors.New("mysqldump: Lost connection")
	_, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
	if err == nil || !strings.Contains(err.Error(), "pre-restore backup failed") || !strings.Contains(err.Error(), "not touched") {
		t.Fatalf("got %v, want abort because the pre-restore backup failed", err)
	}
	if got := string(f.db.get()); got != "current\n" {
		t.Errorf("database changed to %q", got)
	}
}

func TestDeleteRemovesFileAndRecordButKeepsAudit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.create(t)
	if _, err := f.eng.SetProtected(ctx, b.ID, true, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Delete(ctx, b.ID, alice); backup.ErrorCode(err) != backup.EINVALID {
		t.Fatalf("delete protected: %v, want EINVALID", err)
	}
	if _, err := f.eng.SetProtected(ctx, b.ID, false, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Delete(ctx, b.ID, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.FilePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
	if _, err := f.cat.FindBackupByID(ctx, b.ID); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("record still there: %v", err)
	}
	a := f.audit(t, backup.ActionDelete)
	if len(a) != 2 || a[0].Outcome != "success" || a[0].BackupID == nil || *a[0].BackupID != b.ID {
		t.Errorf("delete audit %+v, want a success entry for backup %d (and the refused one)", a, b.ID)
	}
}

func TestVerifyNoticesMissingFile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.create(t)
	os.Remove(b.FilePath)
	if _, err := f.eng.Verify(ctx, b.ID, alice); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Fatalf("verify: %v, want ENOTFOUND", err)
	}
	got, _ := f.cat.FindBackupByID(ctx, b.ID)
	if got.IsLocal {
		t.Error("is_local still true after the file vanished")
	}
}

func TestRecoverMarksInterruptedBackupFailedAndRemovesPartials(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// What a process killed mid-backup leaves: a pending record and a partial file.
	b := &backup.Backup{Filename: "hms_backup_20250101_000000.sql.gz", Status: backup.StatusPending, Source: backup.SourceScheduled,
		DBEngine: "mem", DBName: "hms", Compression: backup.CompressionGzip}
	if err := f.cat.CreateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(f.store.Dir(), "."+b.Filename+".123.partial")
	if err := os.WriteFile(partial, []byte("half a dump"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := f.eng.Recover(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Recover: %d, %v; want 1, nil", n, err)
	}
	got, _ := f.cat.FindBackupByID(ctx, b.ID)
	if got.Status != backup.StatusFailed || !strings.Contains(got.ErrorMessage, "interrupted") {
		t.Errorf("record %s %q, want failed, interrupted", got.Status, got.ErrorMessage)
	}
	if files := f.backupDirFiles(t); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestRestoreOfOtherEngineIsRefused(t *testing.T) {
	f := newFixture(t)
	b := f.create(t)
	b.DBEngine = "sqlite"
	if err := f.cat.UpdateBackup(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	_, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
	if backup.ErrorCode(err) != backup.EINVALID {
		t.Errorf("got %v, want EINVALID", err)
	}
}

func TestFailedRollbackLeavesMarkerUntilARestoreCompletes(t *testing.T) {
	f := newFixture(t)
	f.eng.StateDir = f.dir
	ctx := context.Background()
	good := f.create(t)
	// The current content makes every restore of it fail, so the rollback
	// to the pre-restore backup fails too.
	f.db.content = []byte("current state BREAK here\n")
	bad := f.create(t)
	_, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: bad.ID, Actor: alice})
	if err == nil || !strings.Contains(err.Error(), "rolling back to the pre-restore backup") {
		t.Fatalf("got %v, want a failed rollback", err)
	}
	m, err := f.eng.InterruptedRestore()
	if err != nil || m == nil || m.BackupID != bad.ID || m.Running {
		t.Fatalf("marker %+v, %v; want one naming backup %d, not running", m, err, bad.ID)
	}
	// A restore that completes leaves the database consistent again.
	if _, err := f.eng.Restore(ctx, engine.RestoreRequest{BackupID: good.ID, Actor: alice}); err != nil {
		t.Fatal(err)
	}
	if m, err := f.eng.InterruptedRestore(); m != nil || err != nil {
		t.Errorf("marker after a completed restore: %+v, %v", m, err)
	}
}

// Issue 7: while a restore runs, its marker says so (Running, with its
// pid); it is not taken for an interrupted restore. Once it completes
// there is no marker.
func TestRunningRestoreIsNotReportedInterrupted(t *testing.T) {
	f := newFixture(t)
	f.eng.StateDir = f.dir
	b := f.create(t)
	f.db.restoring, f.db.restoreHold = make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
		done <- err
	}()
	<-f.db.restoring
	m, err := f.eng.InterruptedRestore()
	if err != nil || m == nil || !m.Running || m.PID != os.Getpid() || m.BackupID != b.ID {
		t.Errorf("during the restore: marker %+v, %v; want it running in this process", m, err)
	}
	close(f.db.restoreHold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m, err := f.eng.InterruptedRestore(); m != nil || err != nil {
		t.Errorf("after the restore: marker %+v, %v", m, err)
	}
}

// Issue 7: a restore the Dumper refuses before touching the database (its
// tables locked by others) is not rolled back: the database keeps what it
// had, and no interrupted-restore marker is left.
func TestUntouchedRestoreIsNotRolledBack(t *testing.T) {
	f := newFixture(t)
	f.eng.StateDir = f.dir
	b := f.create(t)
	f.db.content = []byte("what the database holds now\n")
	f.db.restoreErr = backup.Untouched(backup.Errorf(backup.EBUSY, "tables locked by session 12"))
	res, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
	if backup.ErrorCode(err) != backup.EBUSY || !strings.Contains(err.Error(), "not touched") || res.RolledBack {
		t.Fatalf("Restore: %v (rolled back %v), want EBUSY saying the database was not touched", err, res.RolledBack)
	}
	f.db.restoreErr = nil
	if got := string(f.db.get()); got != "what the database holds now\n" {
		t.Errorf("database holds %q", got)
	}
	if m, err := f.eng.InterruptedRestore(); m != nil || err != nil {
		t.Errorf("marker after an untouched restore: %+v, %v", m, err)
	}
}

// Issue 7: a backup of another database than the configured one is not
// restored over it unless the caller names the target (Into).
func TestRestoreIntoAnotherDatabaseNeedsInto(t *testing.T) {
	f := newFixture(t)
	b := f.create(t)
	b.DBName = "openemr" // taken when the DSN named another database
	if err := f.cat.UpdateBackup(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	f.db.content = []byte("hms's own data\n")
	_, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
	if backup.ErrorCode(err) != backup.EINVALID || !strings.Contains(err.Error(), "--into hms") || !strings.Contains(err.Error(), "openemr") {
		t.Fatalf("Restore without Into: %v, want EINVALID naming both databases and --into", err)
	}
	if got := string(f.db.get()); got != "hms's own data\n" {
		t.Fatalf("the refused restore changed the database: %q", got)
	}
	if _, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice, Into: "other"}); backup.ErrorCode(err) != backup.EINVALID {
		t.Errorf("Restore with Into naming a third database: %v, want EINVALID", err)
	}
	if _, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice, Into: "hms"}); err != nil {
		t.Fatalf("Restore with Into hms: %v", err)
	}
	if got := string(f.db.get()); got == "hms's own data\n" {
		t.Errorf("Restore with Into did not restore")
	}
}

// Issue 7: while a restore runs, its pre-restore backup (its way back)
// cannot be deleted; afterwards it can.
func TestDeleteWaitsForARunningRestore(t *testing.T) {
	f := newFixture(t)
	b := f.create(t)
	f.db.restoring, f.db.restoreHold = make(chan struct{}), make(chan struct{})
	done := make(chan *engine.RestoreResult, 1)
	go func() {
		res, _ := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
		done <- res
	}()
	<-f.db.restoring
	pending := backup.SourcePreRestore
	pres, _, err := f.cat.FindBackups(context.Background(), backup.BackupFilter{Source: &pending})
	if err != nil || len(pres) != 1 {
		t.Fatalf("pre-restore backups: %d, %v", len(pres), err)
	}
	if _, err := f.eng.Delete(context.Background(), pres[0].ID, alice); backup.ErrorCode(err) != backup.EBUSY || !strings.Contains(err.Error(), "restore of database hms") {
		t.Errorf("Delete of the running restore's pre-restore backup: %v, want EBUSY naming the restore", err)
	}
	close(f.db.restoreHold)
	if res := <-done; res.PreRestore == nil {
		t.Fatal("the restore made no pre-restore backup")
	}
	if _, err := f.eng.Delete(context.Background(), pres[0].ID, alice); err != nil {
		t.Errorf("Delete after the restore: %v", err)
	}
}

// Issue 7: with too little room on the backup disk for the pre-restore
// backup, the restore is refused before anything is done, saying so.
func TestRestoreRefusedWhenThePreRestoreBackupCannotFit(t *testing.T) {
	f := newFixture(t)
	dir := testutil.SmallTmpfs(t, "4m")
	store, err := local.New(filepath.Join(dir, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	f.eng.Storage = store
	f.db.content = make([]byte, 300<<10)
	rand.Read(f.db.content)
	b := f.create(t)
	f.db.content = []byte("today's data\n")
	if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice})
	if !errors.Is(err, syscall.ENOSPC) || backup.ErrorCode(err) != backup.EUNAVAILABLE || !strings.Contains(err.Error(), "too full for the pre-restore backup") {
		t.Fatalf("Restore on a full disk: %v", err)
	}
	if res.PreRestore != nil || string(f.db.get()) != "today's data\n" {
		t.Errorf("a refused restore took a pre-restore backup (%v) or touched the database (%q)", res.PreRestore, f.db.get())
	}
	os.Remove(filepath.Join(dir, "filler"))
	if _, err := f.eng.Restore(context.Background(), engine.RestoreRequest{BackupID: b.ID, Actor: alice}); err != nil {
		t.Errorf("Restore with room again: %v", err)
	}
}
