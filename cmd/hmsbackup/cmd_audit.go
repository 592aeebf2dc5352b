package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/spf13/cobra"
)

func (c *cli) auditCommand() *cobra.Command {
	var asJSON bool
	var limit int
	var backupID string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail: who created, restored, verified, downloaded or deleted which backup",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := backup.AuditFilter{Limit: limit}
			if backupID != "" {
				id, err := parseID(backupID)
				if err != nil {
					return err
				}
				f.BackupID = &id
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				entries, err := a.catalog.FindAuditEntries(cmd.Context(), f)
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
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of audit entries")
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most this many, newest first (0: all)")
	cmd.Flags().StringVar(&backupID, "backup", "", "only entries about this backup ID")
	return cmd
}
