package main

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/spf13/cobra"
)

func (c *cli) syncCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Upload completed backups that are missing on Google Drive or S3 (e.g. after an outage)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				if len(a.engine.Remotes) == 0 {
					return backup.Errorf(backup.EINVALID, "no off-site storage is configured: set HMSBACKUP_GDRIVE_FOLDER_ID or HMSBACKUP_S3_BUCKET")
				}
				res, err := a.engine.Sync(cmd.Context(), a.actor)
				fmt.Fprintf(c.stdout, "Uploaded %d missing copies; %d could not be uploaded\n", res.Uploaded, res.Failed)
				return err
			})
		},
	}
}

// gdriveCommand holds "gdrive test" (6.2): authenticate, read the folder,
// write and delete a probe file, saying which step failed and why.
func (c *cli) gdriveCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "gdrive", Short: "Google Drive tools"}
	cmd.AddCommand(&cobra.Command{
		Use:   "test",
		Short: "Test the Google Drive connection: authenticate, read the folder, write and delete a probe file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				var drive backup.Storage
				for _, r := range a.engine.Remotes {
					if r.Kind == engine.RemoteGoogleDrive {
						if r.OpenErr != nil {
							fmt.Fprintf(c.stdout, "%-34s FAILED\n", "configure Google Drive")
							return r.OpenErr
						}
						drive = r.Storage
					}
				}
				if drive == nil {
					return backup.Errorf(backup.EINVALID, "Google Drive is not configured: set HMSBACKUP_GDRIVE_FOLDER_ID and HMSBACKUP_GDRIVE_CREDENTIALS_FILE")
				}
				ctx := cmd.Context()
				step := func(name string, err error) error {
					if err != nil {
						fmt.Fprintf(c.stdout, "%-34s FAILED\n", name)
						return fmt.Errorf("Google Drive test failed at %q: %w", name, err)
					}
					fmt.Fprintf(c.stdout, "%-34s ok\n", name)
					return nil
				}
				list, err := drive.List(ctx, "hms_backup_")
				if err := step("authenticate and read the folder", err); err != nil {
					return err
				}
				probe := fmt.Sprintf("hmsbackup-probe-%d", time.Now().UnixNano())
				_, err = drive.Put(ctx, probe, bytes.NewReader([]byte("hmsbackup connection test; safe to delete\n")))
				if err := step("write a probe file", err); err != nil {
					return err
				}
				if _, err := drive.Stat(ctx, probe); err != nil {
					return step("read the probe file back", err)
				}
				if err := step("delete the probe file", drive.Delete(ctx, probe)); err != nil {
					return err
				}
				if _, err := drive.Stat(ctx, probe); !errors.Is(err, backup.ErrNotFound) {
					return step("check the probe file is gone", fmt.Errorf("it is still there (%v)", err))
				}
				fmt.Fprintf(c.stdout, "Google Drive works; the folder holds %d backup files\n", len(list))
				return nil
			})
		},
	})
	return cmd
}
