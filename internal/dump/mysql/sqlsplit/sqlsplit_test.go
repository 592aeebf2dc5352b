package sqlsplit_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/hmsbackup/hmsbackup/internal/dump/mysql/sqlsplit"
)

// split returns every statement of input, read through r (so tests can
// make reads short), or the first error.
func split(r io.Reader, max int) ([]sqlsplit.Statement, error) {
	s := sqlsplit.New(r, max)
	var out []sqlsplit.Statement
	for {
		st, err := s.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		st.Text = bytes.Clone(st.Text)
		if err := sqlsplit.Check(st); err != nil {
			return out, err
		}
		out = append(out, st)
	}
}

func texts(sts []sqlsplit.Statement) []string {
	var out []string
	for _, st := range sts {
		out = append(out, string(st.Text))
	}
	return out
}

func TestSplitTrickyInput(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"semicolons and quotes in strings",
			`INSERT INTO t VALUES ('a;b', "c;d", 'it''s; fine', 'back\'slash;', "dq\";", 'x\\');` + "\nSELECT 1;",
			[]string{`INSERT INTO t VALUES ('a;b', "c;d", 'it''s; fine', 'back\'slash;', "dq\";", 'x\\')`, "SELECT 1"}},
		{"backticks do not escape",
			"CREATE TABLE `a;b``c\\` (`x` INT);SELECT 2;",
			[]string{"CREATE TABLE `a;b``c\\` (`x` INT)", "SELECT 2"}},
		{"comments before statements are dropped, inside kept",
			"-- one;\n# two;\n/* three; */ SELECT /* in; */ 1 -- tail;\n, 2;\n",
			[]string{"SELECT /* in; */ 1 -- tail;\n, 2"}},
		{"dash dash needs a space",
			"SELECT 1--1;SELECT 3;",
			[]string{"SELECT 1--1", "SELECT 3"}},
		{"comment markers inside strings are data",
			"INSERT INTO t VALUES ('*/', '/*', '-- x', '# y', \"/*!50001 z */\");",
			[]string{"INSERT INTO t VALUES ('*/', '/*', '-- x', '# y', \"/*!50001 z */\")"}},
		{"conditional comments are code",
			"/*!40101 SET NAMES utf8mb4 */;\n/*M!100100 SET x=1 */;\n",
			[]string{"/*!40101 SET NAMES utf8mb4 */", "/*M!100100 SET x=1 */"}},
		{"delimiter blocks",
			"DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';;'; END ;;\nDELIMITER ;\nSELECT 4;\ndelimiter $$\nSELECT 5$$\n",
			[]string{"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';;'; END", "SELECT 4", "SELECT 5"}},
		{"hex blobs and empty statements",
			"INSERT INTO b VALUES (0x00FF27225C3B,0x);;\n;\nSELECT 6",
			[]string{"INSERT INTO b VALUES (0x00FF27225C3B,0x)", "SELECT 6"}},
		{"sandbox line",
			"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\nSELECT 7;",
			[]string{"SELECT 7"}},
		{"CRLF and NUL bytes",
			"SELECT 'a\x00b';\r\nSELECT 8;\r\n",
			[]string{"SELECT 'a\x00b'", "SELECT 8"}},
		{"newlines in strings",
			"INSERT INTO t VALUES ('line1\nline2;');\nSELECT 9;",
			[]string{"INSERT INTO t VALUES ('line1\nline2;')", "SELECT 9"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(c.in), iotest.OneByteReader(strings.NewReader(c.in))} {
				got, err := split(r, 0)
				if err != nil {
					t.Fatalf("split: %v", err)
				}
				if g, w := strings.Join(texts(got), "\n|\n"), strings.Join(c.want, "\n|\n"); g != w {
					t.Errorf("got\n%s\nwant\n%s", g, w)
				}
			}
		})
	}
}

