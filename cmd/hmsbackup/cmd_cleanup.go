package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/spf13/cobra"
)

func (c *cli) cleanupCommand() *cobra.Command {
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:     "cleanup",
		Aliases: []string{"backup:cleanup"},
		Short:   "Delete the backups the retention policy does not keep (--dry-run: only show them)",
		Long: `cleanup applies the retention policy of the settings (retention_daily, retention_weekly,
retention_monthly; 7, 4 and 6 until changed): it keeps the newest completed backup of each of
the N most recent days, ISO weeks and months that have backups, in the settings' time zone,
and deletes every other completed backup (each copy, then the record). Protected backups and
the newest completed backup are never deleted; all three limits 0 deletes nothing. Records of
failed backups older than 30 days are removed.

It prints each backup it deletes (or, with --dry-run, would delete) with the reason no rule
keeps it, and each kept backup with the rules that keep it. The exit status is non-zero if
any deletion failed; the others are carried out all the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				res, err := a.engine.Cleanup(cmd.Context(), engine.CleanupRequest{Actor: a.actor, DryRun: dryRun})
				if res == nil {
					return err
				}
				if asJSON {
					if jerr := writeJSON(c.stdout, res); jerr != nil {
						return jerr
					}
					return err
				}
				loc, lerr := time.LoadLocation(res.Timezone)
				if lerr != nil {
					loc = a.cfg.Location
				}
				if perr := printCleanup(c.stdout, res, loc); perr != nil {
					return perr
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be deleted and kept; change nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// printCleanup prints one line per backup, newest first, saying what the
// cleanup did with it and why, then the failed records pruned and a
// summary.
func printCleanup(w io.Writer, res *engine.CleanupResult, loc *time.Location) error {
	note := ""
	if res.DryRun {
		note = " (dry run: nothing is changed)"
	}
	zone := res.Timezone
	if zone == "Local" {
		zone = "the server's time zone"
	}
	fmt.Fprintf(w, "Retention: keep %s; days, weeks and months in %s%s\n", res.Policy, zone, note)

	type row struct {
		action string
		b      *backup.Backup
		why    string
	}
	var rows []row
	del := "delete"
	if res.DryRun {
		del = "would delete"
	}
	for _, d := range res.Kept {
		rows = append(rows, row{"keep", d.Backup, d.Reason()})
	}
	for _, d := range res.Deleted {
		rows = append(rows, row{del, d.Backup, d.Why})
	}
	for _, f := range res.Failed {
		if f.Backup.Status == backup.StatusCompleted {
			rows = append(rows, row{"NOT DELETED", f.Backup, f.Why + "; error: " + f.Error})
		}
	}
	slices.SortStableFunc(rows, func(x, y row) int {
		if c := y.b.CreatedAt.Compare(x.b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(y.b.ID, x.b.ID)
	})
	prune := "prune"
	if res.DryRun {
		prune = "would prune"
	}
	for _, d := range res.Pruned {
		rows = append(rows, row{prune, d.Backup, d.Why})
	}
	for _, f := range res.Failed {
		if f.Backup.Status != backup.StatusCompleted {
			rows = append(rows, row{"NOT PRUNED", f.Backup, f.Why + "; error: " + f.Error})
		}
	}
	if len(rows) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tID\tCREATED\tSTATUS\tFILE\tWHY")
		for _, r := range rows {
			status := string(r.b.Status)
			if r.b.IsProtected {
				status += " (protected)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.action, r.b.ID, r.b.CreatedAt.In(loc).Format("2006-01-02 15:04:05"),
				status, r.b.Filename, oneLine(r.why))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	verb, pverb := "deleted", "pruned"
	if res.DryRun {
		verb, pverb = "would delete", "would prune"
	}
	summary := fmt.Sprintf("Kept %d, %s %d, %s %s older than %d days", len(res.Kept), verb, len(res.Deleted), pverb,
		backup.Count(len(res.Pruned), "failed record"), int(engine.FailedRecordsKeptFor/(24*time.Hour)))
	if len(res.Failed) > 0 {
		summary += fmt.Sprintf("; %d could not be deleted (NOT DELETED above)", len(res.Failed))
	}
	fmt.Fprintln(w, summary+".")
	return nil
}
