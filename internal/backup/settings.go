package backup

import "time"

// Settings is the single backup_settings row (the seed's columns). The
// scheduler, retention and notification issues give these fields behaviour.
type Settings struct {
	ScheduleEnabled      bool     `json:"schedule_enabled"`
	ScheduleFrequency    string   `json:"schedule_frequency"` // daily, weekly, custom
	ScheduleTime         string   `json:"schedule_time"`      // HH:MM in the configured zone
	ScheduleDay          int      `json:"schedule_day"`       // weekday for weekly, 0 = Sunday
	CronExpression       string   `json:"cron_expression"`
	RetentionDaily       int      `json:"retention_daily"`
	RetentionWeekly      int      `json:"retention_weekly"`
	RetentionMonthly     int      `json:"retention_monthly"`
	GoogleDriveEnabled   bool     `json:"google_drive_enabled"`
	GoogleDriveFolderID  string   `json:"google_drive_folder_id"`
	NotificationEmails   []string `json:"notification_emails"`
	GoogleCredentialsEnc []byte   `json:"-"` // encrypted; never serialised
	// Timezone is the IANA zone of schedules and retention's calendar days;
	// "" means the process's zone (HMSBACKUP_TIMEZONE, else the server's).
	Timezone string `json:"timezone"`
	// MaxBackupAge is how old the newest completed backup may get before
	// `status` (and monitoring built on it) reports a problem.
	MaxBackupAge Duration `json:"max_backup_age"`
	// WebhookURLEnc is the sealed webhook URL (it holds a token); never
	// serialised.
	WebhookURLEnc []byte `json:"-"`
	// S3-compatible storage: on when S3Bucket is set. HMSBACKUP_S3_*
	// variables override these field by field (internal/remotes).
	S3Endpoint  string `json:"s3_endpoint"` // host:port or URL
	S3Bucket    string `json:"s3_bucket"`
	S3Prefix    string `json:"s3_prefix"`
	S3Region    string `json:"s3_region"`
	S3AccessKey string `json:"s3_access_key"`
	// S3SecretKeyEnc is the sealed secret access key; never serialised.
	S3SecretKeyEnc []byte    `json:"-"`
	S3UseTLS       bool      `json:"s3_use_tls"` // https for a host:port endpoint
	S3SSE          bool      `json:"s3_sse"`     // server-side encryption (SSE-S3)
	UpdatedAt      time.Time `json:"updated_at"`
}

// Duration is a time.Duration written as text ("26h0m0s") in JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// DefaultSettings are used until someone saves settings: a daily backup at
// 02:00 and the retention most hospitals start with.
func DefaultSettings() Settings {
	return Settings{
		ScheduleFrequency: "daily",
		ScheduleTime:      "02:00",
		RetentionDaily:    7,
		RetentionWeekly:   4,
		RetentionMonthly:  6,
		MaxBackupAge:      Duration(26 * time.Hour),
		S3UseTLS:          true,
	}
}
