package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/schedule"
	"github.com/hmsbackup/hmsbackup/internal/settings"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (c *cli) settingsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show or change the backup settings (schedule, retention, notifications, time zone)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(c.settingsShowCommand(), c.settingsSetCommand())
	return cmd
}

func (c *cli) settingsShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the backup settings; secrets only as set or not set",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				s, err := a.catalog.Settings(cmd.Context())
				if err != nil {
					return err
				}
				zone := effectiveZone(s, a.cfg.Location)
				overrides := a.cfg.Remotes.Overrides()
				if asJSON {
					return writeSettingsJSON(c, s, zone, overrides)
				}
				shown := settings.Show(s)
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				for _, k := range settings.Keys() {
					v := shown[k]
					if k == "timezone" && v == "" {
						v = `"" (the process's zone: ` + zone + ")"
					}
					if env := overrides[k]; env != "" {
						v += " (overridden by " + env + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\n", k, v)
				}
				fmt.Fprintf(tw, "effective_timezone\t%s\n", zone)
				updated := "never (these are the defaults)"
				if !s.UpdatedAt.IsZero() {
					updated = s.UpdatedAt.In(a.cfg.Location).Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "updated_at\t%s\n", updated)
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the settings as JSON")
	return cmd
}

// writeSettingsJSON prints backup.Settings' JSON fields, with the secrets
// as "set" or "not set", the zone schedules use, and which settings the
// environment overrides ("overridden_by": {"s3_bucket": "HMSBACKUP_S3_BUCKET"}).
func writeSettingsJSON(c *cli, s backup.Settings, zone string, overrides map[string]string) error {
	if s.NotificationEmails == nil {
		s.NotificationEmails = []string{}
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("settings as JSON: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("settings as JSON: %w", err)
	}
	for k, set := range settings.SecretsSet(s) {
		out[k] = setOrNot(set)
	}
	out["effective_timezone"] = zone
	out["overridden_by"] = overrides
	return writeJSON(c.stdout, out)
}

func (c *cli) settingsSetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "set KEY=VALUE...",
		Short: "Change settings, all or none: every value is checked first (secrets: KEY=- reads standard input, KEY=@FILE a file)",
		Long: `Change backup settings. Every KEY=VALUE is checked before anything is saved; if any is
invalid, nothing changes and each bad key is named with the reason (exit status 2).

Keys: ` + strings.Join(settings.Keys(), ", ") + `.

Secrets (` + strings.Join(secretKeys(), ", ") + `) never go on the command line, where
ps and the shell history would show them: KEY=- reads the value from standard input
(google_credentials: all of it; the others: the first line), KEY=@FILE reads it from
FILE (e.g. google_credentials=@/root/drive-key.json). KEY= clears it. (webhook_url
still accepts its URL as an argument, as before.)`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return backup.Errorf(backup.EINVALID, "settings set needs at least one KEY=VALUE, e.g. hmsbackup settings set schedule_time=02:30")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			pairs, err := c.secretPairs(args)
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app) error {
				_, changes, err := a.engine.UpdateSettingsWith(cmd.Context(), a.actor, pairs, a.settingsOptions())
				if err != nil {
					return err
				}
				if len(changes) == 0 {
					fmt.Fprintln(c.stdout, "No setting changed: each already has that value")
					return nil
				}
				for _, ch := range changes {
					fmt.Fprintf(c.stdout, "%s: %s -> %s\n", ch.Key, quoteEmpty(ch.Old), quoteEmpty(ch.New))
				}
				return nil
			})
		},
	}
}

