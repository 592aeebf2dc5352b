package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The HMS schema the benchmark fills: a patients table with the column
// types a hospital system has (names, dates, DECIMAL money, addresses and a
// free-text notes column mixing clinical prose, numbers and base64 blobs),
// and an appointments table with two rows per patient.
const createPatients = `CREATE TABLE patients (
  id INT UNSIGNED NOT NULL,
  mrn CHAR(10) NOT NULL,
  first_name VARCHAR(50) NOT NULL,
  last_name VARCHAR(50) NOT NULL,
  date_of_birth DATE NOT NULL,
  gender ENUM('female','male','other') NOT NULL,
  blood_type VARCHAR(3) NULL,
  phone VARCHAR(20) NULL,
  email VARCHAR(120) NULL,
  address VARCHAR(200) NOT NULL,
  city VARCHAR(60) NOT NULL,
  postal_code VARCHAR(10) NOT NULL,
  insurance_number VARCHAR(24) NULL,
  outstanding_balance DECIMAL(12,2) NOT NULL DEFAULT 0.00,
  registered_at DATETIME NOT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  notes TEXT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_patients_mrn (mrn),
  KEY idx_patients_name (last_name, first_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`

const createAppointments = `CREATE TABLE appointments (
  id BIGINT UNSIGNED NOT NULL,
  patient_id INT UNSIGNED NOT NULL,
  doctor_id SMALLINT UNSIGNED NOT NULL,
  department VARCHAR(40) NOT NULL,
  scheduled_at DATETIME NOT NULL,
  duration_min SMALLINT UNSIGNED NOT NULL,
  status ENUM('scheduled','completed','cancelled','no_show') NOT NULL,
  fee DECIMAL(10,2) NOT NULL,
  reason VARCHAR(255) NULL,
  PRIMARY KEY (id),
  KEY idx_appointments_patient (patient_id, scheduled_at),
  CONSTRAINT fk_appointments_patient FOREIGN KEY (patient_id) REFERENCES patients (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`

func elt(idx string, words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", "''") + "'"
	}
	return fmt.Sprintf("ELT(1 + (%s) %% %d, %s)", idx, len(words), strings.Join(q, ", "))
}

var (
	firstNames = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
		"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Amina", "Wei",
		"Olumide", "Priya", "Mateo", "Sofia", "Yusuf", "Hana", "Lars", "Zoë", "José", "Chloé"}
	lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Okafor",
		"Nguyen", "Patel", "Kowalski", "O'Brien", "Müller", "Søren", "Haddad", "Tanaka", "Ivanova", "Mensah", "Fernández",
		"da Silva", "Kim", "Cohen", "Rossi", "Dubois"}
	streets = []string{"Maple", "Oak", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park", "Main", "Church", "Mill",
		"River", "Station", "Victoria", "Highland", "Sunset", "Lincoln", "Jefferson", "Willow"}
	streetKinds = []string{"Street", "Avenue", "Road", "Boulevard", "Lane", "Drive", "Court", "Way"}
	cities      = []string{"Springfield", "Riverside", "Franklin", "Greenville", "Bristol", "Clinton", "Fairview", "Salem",
		"Madison", "Georgetown", "Arlington", "Ashland", "Dover", "Oxford", "Jackson", "Burlington", "Manchester", "Milton"}
	bloodTypes = []string{"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"}
	complaints = []string{
		"Patient presents with intermittent chest pain radiating to the left arm, onset two days ago.",
		"Follow-up after appendectomy; wound healing well, no signs of infection.",
		"Complains of persistent dry cough and mild fever for one week; no travel history.",
		"Type 2 diabetes, HbA1c reviewed with patient; diet counselling provided.",
		"Routine prenatal visit, 28 weeks; fetal heart rate normal, fundal height appropriate.",
		"Fell at home, pain and swelling of the right ankle; X-ray ordered to exclude fracture.",
		"Hypertension review: home readings elevated in the mornings, adherence discussed.",
		"Migraine with aura, three episodes this month; trigger diary started.",
		"Post-operative check after knee arthroscopy; range of motion improving with physiotherapy.",
		"Reports low mood and poor sleep for six weeks; PHQ-9 score 14, referral to counselling.",
		"Asthma exacerbation, used reliever inhaler more than four times daily.",
		"Child brought in with ear pain and fever of 38.6 C; left tympanic membrane bulging.",
		"Annual physical examination; lipid panel and CBC requested.",
		"Shortness of breath on exertion, bilateral ankle oedema; echocardiogram requested.",
		"Lower back pain after lifting at work, no red flags; analgesia and activity advice.",
		"Rash on both forearms after starting new medication; drug allergy suspected.",
	}
	plans = []string{
		"Plan: continue current medication, review in 4 weeks.",
		"Plan: start amoxicillin 500 mg three times daily for 7 days.",
		"Plan: bloods today (U&E, LFT, TSH), results to be phoned to patient.",
		"Plan: referred to cardiology outpatient clinic, routine priority.",
		"Plan: metformin increased to 1 g twice daily; recheck HbA1c in 3 months.",
		"Plan: physiotherapy referral, home exercise sheet given.",
		"Plan: safety-netting advice given, return if symptoms worsen.",
		"Plan: CT scan booked, patient informed of contrast risks and consented.",
		"Plan: stop suspected drug, antihistamine prescribed, allergy recorded.",
		"Plan: admit to ward 4B for observation overnight.",
		"Plan: dressing change every 48 hours by the district nurse.",
		"Plan: discussed smoking cessation, nicotine replacement offered.",
	}
	histories = []string{
		"History: penicillin allergy (hives, 2011). Previous surgery: cholecystectomy 2016. Lives alone, independent with ADLs.",
		"Family history of ischaemic heart disease (father, MI at 52) and type 2 diabetes (mother). Non-smoker, occasional alcohol.",
		"Medications: lisinopril 10 mg OD, atorvastatin 20 mg ON, aspirin 75 mg OD. No known drug allergies.",
		"Interpreter required (Portuguese). Next of kin: daughter, contact details on file. Consent for data sharing given.",
		"Previous admissions: community-acquired pneumonia 2019, treated with IV antibiotics, full recovery.",
		"Works night shifts as a nurse; reports irregular meals and sleep. Vaccinations up to date, influenza vaccine given this season.",
		"Discharge summary received from St. Mary's: laparoscopic hernia repair, uncomplicated, sutures removed day 10.",
		"Safeguarding: none. Mobility: walks with a stick. Diet: vegetarian. Religion noted for care planning.",
	}
	departments = []string{"Cardiology", "General Medicine", "Paediatrics", "Orthopaedics", "Obstetrics", "Dermatology",
		"Neurology", "Radiology", "Oncology", "Emergency", "Psychiatry", "Physiotherapy"}
	reasons = []string{"Follow-up consultation", "New referral", "Blood test results review", "Post-operative review",
		"Medication review", "Vaccination", "Annual check-up", "Imaging", "Dressing change", "Pre-operative assessment",
		"Physiotherapy session", "Specialist opinion requested by GP"}
)

