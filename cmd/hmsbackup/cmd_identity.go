package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// withIdentity opens the catalog (only: users need no database, storage
// or recovery) and runs fn with the identity service and the CLI's actor.
func (c *cli) withIdentity(ctx context.Context, fn func(svc *identity.Service, by identity.Actor, loc *time.Location) error) error {
	cfg, err := loadConfig(c.getenv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	cat, err := catalogsqlite.Open(ctx, filepath.Join(cfg.DataDir, "catalog.db"))
	if err != nil {
		return fmt.Errorf("open catalog: %w", err)
	}
	defer cat.Close()
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	svc := identity.New(cat, cat, identity.DefaultParams(), logger)
	return fn(svc, identity.Actor{Name: osActor().Name}, cfg.Location)
}

// nArgs is cobra.ExactArgs with a usage error (exit 2) naming what is
// wanted.
func nArgs(n int, usage string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return backup.Errorf(backup.EINVALID, "bad usage: want hmsbackup %s", usage)
		}
		return nil
	}
}

func (c *cli) userCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the users of the web UI and the API",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(c.userAddCommand(), c.userListCommand(), c.userEnableCommand(true), c.userEnableCommand(false), c.userPasswdCommand())
	return cmd
}

func (c *cli) userAddCommand() *cobra.Command {
	var role string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME --role ROLE [--password-stdin]",
		Short: "Add a user; without --password-stdin, print a generated password once",
		Long: `Add a user of the web UI and the API with a role (see hmsbackup role list).

Without --password-stdin a password of 20 random characters is generated and printed,
alone, on standard output: it is shown only this once and stored only as an argon2id
hash. With --password-stdin the password is read from standard input (its first line;
without echo from a terminal): at least 12 characters, not containing the user name.
User names are 1-64 letters, digits, '.', '_', '@' and '-', unique regardless of case.`,
		Args: nArgs(1, "user add NAME --role ROLE [--password-stdin]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if role == "" {
				return backup.Errorf(backup.EINVALID, "user add needs --role ROLE (admin, operator, viewer or a custom role; see hmsbackup role list)")
			}
			password := ""
			if fromStdin {
				var err error
				if password, err = c.readPassword("Password for " + args[0]); err != nil {
					return err
				}
			}
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, _ *time.Location) error {
				u, generated, err := svc.AddUser(cmd.Context(), by, args[0], role, password)
				if err != nil {
					return err
				}
				if generated != "" {
					fmt.Fprintf(c.stderr, "hmsbackup: added user %s with role %s; its password follows on standard output, shown only this once: give it to %s now\n", u.Name, u.Role, u.Name)
					fmt.Fprintln(c.stdout, generated)
					return nil
				}
				fmt.Fprintf(c.stdout, "Added user %s with role %s\n", u.Name, u.Role)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "the user's role: admin, operator, viewer or a custom role")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input instead of generating one")
	return cmd
}

func (c *cli) userListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the users: name, role, whether disabled, last sign-in (never a password)",
		Args:  nArgs(0, "user list [--json]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, loc *time.Location) error {
				us, err := svc.Users(cmd.Context(), by)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, us)
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tROLE\tSTATUS\tLAST SIGN-IN\tCREATED")
				for _, u := range us {
					status := "active"
					if u.Disabled {
						status = "disabled"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Role, status, timeOrNever(u.LastSignInAt, loc), u.CreatedAt.In(loc).Format(time.DateTime))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of users")
	return cmd
}

func timeOrNever(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "never"
	}
	return t.In(loc).Format(time.DateTime)
}

func (c *cli) userEnableCommand(enable bool) *cobra.Command {
	verb, short := "disable", "Disable a user: it can no longer sign in, and its API tokens stop working"
	if enable {
		verb, short = "enable", "Enable a disabled user again (its API tokens work again unless revoked)"
	}
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  nArgs(1, "user "+verb+" NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, _ *time.Location) error {
				u, err := svc.SetDisabled(cmd.Context(), by, args[0], !enable)
				if err != nil {
					return err
				}
				if enable {
					fmt.Fprintf(c.stdout, "Enabled user %s\n", u.Name)
				} else {
					fmt.Fprintf(c.stdout, "Disabled user %s: it can no longer sign in, and its API tokens stop working\n", u.Name)
				}
				return nil
			})
		},
	}
}

func (c *cli) userPasswdCommand() *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME [--password-stdin]",
		Short: "Set a user's password; without --password-stdin, print a generated one once",
		Args:  nArgs(1, "user passwd NAME [--password-stdin]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			password := ""
			if fromStdin {
				var err error
				if password, err = c.readPassword("New password for " + args[0]); err != nil {
					return err
				}
			}
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, _ *time.Location) error {
				generated, err := svc.SetPassword(cmd.Context(), by, args[0], password)
				if err != nil {
					return err
				}
				if generated != "" {
					fmt.Fprintf(c.stderr, "hmsbackup: set a new password for user %s; it follows on standard output, shown only this once\n", args[0])
					fmt.Fprintln(c.stdout, generated)
					return nil
				}
				fmt.Fprintf(c.stdout, "Set the password of user %s\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input instead of generating one")
	return cmd
}