// secretKeys lists the secret settings.
func secretKeys() []string {
	var keys []string
	for _, k := range settings.Keys() {
		if settings.IsSecret(k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// argvSecrets are the secrets refused as literal arguments.
var argvSecrets = []string{"google_credentials", "s3_secret_key"}

// secretPairs reads the secrets given as KEY=- (standard input, once) or
// KEY=@FILE, and refuses those written on the command line. Its errors
// never repeat an argument.
func (c *cli) secretPairs(args []string) ([]string, error) {
	pairs := make([]string, len(args))
	copy(pairs, args)
	stdinUsed := ""
	for i, p := range pairs {
		key, v, _ := strings.Cut(p, "=")
		key = strings.TrimSpace(key)
		if !settings.IsSecret(key) {
			continue
		}
		switch {
		case v == "-":
			if stdinUsed != "" {
				return nil, backup.Errorf(backup.EINVALID, "%s=- and %s=- both read standard input: give one of them as KEY=@FILE", stdinUsed, key)
			}
			stdinUsed = key
			value, err := c.readSecret(key, key == "google_credentials")
			if err != nil {
				return nil, err
			}
			pairs[i] = key + "=" + value
		case strings.HasPrefix(v, "@"):
			b, err := readSecretFile(key, strings.TrimPrefix(v, "@"))
			if err != nil {
				return nil, err
			}
			pairs[i] = key + "=" + b
		case v != "" && slices.Contains(argvSecrets, key):
			return nil, backup.Errorf(backup.EINVALID, "%s is a secret: give %s=- to read it from standard input or %s=@FILE to read a file, never the value itself (ps and the shell history would show it)", key, key, key)
		}
	}
	return pairs, nil
}

// maxSecretSize bounds a secret read from a file or standard input.
const maxSecretSize = 64 << 10

// readSecretFile reads a secret setting's value from a file.
func readSecretFile(key, path string) (string, error) {
	if path == "" {
		return "", backup.Errorf(backup.EINVALID, "%s=@ needs a file name, e.g. %s=@/root/secret.json", key, key)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", backup.Wrap(err, backup.EINVALID, "read %s from %s", key, path)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return "", backup.Wrap(err, backup.EINVALID, "read %s from %s", key, path)
	}
	if len(b) > maxSecretSize {
		return "", backup.Errorf(backup.EINVALID, "%s: %s is larger than %d KiB: is it the right file?", key, path, maxSecretSize>>10)
	}
	return strings.TrimSpace(string(b)), nil
}

// readSecret reads a secret setting's value from standard input: without
// echo from a terminal, else its first line, or all of it when whole.
func (c *cli) readSecret(key string, whole bool) (string, error) {
	if f, ok := c.stdin.(*os.File); ok && c.isTerminal(f) {
		if whole {
			return "", backup.Errorf(backup.EINVALID, "%s=- reads a file's content from standard input: redirect it (%s=- < key.json) or give %s=@FILE", key, key, key)
		}
		fmt.Fprintf(c.stderr, "%s: ", key)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("read %s from the terminal: %w", key, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if whole {
		b, err := io.ReadAll(io.LimitReader(c.stdin, maxSecretSize+1))
		switch {
		case err != nil:
			return "", fmt.Errorf("read %s from standard input: %w", key, err)
		case len(b) > maxSecretSize:
			return "", backup.Errorf(backup.EINVALID, "%s: standard input gave more than %d KiB: is it the right file?", key, maxSecretSize>>10)
		case strings.TrimSpace(string(b)) == "":
			return "", backup.Errorf(backup.EINVALID, "%s=- reads the value from standard input, which gave none", key)
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", backup.Errorf(backup.EINVALID, "%s=- reads the value from standard input, which gave none", key)
	}
	return strings.TrimSpace(line), nil
}

func (c *cli) scheduleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Show when scheduled backups run",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(c.scheduleShowCommand())
	return cmd
}

func (c *cli) scheduleShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show whether the schedule is on, what it is, its time zone and the next five runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error {
				s, err := a.catalog.Settings(cmd.Context())
				if err != nil {
					return err
				}
				loc, err := settings.Location(s, a.cfg.Location)
				if err != nil {
					return backup.Wrap(err, backup.EINVALID, "the saved settings are invalid (fix them with hmsbackup settings set)")
				}
				sch, err := schedule.New(s, loc)
				if err != nil {
					return backup.Wrap(err, backup.EINVALID, "the saved schedule is invalid (fix it with hmsbackup settings set)")
				}
				runs := sch.NextN(c.clock(), 5)
				zone := effectiveZone(s, a.cfg.Location)
				if asJSON {
					next := make([]string, len(runs))
					for i, r := range runs {
						next[i] = r.Format(time.RFC3339)
					}
					return writeJSON(c.stdout, map[string]any{
						"enabled":   sch.Enabled(),
						"frequency": s.ScheduleFrequency,
						"schedule":  sch.String(),
						"timezone":  zone,
						"next_runs": next,
					})
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				if sch.Enabled() {
					fmt.Fprintln(tw, "Schedule:\tenabled")
				} else {
					fmt.Fprintln(tw, "Schedule:\tdisabled: no backup runs by itself (hmsbackup settings set schedule_enabled=true turns it on)")
				}
				fmt.Fprintf(tw, "When:\t%s\n", sch.String())
				fmt.Fprintf(tw, "Time zone:\t%s\n", zone)
				label := "Next runs:"
				if !sch.Enabled() {
					label = "Would run:"
				}
				for _, r := range runs {
					fmt.Fprintf(tw, "%s\t%s\n", label, r.Format("Mon 2006-01-02 15:04 MST (UTC-07:00)"))
					label = ""
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedule as JSON")
	return cmd
}

// effectiveZone names the zone schedules use: the timezone setting, else
// the process's zone (HMSBACKUP_TIMEZONE, else the server's).
func effectiveZone(s backup.Settings, process *time.Location) string {
	if s.Timezone != "" {
		return s.Timezone
	}
	return zoneName(process)
}

// zoneName names loc for people: its IANA name, or for the server's zone
// the name the TZ variable or /etc/localtime gives, else "Local".
func zoneName(loc *time.Location) string {
	if loc != time.Local {
		return loc.String()
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		if tz = strings.TrimPrefix(tz, ":"); tz == "" {
			return "UTC"
		} else if !filepath.IsAbs(tz) {
			return tz
		}
	}
	if target, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			return name
		}
	}
	return "Local"
}

func setOrNot(set bool) string {
	if set {
		return "set"
	}
	return "not set"
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
