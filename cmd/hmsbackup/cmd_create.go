package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/queue"
	"github.com/spf13/cobra"
)

func (c *cli) createCommand() *cobra.Command {
	var source string
	var asJSON, viaQueue, noWait bool
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
				if viaQueue {
					return c.createQueued(cmd.Context(), a, src, asJSON, !noWait)
				}
				bar := c.progressFor("backup", -1)
				b, err := a.engine.CreateBackup(cmd.Context(), engine.CreateRequest{Source: src, Actor: a.actor, Progress: bar.writer()})
				bar.done(err == nil)
				if err != nil {
					if b != nil && b.ID != 0 {
						return fmt.Errorf("backup %d failed: %w", b.ID, err)
					}
					return err
				}
				return c.printCreated(b, asJSON)
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "cli", "what triggered the backup: cli, ui or scheduled")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the backup record as JSON")
	cmd.Flags().BoolVar(&viaQueue, "queue", false, "queue the backup for the running `hmsbackup serve` (retried like scheduled ones) and wait for it")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "with --queue: print the job's ID and return at once")
	return cmd
}

func (c *cli) printCreated(b *backup.Backup, asJSON bool) error {
	if b.ContentWarning != "" {
		fmt.Fprintf(c.stderr, "WARNING: %s\n", oneLine(b.ContentWarning))
	}
	if asJSON {
		return writeJSON(c.stdout, b)
	}
	fmt.Fprintf(c.stdout, "Backup %d completed: %s (%s, sha256 %s)\n", b.ID, b.FilePath, backup.HumanBytes(b.FileSize), b.SHA256)
	return nil
}

// wakeServer asks a serve listening on listen to start the queued job now;
// without an answer, the server's poll finds it within a second.
func wakeServer(ctx context.Context, listen string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+listen+"/wake", nil)
	if err != nil {
		return
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// createQueued asks the server for a backup through the job queue and,
// if wait, follows the job until it is done.
func (c *cli) createQueued(ctx context.Context, a *app, src backup.Source, asJSON, wait bool) error {
	q, err := queue.Open(ctx, queue.Config{CatalogPath: filepath.Join(a.cfg.DataDir, "catalog.db")})
	if err != nil {
		return err
	}
	defer q.Close()
	id, _, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: src, Actor: a.actor.Name})
	if err != nil {
		return err
	}
	wakeServer(ctx, a.cfg.Listen)
	if !wait {
		if asJSON {
			return writeJSON(c.stdout, map[string]any{"job_id": id})
		}
		fmt.Fprintf(c.stdout, "Queued backup job %d\n", id)
		return nil
	}
	fmt.Fprintf(c.stderr, "Queued backup job %d; waiting for hmsbackup serve to run it (Ctrl-C stops waiting, not the job)\n", id)
	st, err := q.WaitFor(ctx, id, 50*time.Millisecond)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped waiting; backup job %d stays queued: %w", id, err)
		}
		return err
	}
	if st.State != "completed" {
		last := "no error recorded"
		if len(st.Errors) > 0 {
			last = st.Errors[len(st.Errors)-1]
		}
		return backup.Errorf(backup.EINTERNAL, "backup job %d %s after %d attempts: %s", id, st.State, st.Attempt, last)
	}
	b, err := a.catalog.FindBackupByID(ctx, st.BackupID)
	if err != nil {
		return fmt.Errorf("backup job %d completed, but its backup %d: %w", id, st.BackupID, err)
	}
	return c.printCreated(b, asJSON)
}
