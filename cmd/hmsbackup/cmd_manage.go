package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
				b, checks, err := a.engine.VerifyCopies(cmd.Context(), id, a.actor)
				if b == nil || checks == nil {
					return err
				}
				if asJSON {
					if jerr := writeJSON(c.stdout, map[string]any{"id": b.ID, "filename": b.Filename, "sha256": b.SHA256, "ok": err == nil, "copies": checks}); jerr != nil {
						return jerr
					}
					return err
				}
				for _, ch := range checks {
					fmt.Fprintf(c.stdout, "%-13s %s\n", ch.Where+":", ch.Status)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "Backup %d is intact: every copy of %s matches sha256 %s\n", b.ID, b.Filename, b.SHA256)
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
	var force bool
	cmd := &cobra.Command{
		Use:   "download ID -o FILE",
		Short: "Copy a backup's exact stored bytes to a new FILE (- for standard output)",
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
				if out != "-" {
					if err := checkDownloadTarget(out, a.cfg.DataDir, force); err != nil {
						return err
					}
				}
				r, b, err := a.engine.Download(cmd.Context(), id, a.actor)
				if err != nil {
					return err
				}
				defer r.Close()
				if out == "-" {
					_, err = io.Copy(c.stdout, r)
					return err
				}
				if err := writeFileAtomic(out, r, force); err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "Wrote backup %d (%s, %s) to %s\n", b.ID, b.Filename, backup.HumanBytes(b.FileSize), out)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (- for standard output)")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it is an existing regular file")
	return cmd
}

// checkDownloadTarget refuses a download target that is inside the data
// directory (the catalog, backups and locks live there), that exists as
// anything but a regular file (a device, FIFO, symlink or directory would
// be replaced by a regular file), or that exists at all unless force.
func checkDownloadTarget(path, dataDir string, force bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return backup.Wrap(err, backup.EINVALID, "download target %s", path)
	}
	if inside(realPath(abs), realPath(dataDir)) {
		return backup.Errorf(backup.EINVALID, "%s is inside the data directory %s, which holds the catalog and the backups: download somewhere else", path, dataDir)
	}
	fi, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return backup.Wrap(err, backup.EINVALID, "download target %s", path)
	case !fi.Mode().IsRegular():
		return backup.Errorf(backup.EINVALID, "%s exists and is %s, not a regular file: hmsbackup replaces only regular files; choose another path, or -o - to write to standard output", path, fileKind(fi.Mode()))
	case !force:
		return backup.Errorf(backup.EINVALID, "%s already exists: add --force to replace it, or choose another path", path)
	}
	return nil
}

// realPath is path with symlinks resolved, as far as it exists: the
// deepest existing ancestor resolved, the rest appended.
func realPath(path string) string {
	path = filepath.Clean(path)
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	parent := filepath.Dir(path)
	if parent == path {
		return path
	}
	return filepath.Join(realPath(parent), filepath.Base(path))
}

// inside reports whether path is dir or below it (both absolute, clean).
func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// fileKind names a file type for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// writeFileAtomic writes r to path through a temp file in the same
// directory, so a failed download never leaves a half file under path.
// It replaces only a regular file, and that only if replace; what is at
// path is checked again just before the rename.
func writeFileAtomic(path string, r io.Reader, replace bool) error {
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
	if !replace {
		// Link fails if anything appeared at path meanwhile.
		if err := os.Link(f.Name(), path); err != nil {
			return backup.Wrap(err, backup.EINVALID, "write %s", path)
		}
		return nil
	}
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return backup.Errorf(backup.EINVALID, "%s became %s while downloading: nothing was replaced", path, fileKind(fi.Mode()))
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
