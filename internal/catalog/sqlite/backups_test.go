package sqlite_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"pgregory.net/rapid"
)

// inUTC returns a copy of b with its times in UTC, so that records equal in
// meaning compare equal with reflect.DeepEqual.
func inUTC(b *backup.Backup) backup.Backup {
	c := *b
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if c.CompletedAt != nil {
		t := c.CompletedAt.UTC()
		c.CompletedAt = &t
	}
	if c.VerifiedAt != nil {
		t := c.VerifiedAt.UTC()
		c.VerifiedAt = &t
	}
	return c
}

// fataler is a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkSame fails t unless got and want record the same backup, and got's
// times are in UTC.
func checkSame(t fataler, got, want *backup.Backup) {
	t.Helper()
	if g, w := inUTC(got), inUTC(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("backup read back differs:\n got %+v\nwant %+v", g, w)
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC ||
		(got.CompletedAt != nil && got.CompletedAt.Location() != time.UTC) {
		t.Fatalf("backup read back has times not in UTC: %+v", got)
	}
}

func fullBackup() *backup.Backup {
	completed := time.Date(2025, 3, 14, 10, 0, 0, 123456789, time.FixedZone("EAT", 3*60*60))
	return &backup.Backup{
		Filename:          "hms_backup_20250314_092653.sql.zst",
		FileSize:          1 << 40,
		FilePath:          "/var/lib/hmsbackup/backups/hms_backup_20250314_092653.sql.zst",
		GoogleDriveFileID: "1AbCdEfGhIjKlMnOp",
		Status:            backup.StatusFailed,
		Source:            backup.SourcePreRestore,
		IsProtected:       true,
		CreatedBy:         "cli:amélie",
		CompletedAt:       &completed,
		ErrorMessage:      "mysqldump: Got error: 2013 — « connexion perdue » 接続が切れました 🏥\nline two",
		SHA256:            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Compression:       backup.CompressionZstd,
		RawSize:           -1,
		DurationMS:        98765,
		DBEngine:          "mysql",
		DBName:            "hospital",
		IsLocal:           true,
		IsOnGoogleDrive:   true,
		S3Key:             "hmsbackup/2025/03/hms_backup_20250314_092653.sql.zst",
		IsOnS3:            true,
		Warning:           "upload to Google Drive failed: quota exceeded — « réessayer » 🏥",
	}
}

func TestCreateBackupRoundTripsEveryField(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		b    *backup.Backup
	}{
		{"every field set", fullBackup()},
		{"zero values and no completion time", &backup.Backup{
			Filename: "b.sql.gz", Status: backup.StatusPending, Source: backup.SourceManualUI}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openCatalog(t)
			if err := c.CreateBackup(ctx, tc.b); err != nil {
				t.Fatalf("CreateBackup: %v", err)
			}
			if tc.b.ID == 0 {
				t.Errorf("CreateBackup left ID 0")
			}
			if got, want := tc.b.CreatedAt, start; !got.Equal(want) {
				t.Errorf("CreatedAt = %v, want %v", got, want)
			}
			if got, want := tc.b.UpdatedAt, start; !got.Equal(want) {
				t.Errorf("UpdatedAt = %v, want %v", got, want)
			}
			got, err := c.FindBackupByID(ctx, tc.b.ID)
			if err != nil {
				t.Fatalf("FindBackupByID: %v", err)
			}
			checkSame(t, got, tc.b)
		})
	}
}

func TestUpdateBackupSavesEveryFieldButCreatedAt(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	b := &backup.Backup{Filename: "old.sql.gz", Status: backup.StatusPending, Source: backup.SourceScheduled}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	created := b.CreatedAt

	u := fullBackup()
	u.ID = b.ID
	u.CreatedAt = created.Add(-time.Hour) // ignored
	if err := c.UpdateBackup(ctx, u); err != nil {
		t.Fatalf("UpdateBackup: %v", err)
	}
	if got, want := u.CreatedAt, created; !got.Equal(want) {
		t.Errorf("CreatedAt after update = %v, want %v", got, want)
	}
	if got, want := u.UpdatedAt, start.Add(time.Second); !got.Equal(want) {
		t.Errorf("UpdatedAt after update = %v, want %v", got, want)
	}
	got, err := c.FindBackupByID(ctx, b.ID)
	if err != nil {
		t.Fatalf("FindBackupByID: %v", err)
	}
	checkSame(t, got, u)

	// And back to no completion time, no S3 copy and no warning.
	u.CompletedAt = nil
	u.S3Key, u.IsOnS3, u.Warning = "", false, ""
	if err := c.UpdateBackup(ctx, u); err != nil {
		t.Fatalf("UpdateBackup: %v", err)
	}
	got, err = c.FindBackupByID(ctx, b.ID)
	if err != nil {
		t.Fatalf("FindBackupByID: %v", err)
	}
	checkSame(t, got, u)
}

