package main

import (
	"context"
	"fmt"
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
				if free, err := a.engine.Storage.Free(); err == nil {
					fmt.Fprintf(c.stdout, "data dir:   %s (%s free)\n", a.cfg.DataDir, backup.HumanBytes(free))
				}
				b, total, err := lastGood(ctx, a.catalog)
				if err != nil {
					return err
				}
				switch {
				case b == nil && total == 0:
					fmt.Fprintln(c.stdout, "last good:  none yet: run hmsbackup create")
				case b == nil:
					fmt.Fprintf(c.stdout, "last good:  NONE: of %d completed backups none has a copy not found corrupt or missing: run hmsbackup create\n", total)
				default:
					fmt.Fprintf(c.stdout, "last good:  backup %d, %s, %s ago, integrity %s (%d completed in all)\n", b.ID, b.Filename,
						time.Since(*b.CompletedAt).Round(time.Second), b.Integrity, total)
				}
				return pingErr
			})
		},
	}
}

// lastGood returns the newest completed backup that is Good (a copy
// somewhere, not found corrupt or missing), and how many completed
// backups there are.
func lastGood(ctx context.Context, cat backup.Catalog) (*backup.Backup, int, error) {
	completed := backup.StatusCompleted
	const page = 100
	for offset := 0; ; offset += page {
		bs, total, err := cat.FindBackups(ctx, backup.BackupFilter{Status: &completed, Limit: page, Offset: offset})
		if err != nil {
			return nil, 0, err
		}
		for _, b := range bs {
			if b.Good() {
				return b, total, nil
			}
		}
		if len(bs) < page {
			return nil, total, nil
		}
	}
}
