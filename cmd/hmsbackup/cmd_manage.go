package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/spf13/cobra"
)

func (c *cli) verifyCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify ID",
		Short: "Re-hash a backup's file and compare it with the SHA-256 in the catalog",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				b, err := a.engine.Verify(cmd.Context(), id, a.actor)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, map[string]any{"id": b.ID, "filename": b.Filename, "sha256": b.SHA256, "ok": true})
				}
				fmt.Fprintf(c.stdout, "Backup %d is intact: %s matches sha256 %s\n", b.ID, b.Filename, b.SHA256)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (c *cli) deleteCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a backup's file and its record",
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
				if !force {
					if !c.isTerminal(c.stdin) {
						return backup.Errorf(backup.EINVALID, "refusing to delete without confirmation: there is no terminal to ask on; re-run with --force")
					}
					fmt.Fprintf(c.stderr, "Delete backup %d (%s)? This cannot be undone. [y/N] ", b.ID, b.Filename)
					line, _ := bufio.NewReader(c.stdin).ReadString('\n')
					if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
						return backup.Errorf(backup.EINVALID, "delete cancelled")
					}
				}
				if _, err := a.engine.Delete(cmd.Context(), id, a.actor); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "Deleted backup %d (%s)\n", b.ID, b.Filename)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not ask for confirmation")
	return cmd
}

func (c *cli) downloadCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download ID -o FILE",
		Short: "Copy a backup's exact stored bytes to FILE (- for standard output)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				return backup.Errorf(backup.EINVALID, "download needs -o FILE (or -o - for standard output)")
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				r, b, err := a.engine.Download(cmd.Context(), id, a.actor)
				if err != nil {
					return err
				}
				defer r.Close()
				if out == "-" {
					_, err = io.Copy(c.stdout, r)
					return err
				}
				if err := writeFileAtomic(out, r); err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "Wrote backup %d (%s, %s) to %s\n", b.ID, b.Filename, humanBytes(b.FileSize), out)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (- for standard output)")
	return cmd
}

// writeFileAtomic writes r to path through a temp file in the same
// directory, so a failed download never leaves a half file under path.
func writeFileAtomic(path string, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".hmsbackup-download-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := io.CopyBuffer(f, r, make([]byte, 1<<20)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (c *cli) protectCommand(protect bool) *cobra.Command {
	use, short := "protect ID", "Protect a backup from deletion and retention"
	if !protect {
		use, short = "unprotect ID", "Allow a protected backup to be deleted again"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				b, err := a.engine.SetProtected(cmd.Context(), id, protect, a.actor)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "Backup %d (%s) protected: %v\n", b.ID, b.Filename, b.IsProtected)
				return nil
			})
		},
	}
}

func (c *cli) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the web UI, API and scheduler (not in this version yet)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return backup.Errorf(backup.ENOTIMPLEMENTED, "serve is not available in this version yet: use the CLI commands (hmsbackup --help)")
		},
	}
}