// readPassword reads a password from standard input: without echo from a
// terminal, else its first line without the line ending (spaces are kept:
// they may be part of it).
func (c *cli) readPassword(prompt string) (string, error) {
	if f, ok := c.stdin.(*os.File); ok && c.isTerminal(f) {
		fmt.Fprintf(c.stderr, "%s: ", prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("read the password from the terminal: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", backup.Errorf(backup.EINVALID, "--password-stdin reads the password from standard input, which gave none")
		}
		return "", backup.Errorf(backup.EINVALID, "--password-stdin read an empty first line: the password must be on it")
	}
	return line, nil
}

func (c *cli) roleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role",
		Short: "List, add or delete roles (what each of the five permissions a role grants)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(c.roleListCommand(), c.roleAddCommand(), c.roleDeleteCommand())
	return cmd
}

func (c *cli) roleListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the roles and their permissions",
		Args:  nArgs(0, "role list [--json]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, _ *time.Location) error {
				rs, err := svc.Roles(cmd.Context(), by)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, rs)
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ROLE\tBUILT-IN\tPERMISSIONS")
				for _, r := range rs {
					perms := make([]string, len(r.Permissions))
					for i, p := range r.Permissions {
						perms[i] = string(p)
					}
					if len(perms) == 0 {
						perms = []string{"(none)"}
					}
					builtIn := "no"
					if r.BuiltIn {
						builtIn = "yes"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, builtIn, strings.Join(perms, ", "))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of roles")
	return cmd
}

func (c *cli) roleAddCommand() *cobra.Command {
	var perms []string
	cmd := &cobra.Command{
		Use:   "add NAME --permission PERM[,PERM...]",
		Short: "Add a custom role granting some of backups.view, .create, .delete, .restore, .manage-settings",
		Args:  nArgs(1, "role add NAME --permission PERM[,PERM...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ps []identity.Permission
			for _, p := range perms {
				perm, err := identity.ParsePermission(p)
				if err != nil {
					return err
				}
				ps = append(ps, perm)
			}
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, _ *time.Location) error {
				r, err := svc.AddRole(cmd.Context(), by, args[0], ps)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "Added role %s with %d permission(s)\n", r.Name, len(r.Permissions))
				return nil
			})
		},
	}
	cmd.Flags().StringSliceVar(&perms, "permission", nil, "a permission the role grants (repeat, or separate with commas)")
	return cmd
}

func (c *cli) roleDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a custom role no user has (built-in roles cannot be deleted)",
		Args:  nArgs(1, "role delete NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, _ *time.Location) error {
				if err := svc.DeleteRole(cmd.Context(), by, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "Deleted role %s\n", args[0])
				return nil
			})
		},
	}
}

func (c *cli) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list or revoke API tokens (Authorization: Bearer TOKEN)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(c.tokenCreateCommand(), c.tokenListCommand(), c.tokenRevokeCommand())
	return cmd
}

func (c *cli) tokenCreateCommand() *cobra.Command {
	var user, label string
	cmd := &cobra.Command{
		Use:   "create --user NAME [--name LABEL]",
		Short: "Create an API token for a user and print it, alone on standard output, once",
		Long: `Create an API token acting as the user, with the user's role. The token (hms_ and 43
characters) is printed alone on standard output, only this once: the catalog keeps only
its SHA-256. Revoke it with hmsbackup token revoke ID.`,
		Args: nArgs(0, "token create --user NAME [--name LABEL]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return backup.Errorf(backup.EINVALID, "token create needs --user NAME: the user the token acts as")
			}
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, _ *time.Location) error {
				t, token, err := svc.CreateToken(cmd.Context(), by, user, label)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "hmsbackup: created API token %d for user %s; it follows on standard output, shown only this once\n", t.ID, t.UserName)
				fmt.Fprintln(c.stdout, token)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the user the token acts as")
	cmd.Flags().StringVar(&label, "name", "", "a label saying what the token is for")
	return cmd
}

func (c *cli) tokenListCommand() *cobra.Command {
	var user string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--user NAME] [--json]",
		Short: "List API tokens: id, user, label, created, last used, revoked (never the token)",
		Args:  nArgs(0, "token list [--user NAME] [--json]"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, loc *time.Location) error {
				ts, err := svc.Tokens(cmd.Context(), by, user)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.stdout, ts)
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tLAST USED\tSTATUS")
				for _, t := range ts {
					status := "active"
					if t.RevokedAt != nil {
						status = "revoked " + t.RevokedAt.In(loc).Format(time.DateTime)
					}
					label := t.Label
					if label == "" {
						label = "-"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserName, label, t.CreatedAt.In(loc).Format(time.DateTime), timeOrNever(t.LastUsedAt, loc), status)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "only this user's tokens")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of tokens")
	return cmd
}

func (c *cli) tokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token for good",
		Args:  nArgs(1, "token revoke ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return backup.Errorf(backup.EINVALID, "%q is not a token ID: use the number shown by hmsbackup token list", args[0])
			}
			return c.withIdentity(cmd.Context(), func(svc *identity.Service, by identity.Actor, loc *time.Location) error {
				t, err := svc.RevokeToken(cmd.Context(), by, id)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "Revoked API token %d of user %s (revoked at %s)\n", t.ID, t.UserName, t.RevokedAt.In(loc).Format(time.DateTime))
				return nil
			})
		},
	}
}
