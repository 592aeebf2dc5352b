package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/spf13/cobra"
)

func (c *cli) restoreCommand() *cobra.Command {
	var force, asJSON bool
	var into string
	cmd := &cobra.Command{
		Use:     "restore ID",
		Aliases: []string{"backup:restore"},
		Short:   "Replace the database's content with a backup (a pre-restore backup is taken first)",
		Args:    cobra.ExactArgs(1),
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
				if err := b.Restorable(); err != nil {
					return err
				}
				if err := a.engine.CheckTarget(b, into); err != nil {
					return err
				}
				if !force {
					if err := c.confirmRestore(a, b); err != nil {
						return err
					}
				}
				preBar := c.progressFor("pre-restore backup", -1)
				bar := c.then(preBar, "restore", b.FileSize)
				res, err := a.engine.Restore(cmd.Context(), engine.RestoreRequest{
					BackupID: id, Actor: a.actor, Progress: bar.writer(), PreRestoreProgress: preBar.writer(), Into: into,
				})
				preBar.done(err == nil)
				bar.done(err == nil)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, map[string]any{
						"backup": res.Backup, "pre_restore_backup": res.PreRestore,
						"pre_restore_ms": res.PreRestoreDuration.Milliseconds(), "restore_ms": res.RestoreDuration.Milliseconds(),
					})
				}
				fmt.Fprintf(c.stdout, "Restored backup %d (%s) into %s in %s. The previous content is kept as pre-restore backup %d (%s).\n",
					b.ID, b.Filename, a.engine.Dumper.Info().Database, res.RestoreDuration.Round(1e6), res.PreRestore.ID, res.PreRestore.Filename)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not ask for confirmation (for scripts)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&into, "into", "", "restore a backup of another database into the configured DATABASE (name it to confirm)")
	return cmd
}

// confirmRestore asks the operator to type the database's name (4.2). With
// no terminal to ask on, it refuses: only --force restores unattended.
func (c *cli) confirmRestore(a *app, b *backup.Backup) error {
	info := a.engine.Dumper.Info()
	if !c.isTerminal(c.stdin) {
		return backup.Errorf(backup.EINVALID, "refusing to restore without confirmation: there is no terminal to ask on; re-run with --force to replace database %s", info.Database)
	}
	of := ""
	if b.DBName != "" && b.DBName != info.Database {
		of = fmt.Sprintf(" of ANOTHER database, %q,", b.DBName)
	}
	fmt.Fprintf(c.stderr, "This REPLACES ALL DATA in the %s database %q with backup %d%s (%s, taken %s).\n"+
		"A pre-restore backup of the current data is taken first.\n"+
		"Type the database name (%s) to continue: ",
		info.Engine, info.Database, b.ID, of, b.Filename, b.CreatedAt.In(a.cfg.Location).Format("2006-01-02 15:04:05"), info.Database)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return backup.Errorf(backup.EINVALID, "restore cancelled: no answer")
	}
	if strings.TrimSpace(line) != info.Database {
		return backup.Errorf(backup.EINVALID, "restore cancelled: %q is not the database name %q", strings.TrimSpace(line), info.Database)
	}
	return nil
}