func TestSplitLinesAndSections(t *testing.T) {
	in := "-- MariaDB dump\n--\n-- Table structure for table `a``b`\n--\n\nDROP TABLE IF EXISTS `a``b`;\n" +
		"CREATE TABLE `a``b` (\n  `x` text\n);\n--\n-- Dumping data for table `a``b`\n--\n\nINSERT INTO `a``b` VALUES ('x\n;'),\n('y');\n" +
		"--\n-- Dumping routines for database 'd'\n--\nSELECT 1;\n"
	got, err := split(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line    int
		section sqlsplit.Section
		table   string
	}{
		{6, sqlsplit.SectionStructure, "a`b"},
		{7, sqlsplit.SectionStructure, "a`b"},
		{14, sqlsplit.SectionData, "a`b"},
		{20, sqlsplit.SectionRoutines, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d statements %q, want %d", len(got), texts(got), len(want))
	}
	for i, w := range want {
		if got[i].Line != w.line || got[i].Section != w.section || got[i].Table != w.table {
			t.Errorf("statement %d %q: line %d, %s, %q; want line %d, %s, %q", i, got[i].Text, got[i].Line, got[i].Section, got[i].Table, w.line, w.section, w.table)
		}
		if string(got[i].Text) != in[got[i].Start:got[i].End] {
			t.Errorf("statement %d: Start/End %d/%d do not frame its text", i, got[i].Start, got[i].End)
		}
	}
}

func TestSplitRefusesWhatItCannotProve(t *testing.T) {
	for _, in := range []string{
		"SELECT 1;\n\\! rm -rf /\n",
		"SELECT 1 \\G\n",
		"USE other;\nSELECT 1;",
		"source /etc/passwd;",
		"DELIMITER\n",
		"DELIMITER 'x'\n",
		"DELIMITER ;; extra\n",
		"SELECT /*!50001 1 /*!50002 2 */ */;",
	} {
		_, err := split(strings.NewReader(in), 0)
		if !errors.Is(err, sqlsplit.ErrUnsupported) {
			t.Errorf("%q: error %v, want ErrUnsupported", in, err)
		}
	}
}

func TestSplitTruncatedAndTooLarge(t *testing.T) {
	for _, in := range []string{"INSERT INTO t VALUES ('cut", "SELECT 1 /* cut", "SELECT `cut", "SELECT \"a\\"} {
		_, err := split(strings.NewReader(in), 0)
		var te *sqlsplit.TruncatedError
		if !errors.As(err, &te) {
			t.Errorf("%q: error %v, want a TruncatedError", in, err)
		}
	}
	// A statement at EOF without a delimiter runs, as with the client.
	got, err := split(strings.NewReader("SELECT 1; SELECT 2"), 0)
	if err != nil || len(got) != 2 || !got[1].Unterminated || got[0].Unterminated {
		t.Errorf("last statement without delimiter: %q, %v", texts(got), err)
	}

	big := "INSERT INTO t VALUES ('" + strings.Repeat("x", 3<<20) + "');SELECT 1;"
	got, err = split(strings.NewReader(big), 4<<20)
	if err != nil || len(got) != 2 || len(got[0].Text) != len(big)-len(";SELECT 1;") {
		t.Errorf("3 MiB statement under a 4 MiB limit: %d statements, %v", len(got), err)
	}
	_, err = split(strings.NewReader(big), 1<<20)
	var tl *sqlsplit.TooLargeError
	if !errors.As(err, &tl) || tl.Line != 1 {
		t.Errorf("3 MiB statement under a 1 MiB limit: %v, want a TooLargeError at line 1", err)
	}
}

func TestSplitReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("SELECT 1;\nINSERT INTO t VALUES (1"), iotest.ErrReader(boom))
	got, err := split(r, 0)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Errorf("got %q, %v; want SELECT 1 then the read error (never the cut INSERT)", texts(got), err)
	}
}

