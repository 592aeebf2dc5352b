package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
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

// humanBytes prints sizes as people read them: 1.5 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
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
			b.Status, prot, b.Source, humanBytes(b.FileSize), locations(b), b.Filename)
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
	row("Size", fmt.Sprintf("%s (%d bytes; %s uncompressed, %s)", humanBytes(b.FileSize), b.FileSize, humanBytes(b.RawSize), b.Compression))
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
	row("Protected", b.IsProtected)
	if b.ErrorMessage != "" {
		row("Error", oneLine(b.ErrorMessage))
	}
	return tw.Flush()
}

// progressFor returns a progress bar on stderr when it is a terminal, and
// nil (no output at all) otherwise. total < 0: unknown.
func (c *cli) progressFor(desc string, total int64) *progressbar.ProgressBar {
	if !c.isTerminal(c.stderr) {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.stderr) }),
	)
}

// progressWriter adapts a possibly nil bar to an optional io.Writer.
func progressWriter(bar *progressbar.ProgressBar) io.Writer {
	if bar == nil {
		return nil
	}
	return bar
}

func finish(bar *progressbar.ProgressBar) {
	if bar != nil {
		_ = bar.Finish()
	}
}
