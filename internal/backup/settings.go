package backup

import "time"

// Settings is the single backup_settings row (the seed's columns). The
// scheduler, retention and notification issues give these fields behaviour.
type Settings struct {
	ScheduleEnabled      bool      `json:"schedule_enabled"`
	ScheduleFrequency    string    `json:"schedule_frequency"` // daily, weekly, custom
	ScheduleTime         string    `json:"schedule_time"`      // HH:MM in the configured zone
	ScheduleDay          int       `json:"schedule_day"`       // weekday for weekly, 0 = Sunday
	CronExpression       string    `json:"cron_expression"`
	RetentionDaily       int       `json:"retention_daily"`
	RetentionWeekly      int       `json:"retention_weekly"`
	RetentionMonthly     int       `json:"retention_monthly"`
	GoogleDriveEnabled   bool      `json:"google_drive_enabled"`
	GoogleDriveFolderID  string    `json:"google_drive_folder_id"`
	NotificationEmails   []string  `json:"notification_emails"`
	GoogleCredentialsEnc []byte    `json:"-"` // encrypted; never serialised
	UpdatedAt            time.Time `json:"updated_at"`
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
	}
}
