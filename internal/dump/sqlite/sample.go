package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// SampleNotice is the text of the single row of the sample database's
// sample_data_notice table.
const SampleNotice = "SAMPLE DATA created by hmsbackup: every name, date and record in this database is fictional. These are not real patient records."

// CreateSampleDatabase creates a small HMS database in WAL mode at path,
// unless a file already exists there, in which case it does nothing and
// returns nil. The database has patients, doctors, departments,
// appointments, admissions, prescriptions and lab_results linked by foreign
// keys, indexes, the view upcoming_appointments, a trigger keeping
// patients.updated_at current, some hundreds of obviously fictional rows
// (the same on every call) and the table sample_data_notice whose one row
// is SampleNotice. It creates path's directory if needed, and never leaves
// a half-built database at path.
func CreateSampleDatabase(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped creating the sample database %s: %w", path, err)
	}
	switch _, err := os.Stat(path); {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot check whether %s exists", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot create the directory %s for the sample database", dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".hmsbackup-sample-*")
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot create a temporary file in %s", dir)
	}
	tmp := f.Name()
	defer removeDBFiles(tmp)
	if err := f.Close(); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot create a temporary file in %s", dir)
	}

	if err := buildSample(ctx, tmp); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped creating the sample database %s: %w", path, ctx.Err())
		}
		return backup.Wrap(err, backup.EINTERNAL, "cannot create the sample database %s", path)
	}
	if err := syncFile(tmp); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot flush the sample database %s to disk", path)
	}
	// A hard link never replaces a file someone created meanwhile.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		if _, serr := os.Stat(path); serr == nil {
			return nil
		}
		// The file system may not support hard links.
		if err := os.Rename(tmp, path); err != nil {
			return backup.Wrap(err, backup.EINTERNAL, "cannot move the sample database into place at %s", path)
		}
	}
	if err := syncDir(dir); err != nil {
		return backup.Wrap(err, backup.EINTERNAL, "cannot flush the directory %s to disk", dir)
	}
	return nil
}

