package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/remotes"
	"github.com/spf13/cobra"
)

func (c *cli) syncCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Upload completed backups that are missing on Google Drive or S3 (e.g. after an outage)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				if len(a.engine.ActiveRemotes(cmd.Context())) == 0 {
					return backup.Errorf(backup.EINVALID, "no off-site storage is configured: set the Google Drive or S3 settings (hmsbackup settings set), or HMSBACKUP_GDRIVE_FOLDER_ID or HMSBACKUP_S3_BUCKET")
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
				return c.remoteTest(cmd.Context(), a, engine.RemoteGoogleDrive)
			})
		},
	})
	return cmd
}

// remoteCommand holds "remote test": test Google Drive, S3 or each
// configured remote, from the settings and the environment as they are.
func (c *cli) remoteCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "remote", Short: "Off-site storage (Google Drive, S3) tools"}
	cmd.AddCommand(&cobra.Command{
		Use:   "test [google_drive|s3]",
		Short: "Test the off-site storages: connect, sign in, read the folder or bucket, write and delete a probe file",
		Long: `Test Google Drive (google_drive, or gdrive), S3 (s3), or without an argument each one that is
configured, with the effective configuration: the settings, overridden by HMSBACKUP_GDRIVE_* and
HMSBACKUP_S3_* variables. One line per step; exit 0 when all work, 6 when one fails, 2 when
the one asked for is not configured. Each test is recorded in the audit trail (remote.test).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				ctx := cmd.Context()
				var kinds []engine.RemoteKind
				if len(args) == 1 {
					switch strings.ToLower(args[0]) {
					case "google_drive", "gdrive", "drive":
						kinds = []engine.RemoteKind{engine.RemoteGoogleDrive}
					case "s3":
						kinds = []engine.RemoteKind{engine.RemoteS3}
					default:
						return backup.Errorf(backup.EINVALID, "%q is not a remote: give google_drive or s3", args[0])
					}
				} else {
					statuses, err := a.remotes.Statuses(ctx)
					if err != nil {
						return err
					}
					for _, s := range statuses {
						if s.On {
							kinds = append(kinds, s.Kind)
						}
					}
					if len(kinds) == 0 {
						return backup.Errorf(backup.EINVALID, "no off-site storage is configured: set the Google Drive or S3 settings (hmsbackup settings set), or HMSBACKUP_GDRIVE_* / HMSBACKUP_S3_* variables")
					}
				}
				var first error
				for _, k := range kinds {
					if err := c.remoteTest(ctx, a, k); err != nil && first == nil {
						first = err
					}
				}
				return first
			})
		},
	})
	return cmd
}

// remoteTest runs one connection test, prints its steps, audits it and
// returns its error: EINVALID when the remote is not configured,
// EUNAVAILABLE (exit 6) when it is but does not work.
func (c *cli) remoteTest(ctx context.Context, a *app, kind engine.RemoteKind) error {
	res := testRemote(ctx, a, a.actor, kind)
	for _, s := range res.Steps {
		state := "ok"
		if !s.OK {
			state = "FAILED"
		}
		fmt.Fprintf(c.stdout, "%-40s %s\n", s.Name, state)
	}
	if res.OK {
		fmt.Fprintln(c.stdout, res.Message)
		return nil
	}
	if backup.ErrorCode(res.Err) == backup.EINVALID {
		return res.Err
	}
	return backup.Wrap(res.Err, backup.EUNAVAILABLE, "the connection test failed")
}

// testRemote runs one connection test from the effective configuration
// for actor (the CLI, or a web user) and audits it, whatever its outcome.
func testRemote(ctx context.Context, a *app, actor engine.Actor, kind engine.RemoteKind) remotes.TestResult {
	var res remotes.TestResult
	if kind == engine.RemoteGoogleDrive {
		res = a.remotes.TestGoogleDrive(ctx)
	} else {
		res = a.remotes.TestS3(ctx)
	}
	entry := &backup.AuditEntry{Actor: actor.Name, UserID: actor.UserID, Action: backup.ActionRemoteTest, Outcome: "success", Details: res.Message,
		SourceAddress: actor.SourceAddress, UserAgent: actor.UserAgent}
	if !res.OK {
		entry.Outcome = "failure"
	}
	if err := a.catalog.AddAuditEntry(context.WithoutCancel(ctx), entry); err != nil {
		a.engine.Logger.Error("cannot write the audit entry of a connection test", "err", err)
	}
	return res
}
