package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/queue"
)

// Issue 9's speed: each page renders in under 50 ms of server time with
// 10,000 backups (and more than 10,000 audit entries) in the catalog.
//
//	go test -run '^$' -bench BenchmarkPages -benchtime 200x ./internal/web
//
// Each sub-benchmark sends one signed-in request straight to
// Server.Handler (no network): the session lookup and save, the catalog
// queries, the status strip (the same queries as serve's), the audit
// entry the page writes, and the template. ns/op is the server time of a
// page; the figures are in docs/BENCHMARKS.md.
func BenchmarkPages(b *testing.B) {
	ts := newTestServer(b)
	admin := ts.addUser("alice", "admin")
	ctx := context.Background()
	// 9,999 seeded and 1 by a real job: 10,000, the last of 200 pages full.
	const backups, audits = 9_999, 12_000
	start := time.Now()
	ids := seedBackups(b, ts, backups)
	detail := ids[len(ids)/2]
	seedAudit(b, ts, ids, detail, audits)
	job, _, err := ts.Queue.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceManualUI, Actor: "alice"})
	if err != nil {
		b.Fatal(err)
	}
	ts.waitJob(job)
	// The queue's polling is not part of a page; stop it so it does not
	// take CPU from the pages.
	if err := ts.Queue.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	ts.Server.cfg.Status = serveLikeStatus(ts)
	b.Logf("seeded %d backups and %d audit entries in %s", backups+1, audits, time.Since(start).Round(time.Millisecond))

	h := ts.Server.Handler(nil)
	u, _ := url.Parse(ts.URL)
	cookies := admin.Browser.Jar.Cookies(u)
	last := (backups + 1 + pageSize - 1) / pageSize
	for _, c := range []struct{ name, path string }{
		{"list-first", "/backups"},
		{"list-last", "/backups?page=" + strconv.Itoa(last)},
		{"detail", "/backups/" + strconv.FormatInt(detail, 10)},
		{"job", "/jobs/" + strconv.FormatInt(job, 10)},
		{"json-list-first", "/api/v1/backups"},
		{"json-list-last", "/api/v1/backups?page=" + strconv.Itoa(last)},
		{"audit", "/audit"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var bytes int
			for b.Loop() {
				req := httptest.NewRequest("GET", c.path, nil)
				if strings.HasPrefix(c.name, "json") {
					req.Header.Set("Authorization", "Bearer "+admin.Token)
				} else {
					for _, k := range cookies {
						req.AddCookie(k)
					}
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", c.path, rec.Code, rec.Body.String())
				}
				bytes = rec.Body.Len()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
			b.ReportMetric(float64(bytes)/1024, "KiB/page")
		})
	}
}

// seedBackups inserts n completed, failed and pending backups, one an
// hour back from now, with every kind of location, and returns their ids.
func seedBackups(b *testing.B, ts *testServer, n int) []int64 {
	ctx := context.Background()
	defer func() { ts.Catalog.Now = nil }()
	ids := make([]int64, 0, n)
	t0 := time.Now().Add(-time.Duration(n) * time.Hour)
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Hour)
		ts.Catalog.Now = func() time.Time { return at }
		bk := &backup.Backup{Filename: fmt.Sprintf("hms_backup_bench_%05d.sql.gz", i), Status: backup.StatusCompleted,
			Source: backup.SourceScheduled, FileSize: int64(50<<20 + i*1000), RawSize: int64(400<<20 + i), CreatedBy: "scheduler",
			Compression: backup.CompressionGzip, DBEngine: "sqlite", DBName: "hms", IsLocal: i%3 != 0, DurationMS: 12_000,
			SHA256: fmt.Sprintf("%064x", i), IsProtected: i%97 == 0}
		if i%2 == 0 {
			bk.IsOnGoogleDrive, bk.GoogleDriveFileID = true, fmt.Sprintf("drive-%d", i)
		}
		if i%5 == 0 {
			bk.IsOnS3, bk.S3Key = true, "hms/"+bk.Filename
		}
		switch {
		case i%50 == 7:
			bk.Status, bk.ErrorMessage, bk.FileSize = backup.StatusFailed, "dump failed: the database went away", 0
		case i == n-3:
			bk.Status, bk.FileSize = backup.StatusPending, 0
		default:
			c := at.Add(12 * time.Second)
			bk.CompletedAt = &c
		}
		if err := ts.Catalog.CreateBackup(ctx, bk); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, bk.ID)
	}
	return ids
}

