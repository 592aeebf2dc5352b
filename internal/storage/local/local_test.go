package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/storage/local"
	"github.com/hmsbackup/hmsbackup/internal/storage/storagetest"
)

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestPutIsAtomicAndPrivate(t *testing.T) {
	ctx := context.Background()
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 3<<20)
	n, err := s.Put(ctx, "hms_backup_1.sql.gz", bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put: %d, %v", n, err)
	}
	fi, err := os.Stat(s.Path("hms_backup_1.sql.gz"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v, mode %v; want 0600", err, fi.Mode())
	}
	r, err := s.Open(ctx, "hms_backup_1.sql.gz")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(data))
	}

	// A reader that fails leaves nothing behind, not even a temp file.
	boom := errors.New("dump died")
	if _, err := s.Put(ctx, "hms_backup_2.sql.gz", &failingReader{data: data, err: boom}); !errors.Is(err, boom) {
		t.Fatalf("Put with failing reader: %v, want %v", err, boom)
	}
	entries, _ := os.ReadDir(s.Dir())
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed Put, want only the first file", len(entries))
	}
	if _, err := s.Stat(ctx, "hms_backup_2.sql.gz"); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("Stat of failed file: %v, want ENOTFOUND", err)
	}
}

func TestListDeleteAndPartials(t *testing.T) {
	ctx := context.Background()
	s, _ := local.New(t.TempDir())
	for _, name := range []string{"hms_backup_b.sql.gz", "hms_backup_a.sql.gz", "other.txt"} {
		if _, err := s.Put(ctx, name, strings.NewReader(name)); err != nil {
			t.Fatal(err)
		}
	}
	partial := filepath.Join(s.Dir(), ".hms_backup_c.sql.gz.123.partial")
	os.WriteFile(partial, []byte("half"), 0o600)

	list, err := s.List(ctx, "hms_backup_")
	if err != nil || len(list) != 2 || list[0].Name != "hms_backup_a.sql.gz" || list[1].Size != int64(len("hms_backup_b.sql.gz")) {
		t.Fatalf("List: %+v, %v", list, err)
	}
	if err := s.Delete(ctx, "hms_backup_a.sql.gz"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "hms_backup_a.sql.gz"); err != nil {
		t.Errorf("second Delete: %v, want nil (idempotent)", err)
	}
	if _, err := s.Open(ctx, "hms_backup_a.sql.gz"); backup.ErrorCode(err) != backup.ENOTFOUND {
		t.Errorf("Open deleted: %v, want ENOTFOUND", err)
	}
	removed, err := s.RemovePartials()
	if err != nil || len(removed) != 1 {
		t.Fatalf("RemovePartials: %v, %v", removed, err)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file still there")
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := s.Put(ctx, bad, strings.NewReader("x")); backup.ErrorCode(err) != backup.EINVALID {
			t.Errorf("Put(%q): %v, want EINVALID", bad, err)
		}
	}
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) backup.Storage {
		s, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storagetest.Options{})
}
