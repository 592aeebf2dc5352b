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

// dataSet is one kind of database the benchmark fills: its schema and how
// to fill its tables for a given number of patients.
type dataSet struct {
	name string
	// about describes the data for the report.
	about string
	// schema builds the tables (and any trigger or routine); definer is
	// the quoted 'user'@'%' that owns the stored objects.
	schema func(definer string) []string
	tables []tableFill
}

// tableFill fills one table in batches: rows(patients) rows, inserted by
// insert(from, to, patients) for ids [from, to].
type tableFill struct {
	name   string
	rows   func(patients int) int
	insert func(from, to, patients int) string
}

// dataSets are the data sets -sizes can name; the first is the default.
var dataSets = []dataSet{
	{
		name:  "mixed",
		about: "patients with a free-text notes column (clinical prose, vital signs, base64 attachments for a third of the rows) and two appointments per patient, a trigger and a routine; compresses to about 25% with gzip -6",
		schema: func(definer string) []string {
			return []string{
				createPatients,
				createAppointments,
				// A trigger and a routine, so --routines/--triggers have work.
				"CREATE DEFINER=" + definer + ` TRIGGER patients_touch BEFORE UPDATE ON patients FOR EACH ROW SET NEW.updated_at = CURRENT_TIMESTAMP`,
				"CREATE DEFINER=" + definer + ` PROCEDURE patient_count(OUT n INT) READS SQL DATA SELECT COUNT(*) INTO n FROM patients`,
			}
		},
		tables: []tableFill{
			{"patients", func(p int) int { return p }, func(from, to, _ int) string { return patientsInsert(from, to) }},
			{"appointments", func(p int) int { return 2 * p }, appointmentsInsert},
		},
	},
	{
		name:   "text",
		about:  "one patients table of 37 short text columns (names, codes, addresses, dates as text; no free text, no blobs); compresses to about 20% with gzip -6",
		schema: func(string) []string { return []string{createTextPatients} },
		tables: []tableFill{
			{"patients", func(p int) int { return p }, func(from, to, _ int) string { return textPatientsInsert(from, to) }},
		},
	},
}

// findDataSet returns the data set of that name.
func findDataSet(name string) (*dataSet, error) {
	var names []string
	for i := range dataSets {
		if dataSets[i].name == name {
			return &dataSets[i], nil
		}
		names = append(names, dataSets[i].name)
	}
	return nil, fmt.Errorf("unknown data set %q (have %s)", name, strings.Join(names, ", "))
}

// fill creates the data set's schema in db and fills its tables for
// patients patients, in batches, as root.
//
// The trigger and the routine are owned by user (the benchmark's database
// user), as the application's own objects would be, so its dumps can read
// their definitions.
func (d *dataSet) fill(ctx context.Context, root *sql.DB, db, user string, patients int, logf func(string, ...any)) error {
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
	setup := []string{"USE `" + db + "`", "SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0"}
	for _, q := range append(setup, d.schema(definer)...) {
		if err := exec(q); err != nil {
			return err
		}
	}
	const batch = 100000
	var names []string
	for _, t := range d.tables {
		start := time.Now()
		rows := t.rows(patients)
		for from := 1; from <= rows; from += batch {
			if err := exec(t.insert(from, min(from+batch-1, rows), patients)); err != nil {
				return err
			}
		}
		logf("  %s: %d rows in %v", t.name, rows, time.Since(start).Round(time.Millisecond))
		names = append(names, t.name)
	}
	return exec("ANALYZE TABLE " + strings.Join(names, ", "))
}

// rowCounts returns the rows in each of the data set's tables.
func (d *dataSet) rowCounts(ctx context.Context, root *sql.DB, db string) ([]int64, error) {
	counts := make([]int64, len(d.tables))
	for i, t := range d.tables {
		if err := root.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+db+"`.`"+t.name+"`").Scan(&counts[i]); err != nil {
			return nil, fmt.Errorf("count %s: %w", t.name, err)
		}
	}
	return counts, nil
}

