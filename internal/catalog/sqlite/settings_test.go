package sqlite_test

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
)

func TestSettingsDefaultUntilSaved(t *testing.T) {
	c := openCatalog(t)
	got, err := c.Settings(t.Context())
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if want := backup.DefaultSettings(); !reflect.DeepEqual(got, want) {
		t.Errorf("Settings = %+v, want %+v", got, want)
	}
}

func TestSaveSettingsRoundTrip(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	c.Now = steppingClock(start)

	for _, want := range []backup.Settings{
		{
			ScheduleEnabled:      true,
			ScheduleFrequency:    "weekly",
			ScheduleTime:         "23:45",
			ScheduleDay:          6,
			CronExpression:       "45 23 * * 6",
			RetentionDaily:       14,
			RetentionWeekly:      8,
			RetentionMonthly:     24,
			GoogleDriveEnabled:   true,
			GoogleDriveFolderID:  "0BxFolderId",
			NotificationEmails:   []string{"it@hospital.example", "dr.ñúñez@hospital.example"},
			GoogleCredentialsEnc: []byte{0, 1, 2, 0xff, 0xfe, 0, 'x'},
			Timezone:             "Europe/Lisbon",
			MaxBackupAge:         backup.Duration(90 * time.Minute),
			WebhookURLEnc:        []byte{9, 8, 0, 7},
			S3Endpoint:           "https://s3.eu-central-1.amazonaws.com",
			S3Bucket:             "hospital-backups",
			S3Prefix:             "hms/",
			S3Region:             "eu-central-1",
			S3AccessKey:          "AKIAEXAMPLE",
			S3SecretKeyEnc:       []byte{1, 0, 3, 0xee},
			S3UseTLS:             true,
			S3SSE:                true,
			UpdatedAt:            start,
		},
		// Saving again replaces everything, including clearing lists.
		{ScheduleFrequency: "custom", CronExpression: "0 */6 * * *", MaxBackupAge: backup.Duration(time.Hour), UpdatedAt: start.Add(time.Second)},
	} {
		if err := c.SaveSettings(ctx, want); err != nil {
			t.Fatalf("SaveSettings: %v", err)
		}
		got, err := c.Settings(ctx)
		if err != nil {
			t.Fatalf("Settings: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Settings = %+v, want %+v", got, want)
		}
	}

	// And they survive reopening.
	want, err := c.Settings(ctx)
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer c.Close()
	got, err := c.Settings(ctx)
	if err != nil {
		t.Fatalf("Settings after reopen: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Settings after reopen = %+v, want %+v", got, want)
	}
}

func TestSaveSettingsIgnoresGivenUpdatedAt(t *testing.T) {
	ctx := t.Context()
	c := openCatalog(t)
	s := backup.DefaultSettings()
	s.UpdatedAt = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := c.SaveSettings(ctx, s); err != nil {
		t.Fatalf("SaveSettings: %v", err)
	}
	got, err := c.Settings(ctx)
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if want := start; !got.UpdatedAt.Equal(want) {
		t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, want)
	}
}
