// Package sqlsplit splits the output of mysqldump and mariadb-dump into
// statements the way the mariadb command-line client does in batch,
// binary mode: it streams, so only the current statement is held in
// memory, and it refuses (UnsupportedError) anything it cannot prove it
// splits exactly as the client would, so that a caller can hand such a
// dump to the client instead.
//
// What it understands: quoted strings ('...', "...", `...`) with
// backslash escapes (in ' and ") and doubled quotes; -- and # line
// comments and /* */ comments, which are dropped before a statement;
// /*!NNNNN ... */ and /*M!NNNNNN ... */ conditional comments, which are
// code to the client and are passed on as they are; DELIMITER lines; the
// "sandbox mode" first line of recent mariadb-dump; hex literals (plain
// code). Each statement carries its line number and the dump section it
// is in (from mysqldump's "-- Dumping data for table `t`" comments).
package sqlsplit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultMaxStatement is the largest statement a Splitter accepts unless
// told otherwise: the server's own ceiling for max_allowed_packet.
const DefaultMaxStatement = 1 << 30

// Section is the part of a dump a statement is in, as mysqldump's
// comments announce it.
type Section int

const (
	// SectionHeader is everything before the first table's comment.
	SectionHeader Section = iota
	// SectionStructure follows "-- Table structure for table `t`".
	SectionStructure
	// SectionData follows "-- Dumping data for table `t`".
	SectionData
	// SectionView follows "-- Temporary table structure for view `v`" or
	// "-- Final view structure for view `v`".
	SectionView
	// SectionRoutines follows "-- Dumping routines/events for database".
	SectionRoutines
)

func (s Section) String() string {
	switch s {
	case SectionHeader:
		return "header"
	case SectionStructure:
		return "structure"
	case SectionData:
		return "data"
	case SectionView:
		return "view"
	case SectionRoutines:
		return "routines"
	}
	return fmt.Sprintf("Section(%d)", int(s))
}

// Statement is one statement of the dump.
type Statement struct {
	// Text is the statement as the client would send it: without the
	// delimiter, leading comments and surrounding white space. It is only
	// valid until the next call of Next.
	Text []byte
	// Line is the 1-based line of the dump where Text starts.
	Line int
	// Start and End are Text's byte offsets in the input.
	Start, End int64
	// Section and Table say where in the dump the statement is: the last
	// section comment seen and the table or view it names ("" for
	// sections about the whole database).
	Section Section
	Table   string
	// Delimiter is the delimiter in effect, which ended the statement
	// unless Unterminated.
	Delimiter string
	// Unterminated is set on a last statement that the input ended
	// (cleanly) before any delimiter; the client runs such a statement too.
	Unterminated bool
}

