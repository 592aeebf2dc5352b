// Package storagetest is the conformance suite every backup.Storage passes:
// call Run from the implementation's tests with a constructor of fresh,
// empty storages.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Options tune the suite to a backend.
type Options struct {
	// ChunkSize is the backend's upload chunk (resumable/multipart part);
	// the suite uploads files spanning several. Default 1 MiB.
	ChunkSize int
}

// Run checks the backup.Storage contract on storages made by newStorage,
// which must return an empty storage each time.
func Run(t *testing.T, newStorage func(t *testing.T) backup.Storage, opts Options) {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 1 << 20
	}
	ctx := context.Background()

	t.Run("RoundTripOfSeveralChunks", func(t *testing.T) {
		s := newStorage(t)
		data := randomBytes(t, 2*opts.ChunkSize+opts.ChunkSize/3)
		put(t, s, "hms_backup_1.sql.gz", data)
		if got := get(t, s, "hms_backup_1.sql.gz"); !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes, want the %d written", len(got), len(data))
		}
		fi, err := s.Stat(ctx, "hms_backup_1.sql.gz")
		if err != nil || fi.Size != int64(len(data)) || fi.Name != "hms_backup_1.sql.gz" {
			t.Fatalf("Stat: %+v, %v; want size %d", fi, err, len(data))
		}
	})

	t.Run("EmptyFile", func(t *testing.T) {
		s := newStorage(t)
		put(t, s, "empty", nil)
		if got := get(t, s, "empty"); len(got) != 0 {
			t.Fatalf("read back %d bytes, want 0", len(got))
		}
	})

	t.Run("OverwriteReplaces", func(t *testing.T) {
		s := newStorage(t)
		put(t, s, "f", []byte("first version, longer than the second"))
		put(t, s, "f", []byte("second"))
		if got := string(get(t, s, "f")); got != "second" {
			t.Fatalf("after overwrite got %q, want %q", got, "second")
		}
		if list := mustList(t, s, ""); len(list) != 1 {
			t.Fatalf("after overwrite List has %d files, want 1", len(list))
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStorage(t)
		if _, err := s.Open(ctx, "missing"); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("Open(missing): %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, "missing"); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("Stat(missing): %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteIsIdempotent", func(t *testing.T) {
		s := newStorage(t)
		put(t, s, "d", []byte("x"))
		for i := 0; i < 2; i++ {
			if err := s.Delete(ctx, "d"); err != nil {
				t.Fatalf("Delete #%d: %v", i+1, err)
			}
		}
		if _, err := s.Stat(ctx, "d"); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "never-existed"); err != nil {
			t.Errorf("Delete(never-existed): %v, want nil", err)
		}
	})

	t.Run("ListByPrefixAcrossPages", func(t *testing.T) {
		s := newStorage(t)
		// More files than a backend's usual small test page size.
		const n = 25
		for i := 0; i < n; i++ {
			put(t, s, fmt.Sprintf("hms_backup_%02d.sql.gz", i), []byte{byte(i)})
		}
		put(t, s, "other_file", []byte("x"))
		list := mustList(t, s, "hms_backup_")
		if len(list) != n {
			t.Fatalf("List(prefix) returned %d files, want %d", len(list), n)
		}
		for i, fi := range list {
			if want := fmt.Sprintf("hms_backup_%02d.sql.gz", i); fi.Name != want || fi.Size != 1 {
				t.Fatalf("List[%d] = %+v, want %s of size 1 (sorted by name)", i, fi, want)
			}
		}
		if all := mustList(t, s, ""); len(all) != n+1 {
			t.Errorf("List(\"\") returned %d files, want %d", len(all), n+1)
		}
	})

	t.Run("UnicodeNames", func(t *testing.T) {
		s := newStorage(t)
		name := "hms_backup_Zoë_病院_🏥.sql.gz"
		put(t, s, name, []byte("unicode"))
		if got := string(get(t, s, name)); got != "unicode" {
			t.Fatalf("got %q", got)
		}
		if list := mustList(t, s, "hms_backup_Zoë"); len(list) != 1 || list[0].Name != name {
			t.Fatalf("List: %+v", list)
		}
	})

	t.Run("InvalidNamesAreRefused", func(t *testing.T) {
		s := newStorage(t)
		for _, name := range []string{"", "../escape", "a/b", `a\b`, ".hidden"} {
			if _, err := s.Put(ctx, name, bytes.NewReader([]byte("x"))); !errors.Is(err, backup.ErrInvalid) {
				t.Errorf("Put(%q): %v, want ErrInvalid", name, err)
			}
		}
		if list := mustList(t, s, ""); len(list) != 0 {
			t.Errorf("refused names left files: %+v", list)
		}
	})

	t.Run("FailingReaderLeavesNothing", func(t *testing.T) {
		s := newStorage(t)
		boom := errors.New("the dump tool died")
		r := io.MultiReader(bytes.NewReader(randomBytes(t, opts.ChunkSize+10)), errReader{boom})
		if _, err := s.Put(ctx, "broken", r); !errors.Is(err, boom) {
			t.Fatalf("Put with failing reader: %v, want the reader's error", err)
		}
		if _, err := s.Stat(ctx, "broken"); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("a failed Put left a file: Stat = %v", err)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStorage(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, "cancelled", bytes.NewReader([]byte("x"))); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with cancelled context: %v, want context.Canceled", err)
		}
		if _, err := s.Stat(ctx, "cancelled"); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("a cancelled Put left a file: Stat = %v", err)
		}
	})

	t.Run("ConcurrentPuts", func(t *testing.T) {
		s := newStorage(t)
		const n = 8
		want := make([][]byte, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			want[i] = randomBytes(t, opts.ChunkSize/2+i)
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, err := s.Put(ctx, fmt.Sprintf("c%d", i), bytes.NewReader(want[i])); err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Put: %v", err)
		}
		for i := 0; i < n; i++ {
			if got := get(t, s, fmt.Sprintf("c%d", i)); !bytes.Equal(got, want[i]) {
				t.Fatalf("file c%d: %d bytes, want %d", i, len(got), len(want[i]))
			}
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, s backup.Storage, name string, data []byte) {
	t.Helper()
	n, err := s.Put(context.Background(), name, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%q) stored %d bytes, want %d", name, n, len(data))
	}
}

func get(t *testing.T, s backup.Storage, name string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return data
}

func mustList(t *testing.T, s backup.Storage, prefix string) []backup.FileInfo {
	t.Helper()
	list, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return list
}
