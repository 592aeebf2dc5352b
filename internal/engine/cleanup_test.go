package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/retention"
)

// clock is a settable time for the engine and the catalog, so that
// backups can be taken on the days a test needs.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// withClock makes f's engine and catalog read the time from the returned
// clock.
func (f *fixture) withClock(start time.Time) *clock {
	c := &clock{t: start}
	f.eng.Now, f.cat.Now = c.now, c.now
	return c
}

// createAt takes a backup as if at ts.
func (f *fixture) createAt(t tb, c *clock, ts time.Time) *backup.Backup {
	t.Helper()
	c.set(ts)
	return f.create(t)
}

func (f *fixture) setPolicy(t tb, p retention.Policy, zone string) {
	t.Helper()
	s := backup.DefaultSettings()
	s.RetentionDaily, s.RetentionWeekly, s.RetentionMonthly, s.Timezone = p.Daily, p.Weekly, p.Monthly, zone
	if err := f.cat.SaveSettings(context.Background(), s); err != nil {
		t.Fatalf("save settings: %v", err)
	}
}

func (f *fixture) ids(t tb, status backup.Status) []int64 {
	t.Helper()
	bs, _, err := f.cat.FindBackups(context.Background(), backup.BackupFilter{Status: &status})
	if err != nil {
		t.Fatalf("find backups: %v", err)
	}
	var ids []int64
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	slices.Sort(ids)
	return ids
}

func decisionIDs(ds []retention.Decision) []int64 {
	var ids []int64
	for _, d := range ds {
		ids = append(ids, d.Backup.ID)
	}
	slices.Sort(ids)
	return ids
}

func day(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

// nightly takes one backup at 02:00 UTC on each of n days ending on last.
func (f *fixture) nightly(t tb, c *clock, last time.Time, n int) []*backup.Backup {
	t.Helper()
	var out []*backup.Backup
	for i := n - 1; i >= 0; i-- {
		out = append(out, f.createAt(t, c, last.AddDate(0, 0, -i)))
	}
	return out
}

func TestCleanupDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	n := &recordingNotifier{}
	f.eng.Notifier = n
	c := f.withClock(day(2026, 11, 1, 2))
	bs := f.nightly(t, c, day(2026, 11, 10, 2), 10)
	f.setPolicy(t, retention.Policy{Daily: 3}, "")
	filesBefore := f.backupDirFiles(t)

	res, err := f.eng.Cleanup(context.Background(), engine.CleanupRequest{Actor: alice, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.Deleted) != 7 || len(res.Kept) != 3 || res.Timezone != "UTC" || res.Policy != (retention.Policy{Daily: 3}) {
		t.Fatalf("dry run: %d deleted, %d kept, zone %s, policy %v; want 7 and 3 in UTC", len(res.Deleted), len(res.Kept), res.Timezone, res.Policy)
	}
	if got, want := decisionIDs(res.Kept), []int64{bs[7].ID, bs[8].ID, bs[9].ID}; !slices.Equal(got, want) {
		t.Errorf("would keep %v, want %v", got, want)
	}
	if got := f.backupDirFiles(t); !slices.Equal(got, filesBefore) {
		t.Errorf("dry run changed the backup directory: %v, was %v", got, filesBefore)
	}
	if got := f.ids(t, backup.StatusCompleted); len(got) != 10 {
		t.Errorf("dry run left %d records, want 10", len(got))
	}
	if a := f.audit(t, backup.ActionDelete); len(a) != 0 {
		t.Errorf("dry run wrote delete audit entries: %v", a)
	}
	if a := f.audit(t, backup.ActionCleanup); len(a) != 0 {
		t.Errorf("dry run wrote a cleanup audit entry: %v", a)
	}
	if len(n.kinds()) != 0 {
		t.Errorf("dry run notified: %v", n.kinds())
	}
}

func TestCleanupDeletesFilesAndRecordsAsRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.withClock(day(2026, 11, 1, 2))
	bs := f.nightly(t, c, day(2026, 11, 10, 2), 10)
	if _, err := f.eng.SetProtected(ctx, bs[0].ID, true, alice); err != nil {
		t.Fatal(err)
	}
	f.setPolicy(t, retention.Policy{Daily: 3}, "")

	res, err := f.eng.Cleanup(ctx, engine.CleanupRequest{Actor: alice})
	if err != nil {
		t.Fatal(err)
	}
	var wantDeleted []int64
	for _, b := range bs[1:7] {
		wantDeleted = append(wantDeleted, b.ID)
	}
	if got := decisionIDs(res.Deleted); !slices.Equal(got, wantDeleted) {
		t.Fatalf("deleted %v, want %v", got, wantDeleted)
	}
	if got, want := decisionIDs(res.Kept), []int64{bs[0].ID, bs[7].ID, bs[8].ID, bs[9].ID}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v (the protected one and the 3 newest days)", got, want)
	}
	if len(res.Failed) != 0 {
		t.Errorf("failed: %+v", res.Failed)
	}
	for _, b := range bs[1:7] {
		if _, err := os.Stat(b.FilePath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("file of deleted backup %d still there: %v", b.ID, err)
		}
		if _, err := f.cat.FindBackupByID(ctx, b.ID); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("record of deleted backup %d still there: %v", b.ID, err)
		}
	}
	for _, b := range []*backup.Backup{bs[0], bs[7], bs[8], bs[9]} {
		if _, err := os.Stat(b.FilePath); err != nil {
			t.Errorf("file of kept backup %d: %v", b.ID, err)
		}
	}
	deletes := f.audit(t, backup.ActionDelete)
	if len(deletes) != 6 {
		t.Fatalf("%d delete audit entries, want 6", len(deletes))
	}
	for _, a := range deletes {
		if a.Actor != engine.RetentionActorName || a.Outcome != "success" || !strings.Contains(a.Details, "no rule keeps it") || !strings.Contains(a.Details, "requested by cli:alice") {
			t.Errorf("delete audit entry %+v, want actor retention, success, the reason and who asked", a)
		}
	}
	if a := f.audit(t, backup.ActionCleanup); len(a) != 1 || a[0].Actor != alice.Name || !strings.Contains(a[0].Details, "deleted 6") {
		t.Errorf("cleanup audit %+v, want one entry by cli:alice saying deleted 6", a)
	}
	// A second run finds nothing more to delete.
	res, err = f.eng.Cleanup(ctx, engine.CleanupRequest{Actor: alice})
	if err != nil || len(res.Deleted) != 0 || len(res.Kept) != 4 {
		t.Errorf("second run: %v, deleted %d, kept %d", err, len(res.Deleted), len(res.Kept))
	}
}

