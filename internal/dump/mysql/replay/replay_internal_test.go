package replay

import (
	"errors"
	"slices"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/sqlsplit"
)

func TestClassify(t *testing.T) {
	rp := &replayer{}
	create := sqlsplit.Statement{Text: []byte("CREATE TABLE `p``q` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"), Section: sqlsplit.SectionStructure, Table: "p`q"}
	if k := rp.classify(create); k != kindSchema || rp.lastTable != "p`q" || !rp.parallel {
		t.Fatalf("CREATE TABLE: kind %v, table %q, parallel %v", k, rp.lastTable, rp.parallel)
	}
	data := func(text string) sqlsplit.Statement {
		return sqlsplit.Statement{Text: []byte(text), Section: sqlsplit.SectionData, Table: "p`q"}
	}
	for text, want := range map[string]kind{
		"INSERT INTO `p``q` VALUES (1)":                                  kindData,
		"INSERT IGNORE INTO `p``q` VALUES (1)":                           kindData,
		"REPLACE INTO `p``q` VALUES (1)":                                 kindData,
		"INSERT INTO `other` VALUES (1)":                                 kindSchema,
		"LOCK TABLES `p``q` WRITE":                                       kindSkip,
		"UNLOCK TABLES":                                                  kindSkip,
		"/*!40000 ALTER TABLE `p``q` DISABLE KEYS */":                    kindSchema,
		"/*!40101 SET NAMES utf8mb4 */":                                  kindSession,
		"/*M!101100 SET @@session.system_versioning_insert_history=1 */": kindSession,
		"SET @@GLOBAL.GTID_PURGED='x'":                                   kindSchema,
	} {
		if got := rp.classify(data(text)); got != want {
			t.Errorf("%s: kind %v, want %v", text, got, want)
		}
	}
	// Outside the data section, an INSERT runs in order on the schema connection.
	if got := rp.classify(sqlsplit.Statement{Text: []byte("INSERT INTO `p``q` VALUES (1)"), Section: sqlsplit.SectionStructure, Table: "p`q"}); got != kindSchema {
		t.Errorf("INSERT outside the data section: %v", got)
	}
	// Tables whose row order follows insertion load on one connection.
	for _, ddl := range []string{
		"CREATE TABLE `p``q` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB",
		"CREATE TABLE `p``q` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=MyISAM",
		"CREATE TABLE `p``q` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=Aria",
	} {
		rp.classify(sqlsplit.Statement{Text: []byte(ddl)})
		if got := rp.classify(data("INSERT INTO `p``q` VALUES (1)")); got != kindSerialData {
			t.Errorf("%s: its INSERTs are %v, want serial", ddl, got)
		}
	}
}

func TestLeadingWords(t *testing.T) {
	for text, want := range map[string][]string{
		"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER x": {"CREATE", "DEFINER"},
		"/*!40101 SET NAMES utf8mb4 */":                                              {"SET", "NAMES", "UTF"},
		"  unlock tables":                                                            {"UNLOCK", "TABLES"},
		"(SELECT 1)":                                                                 nil,
	} {
		if got := leadingWords([]byte(text), 3); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}

func TestRecognize(t *testing.T) {
	for _, head := range []string{
		"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n",
		"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n",
	} {
		if err := Recognize([]byte(head)); err != nil {
			t.Errorf("%q: %v", head, err)
		}
	}
	for _, head := range []string{"CREATE TABLE t (i INT);", "", "-- MariaDB dump 10.19\nCREATE DATABASE x;\nUSE `x`;\n"} {
		if err := Recognize([]byte(head)); !errors.Is(err, ErrNotADump) {
			t.Errorf("%q: %v, want ErrNotADump", head, err)
		}
	}
}
