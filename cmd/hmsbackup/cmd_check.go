package main

import (
	"fmt"
	"syscall"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/spf13/cobra"
)

// checkCommand answers "would a backup work right now, and when did one
// last work?" without changing anything.
func (c *cli) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check that the database can be reached and the data directory is usable; show the last good backup",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				ctx := cmd.Context()
				info := a.engine.Dumper.Info()
				fmt.Fprintf(c.stdout, "database:   %s %s\n", info.Engine, info.Database)
				pingErr := a.engine.Dumper.Ping(ctx)
				if pingErr != nil {
					fmt.Fprintf(c.stdout, "reachable:  NO: %s\n", oneLine(pingErr.Error()))
				} else {
					fmt.Fprintln(c.stdout, "reachable:  yes")
				}
				var st syscall.Statfs_t
				if err := syscall.Statfs(a.cfg.DataDir, &st); err == nil {
					fmt.Fprintf(c.stdout, "data dir:   %s (%s free)\n", a.cfg.DataDir, humanBytes(int64(st.Bavail)*int64(st.Bsize)))
				}
				completed := backup.StatusCompleted
				last, total, err := a.catalog.FindBackups(ctx, backup.BackupFilter{Status: &completed, Limit: 1})
				if err != nil {
					return err
				}
				if len(last) == 0 {
					fmt.Fprintln(c.stdout, "last good:  none yet: run hmsbackup create")
				} else {
					b := last[0]
					fmt.Fprintf(c.stdout, "last good:  backup %d, %s, %s ago (%d completed in all)\n", b.ID, b.Filename,
						time.Since(*b.CompletedAt).Round(time.Second), total)
				}
				return pingErr
			})
		},
	}
}