const sampleSchema = `
CREATE TABLE sample_data_notice (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	notice     TEXT NOT NULL,
	created_by TEXT NOT NULL
);

CREATE TABLE departments (
	id    INTEGER PRIMARY KEY,
	name  TEXT NOT NULL UNIQUE,
	floor INTEGER NOT NULL
);

CREATE TABLE doctors (
	id            INTEGER PRIMARY KEY,
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	department_id INTEGER NOT NULL REFERENCES departments(id),
	specialty     TEXT NOT NULL,
	email         TEXT NOT NULL UNIQUE,
	phone         TEXT NOT NULL,
	created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE patients (
	id                    INTEGER PRIMARY KEY,
	medical_record_number TEXT NOT NULL UNIQUE,
	first_name            TEXT NOT NULL,
	last_name             TEXT NOT NULL,
	date_of_birth         TEXT NOT NULL,
	sex                   TEXT NOT NULL CHECK (sex IN ('F', 'M', 'X')),
	blood_type            TEXT,
	phone                 TEXT,
	email                 TEXT,
	address               TEXT,
	created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
	updated_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX patients_name_idx ON patients (last_name, first_name);

CREATE TRIGGER patients_set_updated_at
AFTER UPDATE ON patients
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
	UPDATE patients SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = NEW.id;
END;

CREATE TABLE appointments (
	id               INTEGER PRIMARY KEY,
	patient_id       INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
	doctor_id        INTEGER NOT NULL REFERENCES doctors(id),
	scheduled_at     TEXT NOT NULL,
	duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
	status           TEXT NOT NULL CHECK (status IN ('scheduled', 'completed', 'cancelled', 'no_show')),
	reason           TEXT NOT NULL,
	created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX appointments_doctor_time_idx ON appointments (doctor_id, scheduled_at);
CREATE INDEX appointments_patient_idx ON appointments (patient_id);

CREATE TABLE admissions (
	id                  INTEGER PRIMARY KEY,
	patient_id          INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
	attending_doctor_id INTEGER NOT NULL REFERENCES doctors(id),
	department_id       INTEGER NOT NULL REFERENCES departments(id),
	ward                TEXT NOT NULL,
	bed                 TEXT NOT NULL,
	admitted_at         TEXT NOT NULL,
	discharged_at       TEXT,
	diagnosis           TEXT NOT NULL,
	CHECK (discharged_at IS NULL OR discharged_at >= admitted_at)
);
CREATE INDEX admissions_patient_idx ON admissions (patient_id);

CREATE TABLE prescriptions (
	id         INTEGER PRIMARY KEY,
	patient_id INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
	doctor_id  INTEGER NOT NULL REFERENCES doctors(id),
	medication TEXT NOT NULL,
	dosage     TEXT NOT NULL,
	frequency  TEXT NOT NULL,
	start_date TEXT NOT NULL,
	end_date   TEXT,
	notes      TEXT
);
CREATE INDEX prescriptions_patient_idx ON prescriptions (patient_id);

CREATE TABLE lab_results (
	id                   INTEGER PRIMARY KEY,
	patient_id           INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
	ordered_by_doctor_id INTEGER NOT NULL REFERENCES doctors(id),
	test_name            TEXT NOT NULL,
	value                REAL NOT NULL,
	unit                 TEXT NOT NULL,
	reference_low        REAL NOT NULL,
	reference_high       REAL NOT NULL,
	flag                 TEXT NOT NULL CHECK (flag IN ('normal', 'low', 'high')),
	collected_at         TEXT NOT NULL,
	reported_at          TEXT NOT NULL
);
CREATE INDEX lab_results_patient_idx ON lab_results (patient_id, collected_at);

CREATE VIEW upcoming_appointments AS
SELECT a.id AS appointment_id,
       a.scheduled_at,
       a.duration_minutes,
       p.medical_record_number,
       p.first_name || ' ' || p.last_name AS patient_name,
       'Dr. ' || d.first_name || ' ' || d.last_name AS doctor_name,
       dep.name AS department,
       a.reason
FROM appointments a
JOIN patients p ON p.id = a.patient_id
JOIN doctors d ON d.id = a.doctor_id
JOIN departments dep ON dep.id = d.department_id
WHERE a.status = 'scheduled'
  AND a.scheduled_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
ORDER BY a.scheduled_at;
`

const (
	samplePatients      = 150
	sampleDoctors       = 12
	sampleAppointments  = 300
	sampleAdmissions    = 60
	samplePrescriptions = 180
	sampleLabResults    = 240
)

