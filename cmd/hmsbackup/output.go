package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/schollz/progressbar/v3"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// locations lists where a backup's copies are: "local, drive, s3".
func locations(b *backup.Backup) string {
	var where []string
	for _, l := range []struct {
		present bool
		name    string
	}{{b.IsLocal, "local"}, {b.IsOnGoogleDrive, "drive"}, {b.IsOnS3, "s3"}} {
		if l.present {
			where = append(where, l.name)
		}
	}
	if len(where) == 0 {
		return "-"
	}
	return strings.Join(where, ", ")
}

func printBackupTable(w io.Writer, backups []*backup.Backup, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tSOURCE\tSIZE\tWHERE\tFILE")
	for _, b := range backups {
		prot := ""
		if b.IsProtected {
			prot = " (protected)"
		}
		if b.Warning != "" {
			prot += " (warning)"
		}
		if b.Integrity == backup.IntegrityCorrupt || b.Integrity == backup.IntegrityMissing {
			prot += " (" + strings.ToUpper(string(b.Integrity)) + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s%s\t%s\t%s\t%s\t%s\n", b.ID, b.CreatedAt.In(loc).Format("2006-01-02 15:04:05"),
			b.Status, prot, b.Source, backup.HumanBytes(b.FileSize), locations(b), b.Filename)
	}
	return tw.Flush()
}

func printBackup(w io.Writer, b *backup.Backup, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("ID", b.ID)
	row("File", b.Filename)
	row("Path", b.FilePath)
	row("Status", b.Status)
	row("Source", b.Source)
	row("Created by", b.CreatedBy)
	row("Created", b.CreatedAt.In(loc).Format(time.RFC3339))
	if b.CompletedAt != nil {
		row("Completed", b.CompletedAt.In(loc).Format(time.RFC3339))
		row("Duration", (time.Duration(b.DurationMS) * time.Millisecond).String())
	}
	row("Database", fmt.Sprintf("%s (%s)", b.DBName, b.DBEngine))
	row("Size", fmt.Sprintf("%s (%d bytes; %s uncompressed, %s)", backup.HumanBytes(b.FileSize), b.FileSize, backup.HumanBytes(b.RawSize), b.Compression))
	row("SHA-256", b.SHA256)
	integrity := string(b.Integrity)
	if b.VerifiedAt != nil {
		integrity += " (checked " + b.VerifiedAt.In(loc).Format(time.RFC3339) + ")"
	}
	row("Integrity", integrity)
	row("Where", locations(b))
	if b.GoogleDriveFileID != "" {
		row("Drive file", b.GoogleDriveFileID)
	}
	if b.S3Key != "" {
		row("S3 object", b.S3Key)
	}
	if b.Warning != "" {
		row("Warning", oneLine(b.Warning))
	}
	if b.ContentWarning != "" {
		row("Lacks", oneLine(b.ContentWarning))
	}
	row("Protected", b.IsProtected)
	if b.ErrorMessage != "" {
		row("Error", oneLine(b.ErrorMessage))
	}
	return tw.Flush()
}

// progress is one phase's progress bar on stderr. It is safe to use from
// the engine's goroutines; a nil *progress shows nothing.
type progress struct {
	bar     *progressbar.ProgressBar
	known   bool // the total is known, so the bar shows a percentage
	started atomic.Bool
	before  *progress // an earlier phase, finished when this one starts
}

// progressFor returns a progress bar on stderr when it is a terminal, and
// nil (no output at all) otherwise. total < 0: unknown.
func (c *cli) progressFor(desc string, total int64) *progress {
	if !c.stderrIsTerminal {
		return nil
	}
	return &progress{known: total >= 0, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.stderr) }),
		// No spinner goroutine: it reads the bar's state without its lock
		// (a data race in progressbar v3.19); the spinner turns on writes.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)}
}

// then returns a bar for the phase after p: p is finished when it starts.
func (c *cli) then(p *progress, desc string, total int64) *progress {
	next := c.progressFor(desc, total)
	if next != nil {
		next.before = p
	}
	return next
}

func (p *progress) Write(b []byte) (int, error) {
	if !p.started.Swap(true) {
		p.before.done(true)
	}
	return p.bar.Write(b)
}

// writer adapts a possibly nil bar to an optional io.Writer.
func (p *progress) writer() io.Writer {
	if p == nil {
		return nil
	}
	return p
}

// done ends the bar's line and stops its spinner. A failed phase keeps
// what it reached: a bar must not show 100% for a restore that stopped.
func (p *progress) done(ok bool) {
	if p == nil || !p.started.Load() {
		return
	}
	if ok || !p.known {
		_ = p.bar.Finish()
	} else {
		_ = p.bar.Exit()
	}
}

// lockedWriter serialises writes: progress bars render from their own
// goroutines while commands print.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
