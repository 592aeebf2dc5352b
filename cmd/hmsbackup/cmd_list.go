package main

import (
	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/spf13/cobra"
)

func (c *cli) listCommand() *cobra.Command {
	var asJSON bool
	var limit, offset int
	var status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List backups, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := backup.BackupFilter{Limit: limit, Offset: offset}
			if status != "" {
				s := backup.Status(status)
				if s != backup.StatusPending && s != backup.StatusCompleted && s != backup.StatusFailed {
					return backup.Errorf(backup.EINVALID, "--status %q: use pending, completed or failed", status)
				}
				f.Status = &s
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				backups, _, err := a.catalog.FindBackups(cmd.Context(), f)
				if err != nil {
					return err
				}
				if asJSON {
					if backups == nil {
						backups = []*backup.Backup{}
					}
					return writeJSON(c.stdout, backups)
				}
				return printBackupTable(c.stdout, backups, a.cfg.Location)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of backup records")
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many (0: all)")
	cmd.Flags().IntVar(&offset, "offset", 0, "skip this many of the newest")
	cmd.Flags().StringVar(&status, "status", "", "only backups with this status: pending, completed, failed")
	return cmd
}

func (c *cli) showCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one backup's record",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				b, err := a.catalog.FindBackupByID(cmd.Context(), id)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, b)
				}
				return printBackup(c.stdout, b, a.cfg.Location)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the backup record as JSON")
	return cmd
}