// patientsInsert fills patients ids [from, to] from the sequence engine.
// h and h2 are two independent 32-bit hashes of the id, so the columns
// vary without a correlation a compressor could exploit too easily.
func patientsInsert(from, to int) string {
	fn := elt("s.h", firstNames...)
	ln := elt("s.h2 >> 3", lastNames...)
	return fmt.Sprintf(`INSERT INTO patients (id, mrn, first_name, last_name, date_of_birth, gender, blood_type, phone, email,
  address, city, postal_code, insurance_number, outstanding_balance, registered_at, updated_at, notes)
SELECT s.seq,
  CONCAT('MRN', LPAD(s.seq, 7, '0')),
  %[1]s,
  %[2]s,
  DATE '1930-01-01' + INTERVAL (s.h %% 33000) DAY,
  %[3]s,
  IF(s.h2 %% 7 = 0, NULL, %[4]s),
  CONCAT('+1-', 200 + (s.h >> 5) %% 800, '-555-', LPAD(s.h2 %% 10000, 4, '0')),
  IF(s.h %% 11 = 0, NULL, CONCAT(LOWER(REPLACE(%[1]s, ' ', '')), '.', LOWER(REPLACE(REPLACE(%[2]s, ' ', ''), '''', '')), s.seq %% 997, '@', %[5]s)),
  CONCAT(1 + s.h2 %% 9999, ' ', %[6]s, ' ', %[7]s, IF(s.h %% 5 = 0, CONCAT(', Apt ', 1 + s.h2 %% 400), '')),
  %[8]s,
  LPAD((s.h >> 7) %% 100000, 5, '0'),
  IF(s.h %% 9 = 0, NULL, CONCAT('INS-', HEX(s.h2), '-', s.h %% 97)),
  ROUND(IF(s.h2 %% 3 = 0, 0, (s.h %% 2500000) / 100), 2),
  TIMESTAMP '2012-01-01 00:00:00' + INTERVAL (s.h2 %% 410000000) SECOND,
  TIMESTAMP '2025-01-01 00:00:00' + INTERVAL (s.h %% 30000000) SECOND,
  CONCAT_WS('\n',
    %[9]s,
    CONCAT('Vitals: BP ', 95 + s.h %% 70, '/', 55 + s.h2 %% 40, ' mmHg, HR ', 48 + (s.h >> 9) %% 70,
           ' bpm, SpO2 ', 90 + (s.h2 >> 5) %% 10, '%%, T ', 36 + ((s.h >> 13) %% 30) / 10, ' C, weight ', 40 + (s.h2 >> 11) %% 80, ' kg.'),
    IF(s.h %% 4 = 0, %[10]s, NULL),
    %[11]s,
    IF(s.h2 %% 3 = 0, CONCAT('Attachment ', LOWER(HEX(RANDOM_BYTES(8))), ': ', TO_BASE64(RANDOM_BYTES(24 + s.h %% 96))), NULL))
FROM (SELECT seq, CRC32(seq) AS h, CRC32(CONCAT('hms', seq)) AS h2 FROM seq_%[12]d_to_%[13]d) s`,
		fn, ln,
		elt("s.h >> 4", "female", "male", "other"),
		elt("s.h2 >> 2", bloodTypes...),
		elt("s.h2 >> 9", "example.org", "mail.example.com", "example.net", "inbox.example"),
		elt("s.h >> 6", streets...),
		elt("s.h2 >> 6", streetKinds...),
		elt("s.h >> 10", cities...),
		elt("s.h >> 3", complaints...),
		elt("s.h2 >> 4", histories...),
		elt("s.h2 >> 12", plans...),
		from, to)
}