// buildSample fills the empty database file at p with the sample schema
// and rows, in WAL mode.
func buildSample(ctx context.Context, p string) error {
	db, err := openDB(p, "rw")
	if err != nil {
		return err
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sampleSchema); err != nil {
		return err
	}
	if err := insertSampleRows(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.Close()
}

// insertSampleRows inserts the same fictional rows on every call.
func insertSampleRows(ctx context.Context, tx *sql.Tx) error {
	// Fictional-looking names: the last names make it obvious no row is a
	// real person.
	var (
		firstNames = []string{
			"Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro",
			"Ines", "Jonas", "Kemi", "Luca", "Maya", "Nils", "Olga", "Pavel",
			"Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yusuf",
		}
		lastNames = []string{
			"Example", "Sample", "Placeholder", "Testperson", "Fictional", "Madeup",
			"Demo", "Specimen", "Mockford", "Dummy", "Notreal", "Pretendson",
		}
		departments = []struct {
			name      string
			specialty string
		}{
			{"Emergency", "Emergency Medicine"},
			{"Cardiology", "Cardiology"},
			{"Pediatrics", "Pediatrics"},
			{"Orthopedics", "Orthopedic Surgery"},
			{"Neurology", "Neurology"},
			{"Oncology", "Medical Oncology"},
			{"Internal Medicine", "Internal Medicine"},
			{"Obstetrics", "Obstetrics and Gynecology"},
		}
		reasons = []string{
			"Annual check-up", "Follow-up visit", "Chest pain evaluation", "Knee pain",
			"Headache", "Vaccination", "Blood pressure review", "Post-operative review",
			"Prenatal visit", "Medication review",
		}
		diagnoses = []string{
			"Community-acquired pneumonia", "Fractured femur", "Appendicitis",
			"Heart failure exacerbation", "Dehydration", "Cellulitis", "Stroke observation",
			"Kidney stones",
		}
		medications = []struct{ name, dosage, frequency string }{
			{"Amoxicillin", "500 mg", "three times daily"},
			{"Metformin", "850 mg", "twice daily"},
			{"Lisinopril", "10 mg", "once daily"},
			{"Atorvastatin", "20 mg", "once daily at night"},
			{"Paracetamol", "1 g", "every 6 hours as needed"},
			{"Ibuprofen", "400 mg", "every 8 hours with food"},
			{"Omeprazole", "20 mg", "once daily before breakfast"},
			{"Salbutamol inhaler", "100 mcg", "2 puffs as needed"},
		}
		labTests = []struct {
			name      string
			unit      string
			low, high float64
		}{
			{"Hemoglobin", "g/dL", 12.0, 17.5},
			{"White blood cells", "10^9/L", 4.0, 11.0},
			{"Glucose (fasting)", "mmol/L", 3.9, 5.5},
			{"Creatinine", "umol/L", 60, 110},
			{"Potassium", "mmol/L", 3.5, 5.1},
			{"Sodium", "mmol/L", 135, 145},
			{"C-reactive protein", "mg/L", 0, 5},
		}
	)
	rng := rand.New(rand.NewPCG(20250106, 1))
	base := time.Date(2025, time.January, 6, 0, 0, 0, 0, time.UTC)
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	pick := func(n int) int { return rng.IntN(n) }

	ins := func(query string, rows int, args func(i int) []any) error {
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := 1; i <= rows; i++ {
			if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
				return err
			}
		}
		return nil
	}

	if _, err := tx.ExecContext(ctx,
		"INSERT INTO sample_data_notice (id, notice, created_by) VALUES (1, ?, 'hmsbackup')", SampleNotice); err != nil {
		return err
	}
	if err := ins("INSERT INTO departments (id, name, floor) VALUES (?, ?, ?)", len(departments), func(i int) []any {
		return []any{i, departments[i-1].name, 1 + (i-1)/2}
	}); err != nil {
		return err
	}
	if err := ins(`INSERT INTO doctors (id, first_name, last_name, department_id, specialty, email, phone, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sampleDoctors, func(i int) []any {
		first, last := firstNames[(i*5)%len(firstNames)], lastNames[i%len(lastNames)]
		dep := 1 + (i-1)%len(departments)
		return []any{i, first, last, dep, departments[dep-1].specialty,
			fmt.Sprintf("dr.%s.%s.%d@hospital.example.org", strings.ToLower(first), strings.ToLower(last), i),
			fmt.Sprintf("555-01%02d", i), ts(base.AddDate(0, 0, -30+i))}
	}); err != nil {
		return err
	}
	sexes := []string{"F", "M", "X"}
	bloodTypes := []any{"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", nil}
	if err := ins(`INSERT INTO patients (id, medical_record_number, first_name, last_name, date_of_birth, sex,
		blood_type, phone, email, address, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		samplePatients, func(i int) []any {
			first, last := firstNames[pick(len(firstNames))], lastNames[pick(len(lastNames))]
			born := time.Date(1940+pick(80), time.Month(1+pick(12)), 1+pick(28), 0, 0, 0, 0, time.UTC)
			created := ts(base.AddDate(0, 0, pick(365)).Add(time.Duration(8+pick(9)) * time.Hour))
			var email any
			if i%4 != 0 {
				email = fmt.Sprintf("%s.%s.%d@patients.example.org", strings.ToLower(first), strings.ToLower(last), i)
			}
			return []any{i, fmt.Sprintf("SAMPLE-%06d", i), first, last, day(born), sexes[pick(len(sexes))],
				bloodTypes[pick(len(bloodTypes))], fmt.Sprintf("555-01%02d", i%100), email,
				fmt.Sprintf("%d Sample Street, Exampleton", 1+pick(200)), created, created}
		}); err != nil {
		return err
	}
	statuses := []string{"completed", "completed", "completed", "cancelled", "no_show"}
	if err := ins(`INSERT INTO appointments (id, patient_id, doctor_id, scheduled_at, duration_minutes, status, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sampleAppointments, func(i int) []any {
		// Three years from the base date: past visits and future ones.
		at := base.AddDate(0, 0, pick(3*365)).Add(time.Duration(8*60+15*pick(36)) * time.Minute)
		status := "scheduled"
		if at.Before(base.AddDate(1, 0, 0)) {
			status = statuses[pick(len(statuses))]
		}
		return []any{i, 1 + pick(samplePatients), 1 + pick(sampleDoctors), ts(at), 15 * (1 + pick(4)), status,
			reasons[pick(len(reasons))], ts(at.AddDate(0, 0, -1-pick(30)))}
	}); err != nil {
		return err
	}
	if err := ins(`INSERT INTO admissions (id, patient_id, attending_doctor_id, department_id, ward, bed,
		admitted_at, discharged_at, diagnosis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, sampleAdmissions, func(i int) []any {
		doctor := 1 + pick(sampleDoctors)
		in := base.AddDate(0, 0, pick(400)).Add(time.Duration(pick(24)) * time.Hour)
		var out any
		if i%6 != 0 {
			out = ts(in.AddDate(0, 0, 1+pick(14)))
		}
		return []any{i, 1 + pick(samplePatients), doctor, 1 + (doctor-1)%len(departments),
			fmt.Sprintf("Ward %c", 'A'+rune(pick(6))), fmt.Sprintf("%d", 1+pick(30)), ts(in), out,
			diagnoses[pick(len(diagnoses))]}
	}); err != nil {
		return err
	}
	if err := ins(`INSERT INTO prescriptions (id, patient_id, doctor_id, medication, dosage, frequency, start_date, end_date, notes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, samplePrescriptions, func(i int) []any {
		m := medications[pick(len(medications))]
		start := base.AddDate(0, 0, pick(400))
		var end, notes any
		if i%3 != 0 {
			end = day(start.AddDate(0, 0, 5+pick(60)))
		}
		if i%5 == 0 {
			notes = "Sample note: take with plenty of water."
		}
		return []any{i, 1 + pick(samplePatients), 1 + pick(sampleDoctors), m.name, m.dosage, m.frequency, day(start), end, notes}
	}); err != nil {
		return err
	}
	return ins(`INSERT INTO lab_results (id, patient_id, ordered_by_doctor_id, test_name, value, unit,
		reference_low, reference_high, flag, collected_at, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sampleLabResults, func(i int) []any {
			t := labTests[pick(len(labTests))]
			span := t.high - t.low
			// Mostly normal values, some below and above the range.
			v := t.low - 0.2*span + rng.Float64()*1.4*span
			v = float64(int64(v*10+0.5)) / 10
			flag := "normal"
			switch {
			case v < t.low:
				flag = "low"
			case v > t.high:
				flag = "high"
			}
			at := base.AddDate(0, 0, pick(400)).Add(time.Duration(7*60+pick(180)) * time.Minute)
			return []any{i, 1 + pick(samplePatients), 1 + pick(sampleDoctors), t.name, v, t.unit, t.low, t.high, flag,
				ts(at), ts(at.Add(time.Duration(1+pick(8)) * time.Hour))}
		})
}
