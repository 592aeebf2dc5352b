package main

import (
	"bufio"
	"context"
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
					if err := c.confirmRestore(cmd.Context(), a, b); err != nil {
						return err
					}
				}
				// A second Ctrl-C is ignored (the signal context keeps it):
				// say why nothing seems to happen.
				stop := context.AfterFunc(cmd.Context(), func() {
					fmt.Fprintln(c.stderr, "\nInterrupted: stopping safely. If the database was already changed, the pre-restore backup is being put back; wait for it.")
				})
				defer stop()
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
					err = writeJSON(c.stdout, map[string]any{
						"backup": res.Backup, "pre_restore_backup": res.PreRestore,
						"pre_restore_ms": res.PreRestoreDuration.Milliseconds(), "restore_ms": res.RestoreDuration.Milliseconds(),
						"inbound_foreign_keys": orEmpty(res.ForeignKeys), "broken_foreign_keys": orEmpty(res.BrokenForeignKeys),
					})
				} else {
					fmt.Fprintf(c.stdout, "Restored backup %d (%s) into %s in %s. The previous content is kept as pre-restore backup %d (%s).\n",
						b.ID, b.Filename, a.engine.Dumper.Info().Database, res.RestoreDuration.Round(1e6), res.PreRestore.ID, res.PreRestore.Filename)
					if n := len(res.ForeignKeys); n > 0 && len(res.BrokenForeignKeys) == 0 {
						fmt.Fprintf(c.stdout, "Checked afterwards: the %s of other databases that refer to it still hold.\n", backup.Count(n, "foreign key"))
					}
				}
				if err != nil || len(res.BrokenForeignKeys) == 0 {
					return err
				}
				for _, fk := range res.BrokenForeignKeys {
					fmt.Fprintf(c.stderr, "WARNING: foreign key %s [%s] is broken: %s\n", fk.ForeignKey, fk.Name, fk.Problem)
				}
				return &brokenReferencesError{n: len(res.BrokenForeignKeys), db: a.engine.Dumper.Info().Database, preRestore: res.PreRestore.ID}
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
func (c *cli) confirmRestore(ctx context.Context, a *app, b *backup.Backup) error {
	info := a.engine.Dumper.Info()
	if !c.isTerminal(c.stdin) {
		return backup.Errorf(backup.EINVALID, "refusing to restore without confirmation: there is no terminal to ask on; re-run with --force to replace database %s", info.Database)
	}
	of := ""
	if b.DBName != "" && b.DBName != info.Database {
		of = fmt.Sprintf(" of ANOTHER database, %q,", b.DBName)
	}
	fmt.Fprintf(c.stderr, "This REPLACES ALL DATA in the %s database %q with backup %d%s (%s, taken %s).\n"+
		"A pre-restore backup of the current data is taken first.\n",
		info.Engine, info.Database, b.ID, of, b.Filename, b.CreatedAt.In(a.cfg.Location).Format("2006-01-02 15:04:05"))
	fks, err := a.engine.InboundForeignKeys(ctx)
	switch {
	case err != nil:
		fmt.Fprintf(c.stderr, "Could not list the foreign keys other databases have into %s (%s).\n", info.Database, oneLine(err.Error()))
	case len(fks) > 0:
		fmt.Fprintf(c.stderr, "%s of OTHER databases refer to %s; the restore does not change them, and checks them afterwards:\n", backup.Count(len(fks), "foreign key"), info.Database)
		for _, fk := range fks {
			fmt.Fprintf(c.stderr, "  %s [%s]\n", fk, fk.Name)
		}
	}
	fmt.Fprintf(c.stderr, "Type the database name (%s) to continue: ", info.Database)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return backup.Errorf(backup.EINVALID, "restore cancelled: no answer")
	}
	if strings.TrimSpace(line) != info.Database {
		return backup.Errorf(backup.EINVALID, "restore cancelled: %q is not the database name %q", strings.TrimSpace(line), info.Database)
	}
	return nil
}

// brokenReferencesError ends a restore that completed but broke other
// databases' foreign keys: exit status 7, so scripts notice.
type brokenReferencesError struct {
	n          int
	db         string
	preRestore int64
}

func (e *brokenReferencesError) Error() string {
	return fmt.Sprintf("the restore of %s completed, but it broke %s of other databases (listed above): fix the referring rows or tables, or undo the restore with `hmsbackup restore %d`",
		e.db, backup.Count(e.n, "foreign key"), e.preRestore)
}

// orEmpty makes a nil slice an empty JSON array.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