// appointmentsInsert fills appointments ids [from, to], two per patient on
// average, with patients ids in [1, patients].
func appointmentsInsert(from, to, patients int) string {
	return fmt.Sprintf(`INSERT INTO appointments (id, patient_id, doctor_id, department, scheduled_at, duration_min, status, fee, reason)
SELECT s.seq,
  1 + s.h %% %[1]d,
  1 + s.h2 %% 350,
  %[2]s,
  TIMESTAMP '2018-01-01 08:00:00' + INTERVAL (s.h2 %% 250000) * 900 SECOND,
  ELT(1 + (s.h >> 3) %% 4, 10, 15, 30, 45),
  ELT(1 + (s.h2 >> 5) %% 10, 'completed','completed','completed','completed','completed','completed','scheduled','scheduled','cancelled','no_show'),
  ROUND(25 + (s.h %% 47500) / 100, 2),
  IF(s.h %% 6 = 0, NULL, CONCAT(%[3]s, IF(s.h2 %% 4 = 0, CONCAT(' - ref. ', LOWER(HEX(s.h ^ s.h2))), '')))
FROM (SELECT seq, CRC32(CONCAT('appt', seq)) AS h, CRC32(seq * 7919) AS h2 FROM seq_%[4]d_to_%[5]d) s`,
		patients, elt("s.h2 >> 7", departments...), elt("s.h >> 8", reasons...), from, to)
}

// fillDatabase creates the schema in db and inserts patients rows and twice
// as many appointments, in batches, as root over conn.
//
// The trigger and the routine are owned by user (the benchmark's database
// user), as the application's own objects would be, so its dumps can read
// their definitions.
func fillDatabase(ctx context.Context, root *sql.DB, db, user string, patients int, logf func(string, ...any)) error {
	definer := "'" + strings.ReplaceAll(user, "'", "''") + "'@'%'"
	conn, err := root.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			short := q
			if len(short) > 200 {
				short = short[:200] + "..."
			}
			return fmt.Errorf("%s: %w", short, err)
		}
		return nil
	}
	for _, q := range []string{
		"USE `" + db + "`",
		"SET SESSION foreign_key_checks = 0",
		"SET SESSION unique_checks = 0",
		createPatients,
		createAppointments,
		// A trigger and a routine, so --routines/--triggers have work.
		"CREATE DEFINER=" + definer + ` TRIGGER patients_touch BEFORE UPDATE ON patients FOR EACH ROW SET NEW.updated_at = CURRENT_TIMESTAMP`,
		"CREATE DEFINER=" + definer + ` PROCEDURE patient_count(OUT n INT) READS SQL DATA SELECT COUNT(*) INTO n FROM patients`,
	} {
		if err := exec(q); err != nil {
			return err
		}
	}
	const batch = 100000
	start := time.Now()
	for from := 1; from <= patients; from += batch {
		to := min(from+batch-1, patients)
		if err := exec(patientsInsert(from, to)); err != nil {
			return err
		}
	}
	logf("  patients: %d rows in %v", patients, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	appts := 2 * patients
	for from := 1; from <= appts; from += batch {
		to := min(from+batch-1, appts)
		if err := exec(appointmentsInsert(from, to, patients)); err != nil {
			return err
		}
	}
	logf("  appointments: %d rows in %v", appts, time.Since(start).Round(time.Millisecond))
	return exec("ANALYZE TABLE patients, appointments")
}

// rowCounts returns the rows in patients and appointments.
func rowCounts(ctx context.Context, root *sql.DB, db string) (p, a int64, err error) {
	if err = root.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+db+"`.patients").Scan(&p); err != nil {
		return
	}
	err = root.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+db+"`.appointments").Scan(&a)
	return
}