func TestCreateBackupDuplicateFilenameConflicts(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	first := &backup.Backup{Filename: "hms_backup_20250314_092653.sql.gz", Status: backup.StatusPending, Source: backup.SourceScheduled}
	if err := c.CreateBackup(ctx, first); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	second := &backup.Backup{Filename: first.Filename, Status: backup.StatusPending, Source: backup.SourceManualCLI}
	err := c.CreateBackup(ctx, second)
	wantCode(t, err, backup.ECONFLICT)
	if second.ID != 0 {
		t.Errorf("failed CreateBackup set ID %d, want 0", second.ID)
	}

	// Renaming another record onto the name conflicts too.
	third := &backup.Backup{Filename: "other.sql.gz", Status: backup.StatusPending, Source: backup.SourceScheduled}
	if err := c.CreateBackup(ctx, third); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	third.Filename = first.Filename
	wantCode(t, c.UpdateBackup(ctx, third), backup.ECONFLICT)
}

func TestMissingBackupIsNotFound(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	_, err := c.FindBackupByID(ctx, 42)
	wantCode(t, err, backup.ENOTFOUND)
	wantCode(t, c.UpdateBackup(ctx, &backup.Backup{ID: 42, Filename: "x.sql.gz", Status: backup.StatusPending, Source: backup.SourceScheduled}), backup.ENOTFOUND)
	wantCode(t, c.DeleteBackup(ctx, 42), backup.ENOTFOUND)

	b := &backup.Backup{Filename: "x.sql.gz", Status: backup.StatusPending, Source: backup.SourceScheduled}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	if err := c.DeleteBackup(ctx, b.ID); err != nil {
		t.Fatalf("DeleteBackup: %v", err)
	}
	_, err = c.FindBackupByID(ctx, b.ID)
	wantCode(t, err, backup.ENOTFOUND)
	wantCode(t, c.DeleteBackup(ctx, b.ID), backup.ENOTFOUND)
}

func TestCreateBackupRejectsInvalidRecords(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	farFuture := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		b    backup.Backup
	}{
		{"empty file name", backup.Backup{Status: backup.StatusPending, Source: backup.SourceScheduled}},
		{"unknown status", backup.Backup{Filename: "a", Status: "running", Source: backup.SourceScheduled}},
		{"unknown source", backup.Backup{Filename: "a", Status: backup.StatusPending, Source: "cron"}},
		{"completion after year 9999", backup.Backup{Filename: "a", Status: backup.StatusPending, Source: backup.SourceScheduled, CompletedAt: &farFuture}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, c.CreateBackup(ctx, &tc.b), backup.EINVALID)
		})
	}
}

