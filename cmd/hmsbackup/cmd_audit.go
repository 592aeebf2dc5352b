package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/auditcsv"
	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/spf13/cobra"
)

func (c *cli) auditCommand() *cobra.Command {
	var (
		asJSON, asCSV                                          bool
		limit, offset                                          int
		backupID, action, actor, userID, outcome, since, until string
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail: who created, restored, verified, downloaded or deleted which backup",
		Long: `Show the audit trail, newest first. Filters combine (all must match):
--user NAME (the actor: a web user's name or cli:<os user>, any case), --user-id N,
--action A (create, restore, delete, download, settings, sign-in...), --backup ID,
--outcome success|failure, --since and --until (RFC 3339, or YYYY-MM-DD or
"YYYY-MM-DD HH:MM" in the configured time zone; --until a date includes that day).
--csv writes CSV (all matching entries unless --limit is given).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON && asCSV {
				return backup.Errorf(backup.EINVALID, "give --json or --csv, not both")
			}
			f := backup.AuditFilter{Limit: limit, Offset: offset, Actor: strings.TrimSpace(actor), Outcome: strings.TrimSpace(outcome)}
			if asCSV && !cmd.Flags().Changed("limit") {
				f.Limit = 0
			}
			if backupID != "" {
				id, err := parseID(backupID)
				if err != nil {
					return err
				}
				f.BackupID = &id
			}
			if userID != "" {
				id, err := strconv.ParseInt(userID, 10, 64)
				if err != nil || id <= 0 {
					return backup.Errorf(backup.EINVALID, "--user-id %q is not a user id: give the number hmsbackup user list --json shows", userID)
				}
				f.UserID = &id
			}
			if a := strings.TrimSpace(action); a != "" {
				act := backup.Action(a)
				f.Action = &act
			}
			if f.Limit < 0 || f.Offset < 0 {
				return backup.Errorf(backup.EINVALID, "--limit and --offset must be 0 or more")
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				var err error
				if f.Since, err = parseAuditTime("--since", since, a.cfg.Location, false); err != nil {
					return err
				}
				if f.Until, err = parseAuditTime("--until", until, a.cfg.Location, true); err != nil {
					return err
				}
				if asCSV {
					_, err := auditcsv.Export(cmd.Context(), a.catalog, f, c.stdout)
					return err
				}
				entries, total, err := a.catalog.FindAuditEntries(cmd.Context(), f)
				if err != nil {
					return err
				}
				if asJSON {
					if entries == nil {
						entries = []*backup.AuditEntry{}
					}
					return writeJSON(c.stdout, entries)
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tBACKUP\tOUTCOME\tDETAILS")
				for _, e := range entries {
					id := "-"
					if e.BackupID != nil {
						id = fmt.Sprint(*e.BackupID)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.CreatedAt.In(a.cfg.Location).Format("2006-01-02 15:04:05"),
						e.Actor, e.Action, id, e.Outcome, oneLine(e.Details))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(entries) < total {
					fmt.Fprintf(c.stderr, "hmsbackup: showing entries %d-%d of %d (use --offset and --limit for more)\n", f.Offset+1, f.Offset+len(entries), total)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of audit entries")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "print CSV: id, created_at (RFC 3339, UTC), actor, user_id, action, backup_id, outcome, details, source_address, user_agent")
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most this many, newest first (0: all)")
	cmd.Flags().IntVar(&offset, "offset", 0, "skip this many matching entries first")
	cmd.Flags().StringVar(&backupID, "backup", "", "only entries about this backup ID")
	cmd.Flags().StringVar(&action, "action", "", "only entries of this action (create, restore, delete, download, settings, sign-in, ...)")
	cmd.Flags().StringVar(&actor, "user", "", "only entries by this actor: a web user's name or cli:<os user> (any case)")
	cmd.Flags().StringVar(&userID, "user-id", "", "only entries by the web user with this id")
	cmd.Flags().StringVar(&outcome, "outcome", "", "only entries with this outcome: success or failure")
	cmd.Flags().StringVar(&since, "since", "", "only entries at or after this time (RFC 3339, YYYY-MM-DD or \"YYYY-MM-DD HH:MM\" in the configured zone)")
	cmd.Flags().StringVar(&until, "until", "", "only entries before this time; a date alone includes that whole day")
	return cmd
}

// parseAuditTime reads a --since/--until value: RFC 3339, or a date or
// date and time in loc. For --until (endOfDay), a date alone means the
// start of the next day, so the day given is included.
func parseAuditTime(flag, v string, loc *time.Location, endOfDay bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t.UTC(), nil
	}
	return time.Time{}, backup.Errorf(backup.EINVALID, "%s %q is not a time: give RFC 3339 (2026-11-29T08:00:00Z), a date (2026-11-29) or a date and time (\"2026-11-29 08:00\")", flag, v)
}