// The "text" data set: one patients table of short text columns only (no
// free text, no blobs, no second table), the shape of a registration
// system's master table. Its dump is highly compressible (about a fifth of
// its size with gzip -6), so compression is cheap and the pipeline's own
// overhead (pipes, copies, hand-offs) shows.
const createTextPatients = `CREATE TABLE patients (
  id INT UNSIGNED NOT NULL,
  mrn CHAR(10) NOT NULL,
  title VARCHAR(8) NOT NULL,
  first_name VARCHAR(50) NOT NULL,
  middle_name VARCHAR(50) NULL,
  last_name VARCHAR(50) NOT NULL,
  gender VARCHAR(8) NOT NULL,
  date_of_birth VARCHAR(10) NOT NULL,
  blood_type VARCHAR(3) NULL,
  marital_status VARCHAR(12) NOT NULL,
  phone VARCHAR(20) NULL,
  mobile VARCHAR(20) NULL,
  email VARCHAR(120) NULL,
  preferred_contact VARCHAR(8) NOT NULL,
  address VARCHAR(120) NOT NULL,
  city VARCHAR(60) NOT NULL,
  region VARCHAR(40) NOT NULL,
  postal_code VARCHAR(10) NOT NULL,
  country VARCHAR(40) NOT NULL,
  language VARCHAR(20) NOT NULL,
  religion VARCHAR(20) NULL,
  ethnicity VARCHAR(30) NULL,
  occupation VARCHAR(40) NOT NULL,
  insurer VARCHAR(40) NOT NULL,
  insurance_number VARCHAR(24) NULL,
  gp_name VARCHAR(60) NOT NULL,
  gp_practice VARCHAR(60) NOT NULL,
  next_of_kin VARCHAR(60) NULL,
  next_of_kin_relation VARCHAR(20) NULL,
  next_of_kin_phone VARCHAR(20) NULL,
  pharmacy VARCHAR(80) NOT NULL,
  referral_source VARCHAR(30) NOT NULL,
  allergies VARCHAR(60) NOT NULL,
  ward VARCHAR(30) NOT NULL,
  status VARCHAR(12) NOT NULL,
  registered_at VARCHAR(19) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`

var (
	regions     = []string{"North", "South", "East", "West", "Central", "Highlands", "Lowlands", "Coast", "Valley", "Lakes"}
	marital     = []string{"single", "married", "divorced", "widowed", "partnered"}
	languages   = []string{"English", "Spanish", "Portuguese", "French", "Polish", "Arabic", "Mandarin", "Urdu", "Yoruba", "German"}
	occupations = []string{"teacher", "nurse", "retired", "student", "engineer", "driver", "shop assistant", "farmer", "accountant",
		"cleaner", "electrician", "unemployed", "software developer", "chef", "police officer", "carer"}
	insurers = []string{"National Health Service", "Blue Shield Mutual", "Acme Health Insurance", "Guardian Care", "Unity Health Plan",
		"Self-pay"}
	relations = []string{"spouse", "daughter", "son", "mother", "father", "sister", "brother", "friend", "partner"}
	allergies = []string{"none known", "none known", "none known", "penicillin", "peanuts", "latex", "shellfish", "aspirin",
		"sulfonamides", "pollen, dust"}
	wards       = []string{"outpatient", "Ward 1A", "Ward 2B", "Ward 3C", "Maternity", "Paediatrics", "Day Surgery", "ICU"}
	statuses    = []string{"active", "active", "active", "active", "discharged", "deceased", "transferred"}
	titles      = []string{"Mr", "Mrs", "Ms", "Miss", "Dr", "Mx"}
	contacts    = []string{"phone", "email", "post", "sms"}
	religions   = []string{"none", "Christian", "Muslim", "Hindu", "Jewish", "Buddhist", "Sikh", "not stated"}
	ethnicities = []string{"White", "Black", "Asian", "Hispanic", "Mixed", "Other", "not stated"}
	referrals   = []string{"self", "GP referral", "emergency department", "specialist referral", "transfer", "walk-in"}
)