func TestFindBackupsFiltersPagesAndCounts(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	// Records i = 0..9: status alternates completed/failed, source is
	// scheduled for i < 6 and manual_cli after; each is one second newer.
	var ids []int64
	for i := range 10 {
		b := &backup.Backup{
			Filename: fmt.Sprintf("b%02d.sql.gz", i),
			Status:   []backup.Status{backup.StatusCompleted, backup.StatusFailed}[i%2],
			Source:   backup.SourceScheduled,
		}
		if i >= 6 {
			b.Source = backup.SourceManualCLI
		}
		if err := c.CreateBackup(ctx, b); err != nil {
			t.Fatalf("CreateBackup: %v", err)
		}
		ids = append(ids, b.ID)
	}
	completed, failed := backup.StatusCompleted, backup.StatusFailed
	scheduled, cli, ui := backup.SourceScheduled, backup.SourceManualCLI, backup.SourceManualUI

	for _, tc := range []struct {
		name      string
		f         backup.BackupFilter
		wantIdx   []int // indexes into ids, in order
		wantTotal int
	}{
		{"all", backup.BackupFilter{}, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 10},
		{"first page", backup.BackupFilter{Limit: 3}, []int{9, 8, 7}, 10},
		{"second page", backup.BackupFilter{Offset: 3, Limit: 3}, []int{6, 5, 4}, 10},
		{"last partial page", backup.BackupFilter{Offset: 9, Limit: 3}, []int{0}, 10},
		{"past the end", backup.BackupFilter{Offset: 20, Limit: 3}, []int{}, 10},
		{"offset without limit", backup.BackupFilter{Offset: 7}, []int{2, 1, 0}, 10},
		{"completed", backup.BackupFilter{Status: &completed}, []int{8, 6, 4, 2, 0}, 5},
		{"failed, paged", backup.BackupFilter{Status: &failed, Offset: 1, Limit: 2}, []int{7, 5}, 5},
		{"manual_cli", backup.BackupFilter{Source: &cli}, []int{9, 8, 7, 6}, 4},
		{"scheduled and completed", backup.BackupFilter{Status: &completed, Source: &scheduled}, []int{4, 2, 0}, 3},
		{"no match", backup.BackupFilter{Source: &ui}, []int{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs, total, err := c.FindBackups(ctx, tc.f)
			if err != nil {
				t.Fatalf("FindBackups: %v", err)
			}
			got := []int64{}
			for _, b := range bs {
				got = append(got, b.ID)
			}
			want := []int64{}
			for _, i := range tc.wantIdx {
				want = append(want, ids[i])
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
			if total != tc.wantTotal {
				t.Errorf("total = %d, want %d", total, tc.wantTotal)
			}
		})
	}

	_, _, err := c.FindBackups(ctx, backup.BackupFilter{Offset: -1})
	wantCode(t, err, backup.EINVALID)
}

func TestFindBackupsBreaksTimeTiesByNewestID(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	c.Now = func() time.Time { return start }
	var ids []int64
	for i := range 3 {
		b := &backup.Backup{Filename: fmt.Sprintf("same-second-%d", i), Status: backup.StatusPending, Source: backup.SourceScheduled}
		if err := c.CreateBackup(ctx, b); err != nil {
			t.Fatalf("CreateBackup: %v", err)
		}
		ids = append(ids, b.ID)
	}
	bs, _, err := c.FindBackups(ctx, backup.BackupFilter{})
	if err != nil {
		t.Fatalf("FindBackups: %v", err)
	}
	var got []int64
	for _, b := range bs {
		got = append(got, b.ID)
	}
	if want := []int64{ids[2], ids[1], ids[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
}

func TestFindBackupsOrdersByInstantAcrossYearsAndFractions(t *testing.T) {
	// Times whose RFC 3339 text would sort wrongly without a fixed-width
	// fraction: a whole second sorts after the same second plus a fraction.
	ctx := t.Context()
	c := openCatalog(t)
	times := []time.Time{
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 100_000_000, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2025, 1, 1, 2, 0, 1, 5, time.FixedZone("CAT", 2*60*60)), // 00:00:01.000000005 UTC
	}
	var ids []int64
	for i, tm := range times {
		c.Now = func() time.Time { return tm }
		b := &backup.Backup{Filename: fmt.Sprintf("t%d", i), Status: backup.StatusPending, Source: backup.SourceScheduled}
		if err := c.CreateBackup(ctx, b); err != nil {
			t.Fatalf("CreateBackup: %v", err)
		}
		ids = append(ids, b.ID)
	}
	bs, _, err := c.FindBackups(ctx, backup.BackupFilter{})
	if err != nil {
		t.Fatalf("FindBackups: %v", err)
	}
	var got []int64
	for _, b := range bs {
		got = append(got, b.ID)
	}
	if want := []int64{ids[3], ids[2], ids[1], ids[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
}

func TestDeletedBackupIDIsNeverReused(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	a := &backup.Backup{Filename: "a", Status: backup.StatusPending, Source: backup.SourceScheduled}
	if err := c.CreateBackup(ctx, a); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	if err := c.DeleteBackup(ctx, a.ID); err != nil {
		t.Fatalf("DeleteBackup: %v", err)
	}
	b := &backup.Backup{Filename: "b", Status: backup.StatusPending, Source: backup.SourceScheduled}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	if b.ID == a.ID {
		t.Errorf("new backup got id %d of a deleted one; its audit entries would be misattributed", b.ID)
	}
}

// genBackup generates any Backup the catalog accepts. Times are in
// assorted zones, with nanoseconds, in years 0-9999.
func genBackup() *rapid.Generator[*backup.Backup] {
	zones := []*time.Location{time.UTC, time.FixedZone("EAT", 3*60*60), time.FixedZone("minus", -(9*60*60 + 30*60))}
	genTime := rapid.Custom(func(t *rapid.T) time.Time {
		sec := rapid.Int64Range(
			time.Date(0, 1, 2, 0, 0, 0, 0, time.UTC).Unix(),
			time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()).Draw(t, "sec")
		nsec := rapid.Int64Range(0, 999_999_999).Draw(t, "nsec")
		return time.Unix(sec, nsec).In(rapid.SampledFrom(zones).Draw(t, "zone"))
	})
	return rapid.Custom(func(t *rapid.T) *backup.Backup {
		return &backup.Backup{
			Filename:          rapid.StringN(1, -1, -1).Draw(t, "filename"),
			FileSize:          rapid.Int64().Draw(t, "file_size"),
			FilePath:          rapid.String().Draw(t, "file_path"),
			GoogleDriveFileID: rapid.String().Draw(t, "google_drive_file_id"),
			Status:            rapid.SampledFrom([]backup.Status{backup.StatusPending, backup.StatusCompleted, backup.StatusFailed}).Draw(t, "status"),
			Source:            rapid.SampledFrom([]backup.Source{backup.SourceManualUI, backup.SourceManualCLI, backup.SourceScheduled, backup.SourcePreRestore}).Draw(t, "source"),
			IsProtected:       rapid.Bool().Draw(t, "is_protected"),
			CreatedBy:         rapid.String().Draw(t, "created_by"),
			CompletedAt:       rapid.Ptr(genTime, true).Draw(t, "completed_at"),
			ErrorMessage:      rapid.String().Draw(t, "error_message"),
			SHA256:            rapid.StringMatching(`[0-9a-f]{0,64}`).Draw(t, "sha256"),
			Compression:       rapid.SampledFrom([]backup.Compression{"", backup.CompressionGzip, backup.CompressionZstd}).Draw(t, "compression"),
			RawSize:           rapid.Int64().Draw(t, "raw_size"),
			DurationMS:        rapid.Int64().Draw(t, "duration_ms"),
			DBEngine:          rapid.String().Draw(t, "db_engine"),
			DBName:            rapid.String().Draw(t, "db_name"),
			IsLocal:           rapid.Bool().Draw(t, "is_local"),
			IsOnGoogleDrive:   rapid.Bool().Draw(t, "is_on_google_drive"),
			S3Key:             rapid.String().Draw(t, "s3_key"),
			IsOnS3:            rapid.Bool().Draw(t, "is_on_s3"),
			Warning:           rapid.String().Draw(t, "warning"),
			Integrity:         rapid.SampledFrom([]backup.Integrity{backup.IntegrityUnverified, backup.IntegrityOK, backup.IntegrityCorrupt, backup.IntegrityMissing}).Draw(t, "integrity"),
			VerifiedAt:        rapid.Ptr(genTime, true).Draw(t, "verified_at"),
			ContentWarning:    rapid.String().Draw(t, "content_warning"),
		}
	})
}

func TestAnyBackupSurvivesCreateAndFindUnchanged(t *testing.T) {
	c, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	seen := map[string]bool{}
	rapid.Check(t, func(rt *rapid.T) {
		b := genBackup().Draw(rt, "backup")
		if seen[b.Filename] {
			rt.Skip("file name already recorded")
		}
		want := *b
		if err := c.CreateBackup(t.Context(), b); err != nil {
			rt.Fatalf("CreateBackup(%+v): %v", want, err)
		}
		seen[b.Filename] = true
		want.ID, want.CreatedAt, want.UpdatedAt = b.ID, b.CreatedAt, b.UpdatedAt
		got, err := c.FindBackupByID(t.Context(), b.ID)
		if err != nil {
			rt.Fatalf("FindBackupByID: %v", err)
		}
		checkSame(rt, got, &want)
	})
}

// Issue 7: UpdateBackup of a copy read before a protect (an upload that
// ran meanwhile) does not undo it, and tells the copy; only SetProtected
// changes is_protected.
func TestStaleUpdateDoesNotUndoProtect(t *testing.T) {
	ctx := t.Context()
	c, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := &backup.Backup{Filename: "hms_backup_20261129_010203.sql.gz", FilePath: "/b/x", Status: backup.StatusPending,
		Source: backup.SourceScheduled, CreatedBy: "scheduler", Compression: backup.CompressionGzip, DBEngine: "mysql", DBName: "hms"}
	if err := c.CreateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	stale, err := c.FindBackupByID(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetProtected(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	stale.IsOnS3, stale.S3Key = true, stale.Filename
	if err := c.UpdateBackup(ctx, stale); err != nil {
		t.Fatal(err)
	}
	got, err := c.FindBackupByID(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IsProtected || !got.IsOnS3 || !stale.IsProtected {
		t.Errorf("after a stale update: protected %v (copy says %v), on S3 %v; want protected, on S3", got.IsProtected, stale.IsProtected, got.IsOnS3)
	}
	if err := c.SetProtected(ctx, b.ID+100, true); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("SetProtected of a missing record: %v, want ENOTFOUND", err)
	}
}
