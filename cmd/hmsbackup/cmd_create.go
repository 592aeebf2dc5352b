package main

import (
	"fmt"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/spf13/cobra"
)

func (c *cli) createCommand() *cobra.Command {
	var source string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "create",
		Aliases: []string{"backup:create"},
		Short:   "Take a backup of the database now",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := backup.ParseSource(source)
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				bar := c.progressFor("backup", -1)
				b, err := a.engine.CreateBackup(cmd.Context(), engine.CreateRequest{Source: src, Actor: a.actor, Progress: bar.writer()})
				bar.done(err == nil)
				if err != nil {
					if b != nil && b.ID != 0 {
						return fmt.Errorf("backup %d failed: %w", b.ID, err)
					}
					return err
				}
				if b.ContentWarning != "" {
					fmt.Fprintf(c.stderr, "WARNING: %s\n", oneLine(b.ContentWarning))
				}
				if asJSON {
					return writeJSON(c.stdout, b)
				}
				fmt.Fprintf(c.stdout, "Backup %d completed: %s (%s, sha256 %s)\n", b.ID, b.FilePath, humanBytes(b.FileSize), b.SHA256)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "cli", "what triggered the backup: cli, ui or scheduled")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the backup record as JSON")
	return cmd
}
