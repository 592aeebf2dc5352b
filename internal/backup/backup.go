// Package backup holds hmsbackup's domain: what a backup is, who may do what
// with it, and the interfaces (Dumper, Catalog, Storage) the adapters
// implement. It imports nothing of ours and only the standard library.
package backup

import (
	"fmt"
	"strings"
	"time"
)

// Status is where a backup is in its life.
type Status string

const (
	StatusPending   Status = "pending"   // being written; never restorable
	StatusCompleted Status = "completed" // dump exited 0, complete, fsynced, renamed, hashed
	StatusFailed    Status = "failed"    // see ErrorMessage; no file is kept
)

// Source says what triggered a backup. The values are the seed's and are
// part of the stable JSON interface.
type Source string

const (
	SourceManualUI   Source = "manual_ui"
	SourceManualCLI  Source = "manual_cli"
	SourceScheduled  Source = "scheduled"
	SourcePreRestore Source = "pre_restore"
)

// ParseSource accepts the stable names and the short CLI spellings
// ("cli", "ui"), as the seed's `backup:create --source=cli` does.
func ParseSource(s string) (Source, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "cli", string(SourceManualCLI):
		return SourceManualCLI, nil
	case "ui", "web", string(SourceManualUI):
		return SourceManualUI, nil
	case string(SourceScheduled):
		return SourceScheduled, nil
	case "pre-restore", string(SourcePreRestore):
		return SourcePreRestore, nil
	}
	return "", Errorf(EINVALID, "unknown backup source %q: use cli, ui, scheduled or pre_restore", s)
}

// Compression names how a backup file is compressed.
type Compression string

const (
	CompressionGzip Compression = "gzip" // .gz, readable by plain gunzip
	CompressionZstd Compression = "zstd" // .zst, readable by zstd -d
)

// ParseCompression validates a compression name.
func ParseCompression(s string) (Compression, error) {
	switch Compression(strings.ToLower(strings.TrimSpace(s))) {
	case "", CompressionGzip:
		return CompressionGzip, nil
	case CompressionZstd:
		return CompressionZstd, nil
	}
	return "", Errorf(EINVALID, "unknown compression %q: use gzip or zstd", s)
}

// Extension is the file suffix the compression adds (".gz", ".zst").
func (c Compression) Extension() string {
	if c == CompressionZstd {
		return ".zst"
	}
	return ".gz"
}

// Backup is one catalog record. Its JSON field names are the seed's plus
// sha256, is_local and is_on_google_drive; they are a stable interface.
type Backup struct {
	ID                int64       `json:"id"`
	Filename          string      `json:"filename"`
	FileSize          int64       `json:"file_size"`
	FilePath          string      `json:"file_path"`
	GoogleDriveFileID string      `json:"google_drive_file_id"`
	Status            Status      `json:"status"`
	Source            Source      `json:"source"`
	IsProtected       bool        `json:"is_protected"`
	CreatedBy         string      `json:"created_by"` // actor: "cli:alice", or a web user's name
	CompletedAt       *time.Time  `json:"completed_at"`
	ErrorMessage      string      `json:"error_message"`
	CreatedAt         time.Time   `json:"created_at"`
	UpdatedAt         time.Time   `json:"updated_at"`
	SHA256            string      `json:"sha256"` // hex of the stored (compressed) bytes
	Compression       Compression `json:"compression"`
	RawSize           int64       `json:"raw_size"`    // bytes of the uncompressed dump
	DurationMS        int64       `json:"duration_ms"` // wall time of the dump pipeline
	DBEngine          string      `json:"db_engine"`   // "mysql", "sqlite"
	DBName            string      `json:"db_name"`
	IsLocal           bool        `json:"is_local"`
	IsOnGoogleDrive   bool        `json:"is_on_google_drive"`
	S3Key             string      `json:"s3_key"` // object name in the S3 storage, "" if not there
	IsOnS3            bool        `json:"is_on_s3"`
	// Warning says what went wrong with an otherwise completed backup,
	// e.g. an off-site upload that failed; "" when nothing did.
	Warning string `json:"warning"`
	// Integrity is what the last verification of the backup's copies found
	// (verify, or a restore's checksum check), at VerifiedAt.
	Integrity  Integrity  `json:"integrity"`
	VerifiedAt *time.Time `json:"verified_at"`
	// ContentWarning says what a completed backup lacks of its database
	// (e.g. the past rows of system-versioned tables, when the dump tool
	// cannot write them); "" when it holds everything.
	ContentWarning string `json:"content_warning"`
}

// Integrity is what verifying a backup found.
type Integrity string

const (
	IntegrityUnverified Integrity = "unverified" // never checked since it was made
	IntegrityOK         Integrity = "ok"         // every copy found matched the SHA-256
	IntegrityCorrupt    Integrity = "corrupt"    // the local file (or the only copy) does not match
	IntegrityMissing    Integrity = "missing"    // no copy was found anywhere
)

// Valid reports whether i is one of the defined values.
func (i Integrity) Valid() bool {
	switch i {
	case IntegrityUnverified, IntegrityOK, IntegrityCorrupt, IntegrityMissing:
		return true
	}
	return false
}

// Good reports whether b is a backup to count on: completed, not found
// corrupt or missing, and with a copy somewhere.
func (b *Backup) Good() bool {
	return b.Status == StatusCompleted && b.Integrity != IntegrityCorrupt && b.Integrity != IntegrityMissing &&
		(b.IsLocal || b.IsOnGoogleDrive || b.IsOnS3)
}

// Restorable reports whether b may be restored, and why not.
func (b *Backup) Restorable() error {
	if b.Status != StatusCompleted {
		return Errorf(EINVALID, "backup %d is %s, only completed backups can be restored", b.ID, b.Status)
	}
	if b.SHA256 == "" {
		return Errorf(EINVALID, "backup %d has no recorded SHA-256, so it cannot be verified before restore", b.ID)
	}
	return nil
}

// BackupFilter selects backups from the catalog; zero fields match all.
// Results are newest first.
type BackupFilter struct {
	Status *Status
	Source *Source
	Offset int
	Limit  int // 0: no limit
}

// Filename returns the stable file name for a backup started at t (already
// in the configured time zone): hms_backup_YYYYMMDD_HHMMSS<format><ext>.
// attempt > 1 adds a suffix so two backups in the same second never collide.
func Filename(t time.Time, format string, c Compression, attempt int) string {
	name := "hms_backup_" + t.Format("20060102_150405")
	if attempt > 1 {
		name += fmt.Sprintf("_%d", attempt)
	}
	return name + "." + format + c.Extension()
}

// HumanBytes says n bytes in binary units, as people read them: "52.1 KiB".
func HumanBytes(n int64) string {
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