// inString is an independent, naive scan: whether text leaves a quoted
// string or comment open.
func inString(text []byte) bool {
	q := endState(text)
	return q != 0 && q != '\n'
}

// endState is the naive scan's state at the end of text: 0 in code, '\n'
// in a line comment, '*' in a block comment, else the open quote.
func endState(text []byte) byte {
	var q byte
	cond := false // inside /*! */, which is code
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case q == '*':
			if c == '*' && i+1 < len(text) && text[i+1] == '/' {
				q, i = 0, i+1
			}
		case q == '\n':
			if c == '\n' {
				q = 0
			}
		case q != 0:
			if c == '\\' && q != '`' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\'' || c == '"' || c == '`':
			q = c
		case c == '#' || c == '-' && i+2 < len(text) && text[i+1] == '-' && text[i+2] <= ' ':
			q = '\n'
		case c == '/' && i+2 < len(text) && text[i+1] == '*' && (text[i+2] == '!' || text[i+2] == 'M' && i+3 < len(text) && text[i+3] == '!'):
			cond, i = true, i+1
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			q, i = '*', i+1
		case cond && c == '*' && i+1 < len(text) && text[i+1] == '/':
			cond, i = false, i+1
		}
	}
	return q
}

// checkSplit is the fuzz property: no panic (by running), statements in
// order framed by Start/End, none ends inside a string, and joining them
// back with their delimiters splits into the same statements.
func checkSplit(t *testing.T, in []byte) {
	got, err := split(bytes.NewReader(in), 1<<20)
	var end int64
	for i, st := range got {
		if st.Start < end || st.End < st.Start || st.End > int64(len(in)) || !bytes.Equal(in[st.Start:st.End], st.Text) {
			t.Fatalf("statement %d: Start/End %d/%d do not frame %q", i, st.Start, st.End, st.Text)
		}
		end = st.End
		if inString(st.Text) {
			t.Fatalf("statement %d ends inside a string or comment: %q", i, st.Text)
		}
	}
	if err != nil {
		return
	}
	var joined bytes.Buffer
	for _, st := range got {
		joined.WriteString("DELIMITER " + st.Delimiter + "\n")
		joined.Write(st.Text)
		if !st.Unterminated {
			switch {
			case endState(st.Text) == '\n':
				joined.WriteString("\n") // end the line comment
			case !bytes.HasSuffix(st.Text, []byte("-")):
				// Keep the text's own last bytes from running into the
				// delimiter (";" then ";;" would read as ";;" then ";"),
				// but not after a dash ("x--" then " " is a comment).
				joined.WriteString(" ")
			}
			joined.WriteString(st.Delimiter + "\n")
		}
	}
	again, err := split(&joined, 1<<20)
	if err != nil {
		t.Fatalf("re-splitting the joined statements: %v\n%q", err, joined.String())
	}
	if g, w := strings.Join(texts(again), "\x00|"), strings.Join(texts(got), "\x00|"); g != w {
		t.Fatalf("re-split differs:\n%q\nwant\n%q", g, w)
	}
}

// seeds are the dumps in testdata (real mariadb-dump output and
// hand-written tricky ones).
func seeds(t testing.TB) [][]byte {
	files, err := filepath.Glob("testdata/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed dumps in testdata: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestSeedDumpsSplit(t *testing.T) {
	for _, b := range seeds(t) {
		got, err := split(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatalf("split: %v", err)
		}
		if len(got) < 10 {
			t.Fatalf("only %d statements", len(got))
		}
		checkSplit(t, b)
	}
}

func FuzzSplit(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	for _, s := range []string{
		"SELECT 'a;b';SELECT \"c\\\";\";", "DELIMITER ;;\nSELECT 1;;\nDELIMITER ;\n", "/*!40101 SET a=1 */;",
		"INSERT INTO t VALUES (0x00,'\\\\',`x``y`);", "-- c\n# d\n/* e */SELECT 1", "SELECT 1 -- x\n;",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkSplit)
}
