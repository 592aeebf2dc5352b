// Package auditcsv writes the audit trail as CSV (RFC 4180, CRLF line
// ends, UTF-8), for `hmsbackup audit --csv` and the audit page's export.
// Cells are made safe to open in a spreadsheet: a text cell that starts
// with = + - @ (or a tab or carriage return) is prefixed with a single
// quote, so it is shown as text and never evaluated as a formula (CSV
// formula injection: an actor name or user agent is chosen by whoever
// makes the request).
package auditcsv

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Header is the first row: the columns, in order.
var Header = []string{"id", "created_at", "actor", "user_id", "action", "backup_id", "outcome", "details", "source_address", "user_agent"}

// PageSize is how many entries Export reads from the catalog at a time.
const PageSize = 1000

// Writer writes audit entries as CSV rows, after the header row.
type Writer struct {
	csv    *csv.Writer
	header bool // written
}

// NewWriter returns a Writer on w. Call Flush when done.
func NewWriter(w io.Writer) *Writer {
	c := csv.NewWriter(w)
	c.UseCRLF = true
	return &Writer{csv: c}
}

// WriteHeader writes the header row unless it was written already (Write
// writes it before the first entry).
func (w *Writer) WriteHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	if err := w.csv.Write(Header); err != nil {
		return fmt.Errorf("write audit CSV header: %w", err)
	}
	return nil
}

// Write writes one entry as a row: created_at in RFC 3339, UTC; an absent
// user or backup id as an empty cell.
func (w *Writer) Write(e *backup.AuditEntry) error {
	if err := w.WriteHeader(); err != nil {
		return err
	}
	row := []string{
		strconv.FormatInt(e.ID, 10),
		e.CreatedAt.UTC().Format(time.RFC3339),
		Safe(e.Actor),
		optional(e.UserID),
		Safe(string(e.Action)),
		optional(e.BackupID),
		Safe(e.Outcome),
		Safe(e.Details),
		Safe(e.SourceAddress),
		Safe(e.UserAgent),
	}
	if err := w.csv.Write(row); err != nil {
		return fmt.Errorf("write audit CSV row of entry %d: %w", e.ID, err)
	}
	return nil
}

// Flush writes what is buffered and reports any error of an earlier
// Write.
func (w *Writer) Flush() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return fmt.Errorf("write audit CSV: %w", err)
	}
	return nil
}

// Write writes the header and entries to w.
func Write(w io.Writer, entries []*backup.AuditEntry) error {
	cw := NewWriter(w)
	if err := cw.WriteHeader(); err != nil {
		return err
	}
	for _, e := range entries {
		if err := cw.Write(e); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// Finder finds audit entries (backup.Catalog does).
type Finder interface {
	FindAuditEntries(ctx context.Context, f backup.AuditFilter) ([]*backup.AuditEntry, int, error)
}

// Export writes the header and every entry f selects (newest first, from
// f.Offset, at most f.Limit when positive) to w, reading PageSize entries
// at a time, so memory stays flat however long the trail. Entries added
// while it runs are not included: the export is the trail as it was when
// it started. It returns how many entries it wrote.
func Export(ctx context.Context, cat Finder, f backup.AuditFilter, w io.Writer) (int, error) {
	cw := NewWriter(w)
	if err := cw.WriteHeader(); err != nil {
		return 0, err
	}
	if f.MaxID <= 0 {
		// Pin the trail as it is now: later pages must not shift as new
		// entries (newest first) arrive.
		newest, _, err := cat.FindAuditEntries(ctx, backup.AuditFilter{Limit: 1})
		if err != nil {
			return 0, fmt.Errorf("export the audit trail as CSV: %w", err)
		}
		if len(newest) == 0 {
			return 0, cw.Flush()
		}
		f.MaxID = newest[0].ID
	}
	want := f.Limit // 0: all
	n := 0
	for want == 0 || n < want {
		page := f
		page.Offset = f.Offset + n
		page.Limit = PageSize
		if want > 0 && want-n < PageSize {
			page.Limit = want - n
		}
		entries, _, err := cat.FindAuditEntries(ctx, page)
		if err != nil {
			return n, fmt.Errorf("export the audit trail as CSV (after %d entries): %w", n, err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			if err := cw.Write(e); err != nil {
				return n, err
			}
			n++
		}
		if err := cw.Flush(); err != nil {
			return n, err
		}
		if len(entries) < page.Limit {
			break
		}
	}
	return n, cw.Flush()
}

// Safe returns cell as a spreadsheet shows it as text: with a single
// quote before a leading =, +, -, @, tab or carriage return, which would
// otherwise start a formula.
func Safe(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

func optional(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}