// seedAudit adds n audit entries: 300 about backup detail (more than
// the detail page's 200), the rest spread over the backups, sign-ins and
// lists.
func seedAudit(b *testing.B, ts *testServer, ids []int64, detail int64, n int) {
	ctx := context.Background()
	uid := int64(1)
	for i := range n {
		e := &backup.AuditEntry{Actor: "alice", UserID: &uid, Action: backup.ActionDownload, Outcome: "success",
			Details: "download hms_backup_bench.sql.gz", SourceAddress: "10.0.0.7", UserAgent: "Mozilla/5.0 (bench)"}
		switch {
		case i < 300:
			e.BackupID = &detail
		case i%4 == 0:
			e.Action, e.Details, e.BackupID = backup.ActionSignIn, "sign in", nil
		case i%4 == 1:
			e.Action, e.Details, e.BackupID = ActionList, "list backups, page 1", nil
		default:
			id := ids[i%len(ids)]
			e.BackupID = &id
		}
		if err := ts.Catalog.AddAuditEntry(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// serveLikeStatus is the status strip as `hmsbackup serve` computes it
// (cmd/hmsbackup's app.status): the settings, the newest good backup,
// the last failure, the queue's depth.
func serveLikeStatus(ts *testServer) StatusFunc {
	return func(ctx context.Context) (*Status, error) {
		s, err := ts.Catalog.Settings(ctx)
		if err != nil {
			return nil, err
		}
		st := &Status{OK: true, MaxBackupAge: time.Duration(s.MaxBackupAge).String()}
		completed, failed := backup.StatusCompleted, backup.StatusFailed
		for off := 0; st.NewestGood == nil; off += 100 {
			bs, _, err := ts.Catalog.FindBackups(ctx, backup.BackupFilter{Status: &completed, Limit: 100, Offset: off})
			if err != nil {
				return nil, err
			}
			for _, b := range bs {
				if b.Good() {
					st.NewestGood = b
					break
				}
			}
			if len(bs) < 100 {
				break
			}
		}
		if fs, _, err := ts.Catalog.FindBackups(ctx, backup.BackupFilter{Status: &failed, Limit: 1}); err == nil && len(fs) == 1 {
			st.LastFailure = fs[0]
		}
		if st.QueuedJobs, err = ts.Queue.Depth(ctx); err != nil {
			return nil, err
		}
		return st, nil
	}
}

// BenchmarkDownload streams a 256 MiB backup through GET
// /backups/{id}/download over a real loopback connection, next to
// reading the same file with io.Copy, with cat (both from the page cache)
// and with dd iflag=direct (from the disk): MB/s, and the peak of the
// heap while it streams (flat: it does not grow with the file).
//
//	go test -run '^$' -bench BenchmarkDownload -benchtime 5x ./internal/web
func BenchmarkDownload(b *testing.B) {
	ts := newTestServer(b)
	admin := ts.addUser("alice", "admin")
	const size = 256 << 20
	name := "hms_backup_bench_download.sql.gz"
	path := filepath.Join(ts.Dir, "backups", name)
	sum := writeRandomFile(b, path, size)
	bk := &backup.Backup{Filename: name, FilePath: path, Status: backup.StatusCompleted, Source: backup.SourceManualCLI,
		FileSize: size, SHA256: sum, IsLocal: true, Compression: backup.CompressionGzip, DBEngine: "sqlite", DBName: "hms", CreatedBy: "bench"}
	if err := ts.Catalog.CreateBackup(context.Background(), bk); err != nil {
		b.Fatal(err)
	}
	if err := ts.Queue.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
	link := ts.URL + "/backups/" + strconv.FormatInt(bk.ID, 10) + "/download"

	b.Run("http", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		peak := watchHeap(b)
		for b.Loop() {
			res, err := admin.Browser.Get(link)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || n != size || res.StatusCode != http.StatusOK {
				b.Fatalf("download: %d, %d bytes, %v", res.StatusCode, n, err)
			}
		}
		peak()
	})
	b.Run("io.Copy-file", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		peak := watchHeap(b)
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, f)
			f.Close()
			if err != nil || n != size {
				b.Fatalf("read: %d bytes, %v", n, err)
			}
		}
		peak()
	})
	b.Run("cat", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			cmd := exec.Command("sh", "-c", `cat "$1" > /dev/null`, "cat", path)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("cat: %v %s", err, out)
			}
		}
	})
	// The file is in the page cache above; O_DIRECT reads the disk itself.
	b.Run("dd-direct-disk", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			cmd := exec.Command("dd", "if="+path, "of=/dev/null", "bs=4M", "iflag=direct", "status=none")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("dd: %v %s", err, out)
			}
		}
	})
}

func writeRandomFile(b *testing.B, path string, size int) string {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= len(buf) {
		rand.Read(buf)
		f.Write(buf)
		h.Write(buf)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// watchHeap samples the heap in use while the benchmark runs; the
// returned func stops and reports the peak above the start, in MiB.
func watchHeap(b *testing.B) func() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peakBytes atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > base && ms.HeapInuse-base > peakBytes.Load() {
					peakBytes.Store(ms.HeapInuse - base)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		b.ReportMetric(float64(peakBytes.Load())/(1<<20), "peak-heap-MiB")
	}
}