// textPatientsInsert fills the text data set's patients ids [from, to].
func textPatientsInsert(from, to int) string {
	fn := elt("s.h", firstNames...)
	ln := elt("s.h2 >> 3", lastNames...)
	return fmt.Sprintf(`INSERT INTO patients
SELECT s.seq,
  CONCAT('MRN', LPAD(s.seq, 7, '0')),
  %[1]s,
  %[2]s,
  IF(s.h %% 3 = 0, NULL, %[3]s),
  %[4]s,
  %[5]s,
  DATE_FORMAT(DATE '1930-01-01' + INTERVAL (s.h %% 33000) DAY, '%%Y-%%m-%%d'),
  IF(s.h2 %% 7 = 0, NULL, %[6]s),
  %[7]s,
  CONCAT('+1-', 200 + (s.h >> 5) %% 800, '-555-', LPAD(s.h2 %% 10000, 4, '0')),
  IF(s.h2 %% 4 = 0, NULL, CONCAT('+1-', 300 + (s.h2 >> 7) %% 700, '-', LPAD((s.h >> 3) %% 10000000, 7, '0'))),
  IF(s.h %% 11 = 0, NULL, CONCAT(LOWER(REPLACE(%[2]s, ' ', '')), '.', LOWER(REPLACE(REPLACE(%[4]s, ' ', ''), '''', '')), '@', %[8]s)),
  %[24]s,
  CONCAT(1 + s.h2 %% 999, ' ', %[9]s, ' ', %[10]s),
  %[11]s,
  %[12]s,
  LPAD((s.h >> 7) %% 100000, 5, '0'),
  'United States',
  %[13]s,
  IF(s.h2 %% 6 = 0, NULL, %[25]s),
  IF(s.h %% 6 = 0, NULL, %[26]s),
  %[14]s,
  %[15]s,
  IF(s.h %% 9 = 0, NULL, CONCAT('INS-', LPAD(s.h2 %% 1000000, 6, '0'))),
  CONCAT('Dr ', %[16]s),
  CONCAT(%[29]s, ' Family Practice'),
  IF(s.h2 %% 5 = 0, NULL, CONCAT(%[17]s, ' ', %[4]s)),
  IF(s.h2 %% 5 = 0, NULL, %[18]s),
  IF(s.h2 %% 5 = 0, NULL, CONCAT('+1-', 200 + (s.h2 >> 17) %% 800, '-555-', LPAD((s.h >> 9) %% 10000, 4, '0'))),
  CONCAT(%[27]s, ' Pharmacy, ', %[11]s),
  %[28]s,
  %[19]s,
  %[20]s,
  %[21]s,
  DATE_FORMAT(TIMESTAMP '2012-01-01 00:00:00' + INTERVAL (s.h2 %% 4100) DAY, '%%Y-%%m-%%d 09:00:00')
FROM (SELECT seq, CRC32(seq) AS h, CRC32(CONCAT('hms', seq)) AS h2 FROM seq_%[22]d_to_%[23]d) s`,
		elt("s.h2 >> 14", titles...),
		fn,
		elt("s.h >> 15", firstNames...),
		ln,
		elt("s.h >> 4", "female", "male", "other"),
		elt("s.h2 >> 2", bloodTypes...),
		elt("s.h >> 11", marital...),
		elt("s.h2 >> 9", "example.org", "mail.example.com", "example.net", "inbox.example"),
		elt("s.h >> 6", streets...),
		elt("s.h2 >> 6", streetKinds...),
		elt("s.h >> 10", cities...),
		elt("s.h2 >> 10", regions...),
		elt("s.h >> 12", languages...),
		elt("s.h2 >> 11", occupations...),
		elt("s.h >> 13", insurers...),
		elt("s.h2 >> 13", lastNames...),
		elt("s.h >> 16", firstNames...),
		elt("s.h2 >> 15", relations...),
		elt("s.h >> 17", allergies...),
		elt("s.h2 >> 16", wards...),
		elt("s.h >> 18", statuses...),
		from, to,
		elt("s.h >> 19", contacts...),
		elt("s.h2 >> 18", religions...),
		elt("s.h >> 20", ethnicities...),
		elt("s.h2 >> 19", streets...),
		elt("s.h >> 21", referrals...),
		elt("s.h2 >> 20", cities...))
}