func TestCleanupWithNoLimitsKeepsEverything(t *testing.T) {
	f := newFixture(t)
	c := f.withClock(day(2026, 11, 1, 2))
	f.nightly(t, c, day(2026, 11, 10, 2), 5)
	f.setPolicy(t, retention.Policy{}, "")
	res, err := f.eng.Cleanup(context.Background(), engine.CleanupRequest{Actor: alice})
	if err != nil || len(res.Deleted) != 0 || len(res.Kept) != 5 || len(f.ids(t, backup.StatusCompleted)) != 5 {
		t.Fatalf("no limits: %v, deleted %d, kept %d", err, len(res.Deleted), len(res.Kept))
	}
}

// memRemote is an off-site Storage in memory whose Delete refuses the
// names in refuse, as a remote that forbids it would.
type memRemote struct {
	mu     sync.Mutex
	files  map[string][]byte
	refuse map[string]bool
}

var _ backup.Storage = (*memRemote)(nil)

func newMemRemote() *memRemote {
	return &memRemote{files: map[string][]byte{}, refuse: map[string]bool{}}
}

func (m *memRemote) Put(_ context.Context, name string, r io.Reader) (int64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[name] = b
	return int64(len(b)), nil
}

func (m *memRemote) Open(_ context.Context, name string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	if !ok {
		return nil, backup.Errorf(backup.ENOTFOUND, "%s not found", name)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memRemote) Stat(_ context.Context, name string) (backup.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	if !ok {
		return backup.FileInfo{}, backup.Errorf(backup.ENOTFOUND, "%s not found", name)
	}
	return backup.FileInfo{Name: name, Size: int64(len(b))}, nil
}

func (m *memRemote) List(_ context.Context, prefix string) ([]backup.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []backup.FileInfo
	for name, b := range m.files {
		if strings.HasPrefix(name, prefix) {
			out = append(out, backup.FileInfo{Name: name, Size: int64(len(b))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memRemote) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refuse[name] {
		return backup.Errorf(backup.EUNAVAILABLE, "AccessDenied: deleting %s is not allowed", name)
	}
	delete(m.files, name)
	return nil
}

func (m *memRemote) has(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.files[name]
	return ok
}

func TestCleanupGoesOnWhenOneDeleteFailsAndSaysSo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	remote := newMemRemote()
	n := &recordingNotifier{}
	f.eng.Remotes = []engine.Remote{{Kind: engine.RemoteS3, Storage: remote}}
	f.eng.Notifier = n
	c := f.withClock(day(2026, 11, 1, 2))
	bs := f.nightly(t, c, day(2026, 11, 6, 2), 6)
	refused := bs[2]
	remote.refuse[refused.Filename] = true
	f.setPolicy(t, retention.Policy{Daily: 2}, "")

	res, err := f.eng.Cleanup(ctx, engine.CleanupRequest{Actor: alice})
	if err == nil || !strings.Contains(err.Error(), "could not delete 1 backup") || !strings.Contains(err.Error(), refused.Filename) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("cleanup error %v, want one naming backup %d and the remote's refusal", err, refused.ID)
	}
	if res == nil {
		t.Fatal("no result with a partial failure")
	}
	if got, want := decisionIDs(res.Deleted), []int64{bs[0].ID, bs[1].ID, bs[3].ID}; !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v: one refusal must not stop the others", got, want)
	}
	if len(res.Failed) != 1 || res.Failed[0].Backup.ID != refused.ID || !strings.Contains(res.Failed[0].Error, "AccessDenied") || !strings.Contains(res.Failed[0].Why, "no rule keeps it") {
		t.Fatalf("failed %+v, want backup %d with the error and why it was to go", res.Failed, refused.ID)
	}
	for _, b := range []*backup.Backup{bs[0], bs[1], bs[3]} {
		if _, err := os.Stat(b.FilePath); !errors.Is(err, os.ErrNotExist) || remote.has(b.Filename) {
			t.Errorf("backup %d: local %v, remote %v; want both gone", b.ID, err, remote.has(b.Filename))
		}
	}
	rec, err := f.cat.FindBackupByID(ctx, refused.ID)
	if err != nil || !strings.Contains(rec.Warning, "could not be deleted") {
		t.Errorf("refused backup's record: %v, warning %q; want it kept with the reason", err, rec.Warning)
	}
	if _, err := os.Stat(refused.FilePath); err != nil {
		t.Errorf("the refused backup's local file is gone (%v) although its remote copy stays", err)
	}
	if k := n.kinds(); len(k) != 1 || k[0] != backup.NotifyCleanupFailed || !strings.Contains(n.sent[0].Message, refused.Filename) {
		t.Errorf("notifications %v, want one cleanup_failed naming %s", k, refused.Filename)
	}
	var failedAudit int
	for _, a := range f.audit(t, backup.ActionDelete) {
		if a.Outcome == "failure" && a.Actor == engine.RetentionActorName && *a.BackupID == refused.ID {
			failedAudit++
		}
	}
	if failedAudit != 1 {
		t.Errorf("%d failure audit entries for the refused delete, want 1", failedAudit)
	}
}

func TestCleanupPrunesFailedRecordsOlderThan30Days(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := day(2026, 11, 30, 12)
	c := f.withClock(now)
	f.db.dumpErr = errors.New("mysqldump: Lost connection")
	failedAt := func(ts time.Time) *backup.Backup {
		c.set(ts)
		b, err := f.eng.CreateBackup(ctx, engine.CreateRequest{Source: backup.SourceScheduled, Actor: alice})
		if err == nil || b == nil || b.Status != backup.StatusFailed {
			t.Fatalf("want a failed backup, got %v, %v", b, err)
		}
		return b
	}
	old := failedAt(now.Add(-31 * 24 * time.Hour))
	recent := failedAt(now.Add(-29 * 24 * time.Hour))
	f.db.dumpErr = nil
	good := f.createAt(t, c, now.Add(-40*24*time.Hour))
	c.set(now)

	res, err := f.eng.Cleanup(ctx, engine.CleanupRequest{Actor: alice, DryRun: true})
	if err != nil || !slices.Equal(decisionIDs(res.Pruned), []int64{old.ID}) {
		t.Fatalf("dry run: %v, would prune %v, want [%d]", err, decisionIDs(res.Pruned), old.ID)
	}
	if got := f.ids(t, backup.StatusFailed); len(got) != 2 {
		t.Fatalf("dry run pruned: %v left", got)
	}
	res, err = f.eng.Cleanup(ctx, engine.CleanupRequest{Actor: alice})
	if err != nil || !slices.Equal(decisionIDs(res.Pruned), []int64{old.ID}) || !strings.Contains(res.Pruned[0].Why, "older than 30 days") {
		t.Fatalf("cleanup: %v, pruned %+v, want [%d] older than 30 days", err, res.Pruned, old.ID)
	}
	if got := f.ids(t, backup.StatusFailed); !slices.Equal(got, []int64{recent.ID}) {
		t.Errorf("failed records left %v, want only the recent one %d", got, recent.ID)
	}
	// The old completed backup is the newest completed one: kept.
	if got := f.ids(t, backup.StatusCompleted); !slices.Equal(got, []int64{good.ID}) {
		t.Errorf("completed records %v, want [%d]", got, good.ID)
	}
}

func TestCleanupUsesTheSettingsTimeZone(t *testing.T) {
	f := newFixture(t)
	c := f.withClock(day(2026, 6, 10, 12))
	// 08:00 and 23:30 on 2026-06-10 in New York; 23:30 is 03:30 UTC on the 11th.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	morning := f.createAt(t, c, time.Date(2026, 6, 10, 8, 0, 0, 0, ny))
	night := f.createAt(t, c, time.Date(2026, 6, 10, 23, 30, 0, 0, ny))
	f.setPolicy(t, retention.Policy{Daily: 2}, "America/New_York")
	res, err := f.eng.Cleanup(context.Background(), engine.CleanupRequest{Actor: alice, DryRun: true})
	if err != nil || res.Timezone != "America/New_York" || !slices.Equal(decisionIDs(res.Deleted), []int64{morning.ID}) {
		t.Fatalf("New York: %v, zone %s, deletes %v; want the morning backup %d (same New York day as %d)", err, res.Timezone, decisionIDs(res.Deleted), morning.ID, night.ID)
	}
	// Without a zone in the settings, the engine's (UTC here) decides.
	f.setPolicy(t, retention.Policy{Daily: 2}, "")
	if res, err = f.eng.Cleanup(context.Background(), engine.CleanupRequest{Actor: alice, DryRun: true}); err != nil || len(res.Deleted) != 0 || res.Timezone != "UTC" {
		t.Fatalf("UTC: %v, zone %s, deletes %v; want nothing (two UTC days)", err, res.Timezone, decisionIDs(res.Deleted))
	}
}

func TestCleanupWaitsForARunningOperation(t *testing.T) {
	f := newFixture(t)
	n := &recordingNotifier{}
	f.eng.Notifier = n
	c := f.withClock(day(2026, 11, 1, 2))
	f.nightly(t, c, day(2026, 11, 5, 2), 5)
	f.setPolicy(t, retention.Policy{Daily: 1}, "")
	l, err := f.eng.Locker.Acquire(context.Background(), f.db.Info().Key, "backup of database hms", 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.eng.Cleanup(context.Background(), engine.CleanupRequest{Actor: alice})
	if backup.ErrorCode(err) != backup.EBUSY || res != nil || !strings.Contains(err.Error(), "backup of database hms") {
		t.Errorf("cleanup during a backup: %v, %v; want EBUSY naming the backup and no result", res, err)
	}
	if got := f.ids(t, backup.StatusCompleted); len(got) != 5 {
		t.Errorf("%d backups left, want all 5", len(got))
	}
	if k := n.kinds(); len(k) != 1 || k[0] != backup.NotifyCleanupFailed {
		t.Errorf("notifications %v, want one cleanup_failed", k)
	}
	l.Release()
	if res, err := f.eng.Cleanup(context.Background(), engine.CleanupRequest{Actor: alice}); err != nil || len(res.Deleted) != 4 {
		t.Errorf("after the backup: %v, deleted %d, want 4", err, len(res.Deleted))
	}
}

func TestCleanupRefusesAnUnknownTimeZone(t *testing.T) {
	f := newFixture(t)
	f.setPolicy(t, retention.Policy{Daily: 1}, "Mars/Olympus")
	if _, err := f.eng.Cleanup(context.Background(), engine.CleanupRequest{Actor: alice}); backup.ErrorCode(err) != backup.EINVALID || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("cleanup with zone Mars/Olympus: %v, want EINVALID naming it", err)
	}
}

// Property 14 through the engine: on a real catalog and backup directory,
// whatever the history, the protections and the policy, Engine.Cleanup
// never deletes a protected backup nor the newest completed one; it
// deletes exactly what retention.Plan does not keep (files and records),
// and keeps the rest intact.
func TestProperty14CleanupNeverDeletesProtectedOrNewest(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(rt *rapid.T) {
		t := newCase(rt)
		defer t.done()
		f := newFixture(t)
		ctx := context.Background()
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, ny).AddDate(0, 0, rapid.IntRange(0, 330).Draw(rt, "startDay"))
		c := f.withClock(start)
		p := retention.Policy{Daily: rapid.IntRange(0, 5).Draw(rt, "daily"), Weekly: rapid.IntRange(0, 3).Draw(rt, "weekly"), Monthly: rapid.IntRange(0, 3).Draw(rt, "monthly")}
		f.setPolicy(t, p, "America/New_York")

		ts := start
		rounds := rapid.IntRange(1, 3).Draw(rt, "rounds")
		for round := 0; round < rounds; round++ {
			n := rapid.IntRange(1, 12).Draw(rt, "backups")
			for i := 0; i < n; i++ {
				// Minutes to weeks apart: several a day, and gaps.
				ts = ts.Add(time.Duration(rapid.SampledFrom([]int{1, 30, 6 * 60, 23 * 60, 25 * 60, 3 * 24 * 60, 10 * 24 * 60}).Draw(rt, "gapMinutes")) * time.Minute)
				b := f.createAt(t, c, ts)
				if rapid.IntRange(0, 3).Draw(rt, "protect") == 0 {
					if _, err := f.eng.SetProtected(ctx, b.ID, true, alice); err != nil {
						rt.Fatal(err)
					}
				}
			}
			before, _, err := f.cat.FindBackups(ctx, backup.BackupFilter{})
			if err != nil {
				rt.Fatal(err)
			}
			var wantDeleted []int64
			for _, d := range retention.Plan(before, p, ny) {
				if !d.Keep {
					wantDeleted = append(wantDeleted, d.Backup.ID)
				}
			}
			slices.Sort(wantDeleted)

			res, err := f.eng.Cleanup(ctx, engine.CleanupRequest{Actor: alice})
			if err != nil {
				rt.Fatalf("cleanup: %v", err)
			}
			if got := decisionIDs(res.Deleted); !slices.Equal(got, wantDeleted) {
				rt.Fatalf("round %d: deleted %v, plan %v", round, got, wantDeleted)
			}
			for i, b := range before {
				_, recErr := f.cat.FindBackupByID(ctx, b.ID)
				_, fileErr := os.Stat(b.FilePath)
				gone := slices.Contains(wantDeleted, b.ID)
				switch {
				case b.IsProtected && gone:
					rt.Fatalf("protected backup %d deleted", b.ID)
				case i == 0 && gone:
					rt.Fatalf("newest completed backup %d deleted", b.ID)
				case gone && (!errors.Is(recErr, backup.ErrNotFound) || !errors.Is(fileErr, os.ErrNotExist)):
					rt.Fatalf("deleted backup %d: record %v, file %v; want both gone", b.ID, recErr, fileErr)
				case !gone && (recErr != nil || fileErr != nil):
					rt.Fatalf("kept backup %d: record %v, file %v", b.ID, recErr, fileErr)
				}
			}
			ts = ts.Add(time.Duration(rapid.IntRange(0, 40*24).Draw(rt, "pauseHours")) * time.Hour)
		}
	})
}
