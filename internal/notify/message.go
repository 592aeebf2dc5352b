package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Origin says where notifications come from: the host named in subjects
// and the zone their times are written in.
type Origin struct {
	// Host names the machine (os.Hostname, or HMSBACKUP_NOTIFY_HOST).
	Host string
	// Location is the zone times are written in; nil means time.Local.
	Location *time.Location
	// Now stamps notifications that carry no time; nil means time.Now.
	Now func() time.Time
}

// Message is a notification written out for people: the same words go
// into a mail, a webhook's text and a log line.
type Message struct {
	Subject string    // names the host and the event
	Body    string    // the error, the backup, when, what to do
	Time    time.Time // when it happened, in the Origin's zone
}

// title is what a kind's subject says happened.
func title(n backup.Notification) string {
	switch n.Kind {
	case backup.NotifyBackupFailed:
		return "Backup FAILED"
	case backup.NotifyScheduledBackupFailed:
		return "Scheduled backup FAILED after its last attempt"
	case backup.NotifyRestoreFailed:
		switch n.Rollback {
		case backup.RollbackSucceeded:
			return "Restore FAILED, the database was put back as it was"
		case backup.RollbackFailed:
			return "Restore FAILED and its ROLLBACK FAILED, the database may be incomplete"
		case backup.RollbackNotNeeded:
			return "Restore FAILED, the database was not touched"
		}
		return "Restore FAILED"
	case backup.NotifyUploadFailed:
		return "Off-site upload FAILED, the backup is on local disk only"
	case backup.NotifyCleanupFailed:
		return "Backup cleanup FAILED"
	case backup.NotifyRestoreWarning:
		return "Restore completed with WARNINGS"
	case backup.NotifyBackupRecovered:
		return "Backups work again"
	case backup.NotifyTest:
		return "Test notification"
	}
	return "Notification (" + string(n.Kind) + ")"
}

// advice says what to do about a notification.
func advice(n backup.Notification) string {
	show := "hmsbackup list"
	if n.Backup != nil && n.Backup.ID != 0 {
		show = fmt.Sprintf("hmsbackup show %d", n.Backup.ID)
	}
	switch n.Kind {
	case backup.NotifyBackupFailed:
		return "Fix what the error names (database server down, wrong credentials, a full disk, a missing tool), " +
			"then run `hmsbackup create` and check that it completes. Until then the newest good backup is " +
			"older than you may think: `hmsbackup status` says how old."
	case backup.NotifyScheduledBackupFailed:
		return "Every attempt of this scheduled backup failed, so tonight's backup is missing. Fix what the " +
			"error names, then run `hmsbackup create` (or wait for the next scheduled run) and check that it " +
			"completes; `hmsbackup status` says how old the newest good backup is."
	case backup.NotifyRestoreFailed:
		switch n.Rollback {
		case backup.RollbackSucceeded:
			return "The database holds what it held before the restore. Fix what the error names and restore " +
				"again, or pick another backup (`hmsbackup list`)."
		case backup.RollbackFailed:
			return "URGENT: the database may be incomplete. Restore the pre-restore backup named in the error " +
				"by hand now (`hmsbackup restore ID --force`), or another backup; keep the HMS stopped until then."
		case backup.RollbackNotNeeded:
			return "Nothing was changed. Fix what the error names and restore again, or pick another backup " +
				"(`hmsbackup list`)."
		}
		return "Check the database now, and `" + show + "`."
	case backup.NotifyUploadFailed:
		return "The backup is safe on local disk but has no off-site copy there: if this host's disk dies, it " +
			"is lost. Fix the remote storage (credentials, quota, network), then run `hmsbackup sync`."
	case backup.NotifyCleanupFailed:
		return "Old backups were not (all) deleted, so the backup disk may fill up. Fix what the error names, " +
			"then run `hmsbackup cleanup --dry-run` and `hmsbackup cleanup`."
	case backup.NotifyRestoreWarning:
		return "The restore itself completed, but tables of other databases now refer to rows or tables that " +
			"are gone. Fix the referring rows, or undo the restore by restoring its pre-restore backup."
	case backup.NotifyBackupRecovered:
		return "Nothing to do: backups complete again. `hmsbackup list --status failed` shows the failed ones."
	case backup.NotifyTest:
		return "Nothing to do: this is a test sent by `hmsbackup notify test`."
	}
	return "See `" + show + "`."
}

// Compose writes a notification out for people. It never adds secrets:
// everything in it comes from the notification and o.
func Compose(n backup.Notification, o Origin) Message {
	at := n.Time
	if at.IsZero() {
		if o.Now != nil {
			at = o.Now()
		} else {
			at = time.Now()
		}
	}
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	host := o.Host
	if host == "" {
		host = "unknown host"
	}
	t := title(n)
	subject := fmt.Sprintf("[hmsbackup] %s: %s", host, t)
	if n.Backup != nil && n.Backup.DBName != "" {
		subject += " (database " + n.Backup.DBName + ")"
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n\n", t)
	if n.Message != "" {
		fmt.Fprintf(&b, "What happened:\n  %s\n\n", oneLine(n.Message))
	}
	if n.Error != "" && !strings.Contains(n.Message, n.Error) {
		fmt.Fprintf(&b, "Error:\n  %s\n\n", oneLine(n.Error))
	}
	if bk := n.Backup; bk != nil && (bk.ID != 0 || bk.Filename != "") {
		fmt.Fprintf(&b, "Backup:    %s\n", describeBackup(bk))
	}
	if n.Rollback != backup.RollbackNone {
		fmt.Fprintf(&b, "Rollback:  %s\n", rollbackText(n.Rollback))
	}
	fmt.Fprintf(&b, "When:      %s\n", at.In(loc).Format("2006-01-02 15:04:05 MST (-07:00)"))
	fmt.Fprintf(&b, "Host:      %s\n", host)
	fmt.Fprintf(&b, "Event:     %s\n\n", n.Kind)
	fmt.Fprintf(&b, "What to do:\n  %s\n\n", advice(n))
	fmt.Fprintf(&b, "-- \nSent by hmsbackup on %s.\n", host)
	return Message{Subject: subject, Body: b.String(), Time: at.In(loc)}
}

// describeBackup names a backup: id, file, database and source.
func describeBackup(b *backup.Backup) string {
	var parts []string
	if b.ID != 0 {
		parts = append(parts, fmt.Sprintf("#%d", b.ID))
	}
	if b.Filename != "" {
		parts = append(parts, b.Filename)
	}
	var extra []string
	if b.DBName != "" {
		extra = append(extra, "database "+b.DBName)
	}
	if b.Source != "" {
		extra = append(extra, "source "+string(b.Source))
	}
	if b.Status != "" {
		extra = append(extra, string(b.Status))
	}
	s := strings.Join(parts, " ")
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

func rollbackText(r backup.Rollback) string {
	switch r {
	case backup.RollbackSucceeded:
		return "succeeded: the pre-restore backup put the database back as it was"
	case backup.RollbackFailed:
		return "FAILED: the database may be incomplete"
	case backup.RollbackNotNeeded:
		return "not needed: the database was not touched"
	}
	return string(r)
}

// oneLine folds a multi-line message (a tool's stderr) into one line.
func oneLine(s string) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, " | ")
}