// UnsupportedError says that the input holds something the Splitter
// cannot prove it splits as the client would.
type UnsupportedError struct {
	Line   int
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// ErrUnsupported is matched by every *UnsupportedError (errors.Is).
var ErrUnsupported = errors.New("not understood by the statement splitter")

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// TooLargeError is a statement longer than the limit.
type TooLargeError struct {
	Line  int
	Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the statement at line %d is larger than %d bytes (the most a server accepts, max_allowed_packet)", e.Line, e.Limit)
}

// TruncatedError is input that ends inside a string or comment: a cut-off
// dump.
type TruncatedError struct {
	Line int // where the string or comment began
	What string
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("the dump ends inside %s that begins at line %d: it is cut off", e.What, e.Line)
}

// scan states
const (
	stCode = iota
	stSingle
	stDouble
	stBacktick
	stLineComment
	stBlockComment
)

const (
	readSize  = 1 << 20
	lookahead = 16 // enough for "/*M!", "-- ", and any delimiter we accept
	// maxDelimiter is the longest DELIMITER accepted.
	maxDelimiter = lookahead - 1
)

// sandboxLine is the first line of mariadb-dump 10.11.8+ output: a client
// command (\-) inside a comment the server ignores.
var sandboxLine = []byte(`/*M!999999\- enable the sandbox mode */`)

// clientCommands are words the client treats as its own commands when
// they start a statement; a dump that holds one is not replayed.
var clientCommands = map[string]bool{
	"use": true, "source": true, "connect": true, "charset": true, "system": true,
	"pager": true, "nopager": true, "tee": true, "notee": true, "print": true,
	"prompt": true, "quit": true, "exit": true, "rehash": true, "status": true,
	"warnings": true, "nowarning": true, "help": true, "clear": true, "edit": true,
	"ego": true, "go": true, "delimiter": true,
}

// Splitter reads statements from a dump.
type Splitter struct {
	r    io.Reader
	buf  []byte
	pos  int   // scan position in buf
	end  int   // end of valid data in buf
	base int64 // input offset of buf[0]
	eof  bool
	err  error // read error, returned once the buffer is used up
	max  int
	line int

	started  bool // past the first statement's start (sandbox line check)
	delim    []byte
	delimStr string
	special  [4][256]bool // per string state: the bytes that end a fast scan
	section  Section
	table    string
}

// New returns a Splitter reading r that refuses statements longer than
// max bytes (DefaultMaxStatement if max <= 0).
func New(r io.Reader, max int) *Splitter {
	if max <= 0 {
		max = DefaultMaxStatement
	}
	s := &Splitter{r: r, buf: make([]byte, readSize+lookahead), max: max, line: 1, delim: []byte(";"), delimStr: ";"}
	s.special[stSingle]['\''], s.special[stSingle]['\\'], s.special[stSingle]['\n'] = true, true, true
	s.special[stDouble]['"'], s.special[stDouble]['\\'], s.special[stDouble]['\n'] = true, true, true
	s.special[stBacktick]['`'], s.special[stBacktick]['\n'] = true, true
	return s
}

// Line is the current line.
func (s *Splitter) Line() int { return s.line }

// Delimiter is the current delimiter.
func (s *Splitter) Delimiter() string { return string(s.delim) }

// fill makes at least n bytes available from s.pos, unless the input ends
// first; bytes from keep on are kept (keep <= s.pos). It returns the
// shift applied to indices into buf (they all move down by it).
func (s *Splitter) fill(keep, n int) (shift int, err error) {
	for s.end-s.pos < n && !s.eof {
		if s.end == len(s.buf) {
			if keep > 0 {
				copy(s.buf, s.buf[keep:s.end])
				s.end -= keep
				s.pos -= keep
				s.base += int64(keep)
				shift += keep
				keep = 0
			} else {
				if s.end >= s.max+lookahead {
					return shift, errTooLarge
				}
				nb := make([]byte, min(2*len(s.buf), s.max+2*lookahead))
				copy(nb, s.buf[:s.end])
				s.buf = nb
			}
		}
		k, rerr := s.r.Read(s.buf[s.end:])
		s.end += k
		if rerr != nil {
			// The end, or a failure: either way no more bytes. A failure
			// is returned only where the end would end a statement, so a
			// statement cut off by it never comes out.
			s.eof = true
			if rerr != io.EOF {
				s.err = rerr
			}
		}
	}
	return shift, nil
}

var errTooLarge = errors.New("too large")

// Next returns the next statement, or io.EOF after the last one. Other
// errors: *UnsupportedError, *TooLargeError, *TruncatedError, or the
// reader's error. After an error, Next must not be called again.
func (s *Splitter) Next() (Statement, error) {
	if err := s.skip(); err != nil {
		return Statement{}, err
	}
	return s.scan()
}

// skip moves past white space, comments, DELIMITER lines and empty
// statements to the first byte of the next statement; io.EOF if there is
// none.
func (s *Splitter) skip() error {
	for {
		if _, err := s.fill(s.pos, lookahead); err != nil {
			return s.readErr(err)
		}
		if s.pos >= s.end {
			if s.err != nil {
				return s.err
			}
			return io.EOF
		}
		if !s.started {
			if _, err := s.fill(s.pos, len(sandboxLine)); err != nil {
				return s.readErr(err)
			}
			s.started = true
			if s.end-s.pos >= len(sandboxLine) && bytes.Equal(s.buf[s.pos:s.pos+len(sandboxLine)], sandboxLine) {
				if err := s.skipLine(); err != nil {
					return err
				}
				continue
			}
		}
		c := s.buf[s.pos]
		switch {
		case c == '\n':
			s.line++
			s.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			s.pos++
		case c == '#':
			if err := s.skipLine(); err != nil {
				return err
			}
		case c == '-' && s.at("--") && s.dashComment(s.pos):
			if err := s.sectionComment(); err != nil {
				return err
			}
		case c == '/' && s.at("/*") && !s.conditionalAt(s.pos):
			if err := s.skipBlockComment(); err != nil {
				return err
			}
		case s.at(s.delimStr):
			s.pos += len(s.delim) // an empty statement: the client sends nothing
		case (c == 'd' || c == 'D') && s.atFold("delimiter") && (s.end-s.pos == 9 || s.buf[s.pos+9] <= ' '):
			if err := s.delimiterLine(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (s *Splitter) readErr(err error) error {
	if err == errTooLarge {
		return &TooLargeError{Line: s.line, Limit: s.max}
	}
	return err
}

// at reports whether buf[pos:] starts with p (p shorter than lookahead,
// which fill made available unless at EOF).
func (s *Splitter) at(p string) bool {
	return s.end-s.pos >= len(p) && string(s.buf[s.pos:s.pos+len(p)]) == p
}

func (s *Splitter) atFold(p string) bool {
	return s.end-s.pos >= len(p) && strings.EqualFold(string(s.buf[s.pos:s.pos+len(p)]), p)
}

// dashComment reports whether the "--" at i starts a comment: followed by
// white space, a control character, or the end.
func (s *Splitter) dashComment(i int) bool {
	return i+2 >= s.end || s.buf[i+2] <= ' '
}

// conditionalAt reports whether the "/*" at i opens a conditional comment
// (/*! or /*M!), which the client treats as code.
func (s *Splitter) conditionalAt(i int) bool {
	return (i+2 < s.end && s.buf[i+2] == '!') || (i+3 < s.end && s.buf[i+2] == 'M' && s.buf[i+3] == '!')
}

// skipLine moves past the rest of the line, its newline included.
func (s *Splitter) skipLine() error {
	for {
		if i := bytes.IndexByte(s.buf[s.pos:s.end], '\n'); i >= 0 {
			s.pos += i + 1
			s.line++
			return nil
		}
		s.pos = s.end
		if s.eof {
			return s.err
		}
		if _, err := s.fill(s.pos, 1); err != nil {
			return s.readErr(err)
		}
	}
}

// lineLimit bounds the comment lines read whole for section names.
const lineLimit = 4096

// sectionComment moves past a -- comment line, taking the section from it.
func (s *Splitter) sectionComment() error {
	if _, err := s.fill(s.pos, lineLimit); err != nil {
		return s.readErr(err)
	}
	line := s.buf[s.pos:s.end]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	s.parseSection(string(bytes.TrimRight(line[min(len(line), 3):], "\r \t")))
	return s.skipLine()
}

var sectionPrefixes = []struct {
	prefix  string
	section Section
}{
	{"Table structure for table ", SectionStructure},
	{"Dumping data for table ", SectionData},
	{"Temporary table structure for view ", SectionView},
	{"Temporary view structure for view ", SectionView},
	{"Final view structure for view ", SectionView},
	{"Dumping events for database ", SectionRoutines},
	{"Dumping routines for database ", SectionRoutines},
}

func (s *Splitter) parseSection(c string) {
	for _, p := range sectionPrefixes {
		if rest, ok := strings.CutPrefix(c, p.prefix); ok {
			s.section = p.section
			s.table = ""
			if p.section != SectionRoutines {
				if name, n := ParseIdent([]byte(rest)); n == len(rest) {
					s.table = name
				} else {
					// A name the comment shows in a form we cannot read:
					// no table, so nothing is spread over connections.
					s.table = ""
				}
			}
			return
		}
	}
}

// ParseIdent reads a backquoted identifier at the start of b (doubled
// backquotes stand for one) and returns it and the bytes it took; n is 0
// if b does not start with one.
func ParseIdent(b []byte) (name string, n int) {
	if len(b) == 0 || b[0] != '`' {
		return "", 0
	}
	var sb strings.Builder
	for i := 1; i < len(b); i++ {
		if b[i] != '`' {
			sb.WriteByte(b[i])
			continue
		}
		if i+1 < len(b) && b[i+1] == '`' {
			sb.WriteByte('`')
			i++
			continue
		}
		return sb.String(), i + 1
	}
	return "", 0
}

// skipBlockComment moves past a /* */ comment.
func (s *Splitter) skipBlockComment() error {
	startLine := s.line
	s.pos += 2
	for {
		if _, err := s.fill(s.pos, 2); err != nil {
			return s.readErr(err)
		}
		if s.pos >= s.end {
			if s.err != nil {
				return s.err
			}
			return &TruncatedError{Line: startLine, What: "a comment"}
		}
		c := s.buf[s.pos]
		if c == '\n' {
			s.line++
		} else if c == '*' && s.pos+1 < s.end && s.buf[s.pos+1] == '/' {
			s.pos += 2
			return nil
		}
		s.pos++
	}
}

// delimiterLine reads a DELIMITER line.
func (s *Splitter) delimiterLine() error {
	if _, err := s.fill(s.pos, lineLimit); err != nil {
		return s.readErr(err)
	}
	line := s.buf[s.pos:s.end]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	} else if s.err != nil {
		return s.err
	} else if !s.eof {
		return &UnsupportedError{Line: s.line, Reason: "a DELIMITER line longer than 4 KiB"}
	}
	fields := strings.Fields(string(line[len("delimiter"):]))
	if len(fields) == 0 {
		return &UnsupportedError{Line: s.line, Reason: "DELIMITER without a delimiter"}
	}
	d := fields[0]
	if len(d) > maxDelimiter || strings.ContainsAny(d, "\\'\"`#") || strings.Contains(d, "/*") || strings.Contains(d, "--") {
		return &UnsupportedError{Line: s.line, Reason: fmt.Sprintf("DELIMITER %q", d)}
	}
	if len(fields) > 1 {
		return &UnsupportedError{Line: s.line, Reason: "text after the DELIMITER's delimiter"}
	}
	s.delim, s.delimStr = []byte(d), d
	return s.skipLine()
}

// scan reads a statement starting at s.pos.
func (s *Splitter) scan() (Statement, error) {
	start := s.pos
	startLine := s.line
	st := stCode
	strLine := 0
	cond := false
	d0 := s.delim[0]
	for {
		if s.end-s.pos < lookahead && !s.eof {
			shift, err := s.fill(start, lookahead)
			start -= shift
			if err != nil {
				if err == errTooLarge {
					return Statement{}, &TooLargeError{Line: startLine, Limit: s.max}
				}
				return Statement{}, err
			}
		}
		if s.pos >= s.end {
			if s.err != nil {
				return Statement{}, s.err
			}
			switch st {
			case stSingle, stDouble, stBacktick:
				return Statement{}, &TruncatedError{Line: strLine, What: "a quoted string"}
			case stBlockComment:
				return Statement{}, &TruncatedError{Line: strLine, What: "a comment"}
			}
			if cond {
				return Statement{}, &TruncatedError{Line: startLine, What: "a conditional comment"}
			}
			st := s.statement(start, s.end, startLine, s.delimStr)
			st.Unterminated = true
			return st, nil
		}
		if s.pos-start > s.max {
			return Statement{}, &TooLargeError{Line: startLine, Limit: s.max}
		}
		switch st {
		case stSingle, stDouble, stBacktick:
			tbl := &s.special[st]
			limit := s.end
			if !s.eof {
				limit -= 1 // keep a byte for an escape's operand
			}
			p := s.pos
			for p < limit && !tbl[s.buf[p]] {
				p++
			}
			s.pos = p
			if p >= limit {
				continue
			}
			switch c := s.buf[p]; c {
			case '\n':
				s.line++
				s.pos++
			case '\\':
				if p+1 < s.end && s.buf[p+1] == '\n' {
					s.line++
				}
				s.pos += 2
			default: // the closing quote (a doubled one reopens at once)
				st = stCode
				s.pos++
			}
		case stLineComment:
			if i := bytes.IndexByte(s.buf[s.pos:s.end], '\n'); i >= 0 {
				s.pos += i + 1
				s.line++
				st = stCode
			} else {
				s.pos = s.end
			}
		case stBlockComment:
			c := s.buf[s.pos]
			if c == '\n' {
				s.line++
			} else if c == '*' && s.pos+1 < s.end && s.buf[s.pos+1] == '/' {
				s.pos++
				st = stCode
			}
			s.pos++
		default:
			c := s.buf[s.pos]
			if c == d0 && s.at(s.delimStr) {
				stmt := s.statement(start, s.pos, startLine, s.delimStr)
				s.pos += len(s.delim)
				return stmt, nil
			}
			switch c {
			case '\n':
				s.line++
			case '\'':
				st, strLine = stSingle, s.line
			case '"':
				st, strLine = stDouble, s.line
			case '`':
				st, strLine = stBacktick, s.line
			case '#':
				st = stLineComment
			case '-':
				if s.at("--") && s.dashComment(s.pos) {
					st = stLineComment
				}
			case '/':
				if s.at("/*") {
					if s.conditionalAt(s.pos) {
						if cond {
							return Statement{}, &UnsupportedError{Line: s.line, Reason: "a conditional comment inside another"}
						}
						cond = true
						// Past the whole opener, "/*!" or "/*M!" (the
						// pos++ below takes its last byte).
						if s.buf[s.pos+2] == '!' {
							s.pos += 2
						} else {
							s.pos += 3
						}
					} else {
						st, strLine = stBlockComment, s.line
						s.pos++
					}
				}
			case '*':
				if cond && s.at("*/") {
					cond = false
					s.pos++
				}
			case '\\':
				return Statement{}, &UnsupportedError{Line: s.line, Reason: "a client command (backslash outside a quoted string)"}
			}
			s.pos++
		}
	}
}

// statement makes the Statement buf[start:end].
func (s *Splitter) statement(start, end, line int, delim string) Statement {
	text := s.buf[start:end]
	trimmed := bytes.TrimRight(text, " \t\r\n\f\v")
	return Statement{
		Text:      trimmed,
		Line:      line,
		Start:     s.base + int64(start),
		End:       s.base + int64(start+len(trimmed)),
		Section:   s.section,
		Table:     s.table,
		Delimiter: delim,
	}
}

// Check returns an *UnsupportedError if st starts with a word the client
// would take as one of its own commands.
func Check(st Statement) error {
	w := st.Text
	i := 0
	for i < len(w) && (w[i] >= 'a' && w[i] <= 'z' || w[i] >= 'A' && w[i] <= 'Z') {
		i++
	}
	if i < len(w) && w[i] != ' ' && w[i] != '\t' && w[i] != '\n' && w[i] != '\r' && w[i] != ';' {
		return nil
	}
	if clientCommands[strings.ToLower(string(w[:i]))] {
		return &UnsupportedError{Line: st.Line, Reason: fmt.Sprintf("a statement starting with %q, which the client takes as its own command", string(w[:i]))}
	}
	return nil
}
