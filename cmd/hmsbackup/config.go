package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// config is the environment's settings (PRODUCT.md, "Interfaces that must
// stay stable"). Secrets in it (the DSN's password) are never printed.
type config struct {
	DataDir     string
	Driver      string // "sqlite" or "mysql"
	DSN         string
	DSNDefault  bool // no DSN was given: the embedded SQLite default
	Compression backup.Compression
	Location    *time.Location
	LockWait    time.Duration
	// DumpCommand and ClientCommand override the MySQL tools (default:
	// mariadb-dump/mariadb if installed, else mysqldump/mysql).
	DumpCommand   string
	ClientCommand string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{DataDir: getenv("HMSBACKUP_DATA_DIR")}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, fmt.Errorf("HMSBACKUP_DATA_DIR: %w", err)
	}
	c.DataDir = abs

	c.Driver = strings.ToLower(strings.TrimSpace(getenv("HMSBACKUP_DB_DRIVER")))
	switch c.Driver {
	case "":
		c.Driver = "sqlite"
	case "sqlite", "mysql":
	case "mariadb":
		c.Driver = "mysql"
	default:
		return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_DB_DRIVER=%q is not supported: use sqlite or mysql", c.Driver)
	}

	c.DSN = getenv("HMSBACKUP_DB_DSN")
	if c.DSN == "" {
		if c.Driver == "mysql" {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_DB_DSN is not set: give the MySQL/MariaDB DSN, e.g. user:pass@tcp(127.0.0.1:3306)/hms")
		}
		c.DSN = filepath.Join(c.DataDir, "hms.db")
		c.DSNDefault = true
	}

	if c.Compression, err = backup.ParseCompression(getenv("HMSBACKUP_COMPRESSION")); err != nil {
		return c, fmt.Errorf("HMSBACKUP_COMPRESSION: %w", err)
	}

	c.Location = time.Local
	if tz := getenv("HMSBACKUP_TIMEZONE"); tz != "" {
		if c.Location, err = time.LoadLocation(tz); err != nil {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_TIMEZONE=%q is not a time zone: use an IANA name such as Europe/Berlin", tz)
		}
	}

	if s := getenv("HMSBACKUP_LOCK_WAIT"); s != "" {
		if c.LockWait, err = time.ParseDuration(s); err != nil || c.LockWait < 0 {
			return c, backup.Errorf(backup.EINVALID, "HMSBACKUP_LOCK_WAIT=%q is not a duration such as 30s or 10m", s)
		}
	}
	c.DumpCommand = getenv("HMSBACKUP_MYSQLDUMP")
	c.ClientCommand = getenv("HMSBACKUP_MYSQL")
	return c, nil
}
