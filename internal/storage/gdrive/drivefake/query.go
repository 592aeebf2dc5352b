package drivefake

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// parseQuery compiles the subset of Drive's query language the fake
// supports: terms joined by "and", each one of
//
//	name = 'x'   name != 'x'   name contains 'x'
//	mimeType = 'x'   mimeType != 'x'
//	'ID' in parents
//	trashed = true|false   trashed != true|false
//	appProperties has { key='k' and value='v' }
//
// Strings escape ' and \ with a backslash. An empty query matches every
// file, trashed ones included, as in Drive.
func parseQuery(q string) (func(*File) bool, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	var terms []func(*File) bool
	for len(toks) > 0 {
		term, rest, err := parseTerm(toks)
		if err != nil {
			return nil, err
		}
		terms = append(terms, term)
		toks = rest
		if len(toks) == 0 {
			break
		}
		if toks[0].kind != tokWord || !strings.EqualFold(toks[0].text, "and") {
			return nil, fmt.Errorf("unsupported query: expected 'and', got %q", toks[0].text)
		}
		toks = toks[1:]
		if len(toks) == 0 {
			return nil, errors.New("query ends with 'and'")
		}
	}
	return func(f *File) bool {
		for _, t := range terms {
			if !t(f) {
				return false
			}
		}
		return true
	}, nil
}

const (
	tokWord = iota
	tokString
	tokOp
)

type token struct {
	kind int
	text string
}

func tokenize(q string) ([]token, error) {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(q) {
				if q[i] == '\\' && i+1 < len(q) {
					b.WriteByte(q[i+1])
					i += 2
					continue
				}
				if q[i] == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(q[i])
				i++
			}
			if !closed {
				return nil, errors.New("unterminated string in query")
			}
			toks = append(toks, token{tokString, b.String()})
		case c == '{' || c == '}':
			toks = append(toks, token{tokOp, q[i : i+1]})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(q) && q[j] == '=' {
				j++
			}
			toks = append(toks, token{tokOp, q[i:j]})
			i = j
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			toks = append(toks, token{tokWord, q[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unsupported character %q in query", c)
		}
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func parseTerm(toks []token) (func(*File) bool, []token, error) {
	if len(toks) < 3 {
		return nil, nil, errors.New("incomplete query term")
	}
	a, op, b := toks[0], toks[1], toks[2]
	rest := toks[3:]
	// 'ID' in parents
	if a.kind == tokString && op.kind == tokWord && strings.EqualFold(op.text, "in") && b.kind == tokWord && b.text == "parents" {
		id := a.text
		return func(f *File) bool { return slices.Contains(f.Parents, id) }, rest, nil
	}
	if a.kind != tokWord {
		return nil, nil, fmt.Errorf("unsupported query term starting %q", a.text)
	}
	if a.text == "appProperties" && op.kind == tokWord && op.text == "has" {
		return parseHas(toks[2:])
	}
	switch a.text {
	case "name", "mimeType":
		if b.kind != tokString {
			return nil, nil, fmt.Errorf("%s needs a quoted string", a.text)
		}
		get := func(f *File) string { return f.Name }
		if a.text == "mimeType" {
			get = func(f *File) string { return f.MimeType }
		}
		v := b.text
		switch {
		case op.kind == tokOp && op.text == "=":
			return func(f *File) bool { return get(f) == v }, rest, nil
		case op.kind == tokOp && op.text == "!=":
			return func(f *File) bool { return get(f) != v }, rest, nil
		case op.kind == tokWord && op.text == "contains":
			return func(f *File) bool { return strings.Contains(get(f), v) }, rest, nil
		}
	case "trashed":
		if b.kind != tokWord || (b.text != "true" && b.text != "false") {
			return nil, nil, errors.New("trashed needs true or false")
		}
		v := b.text == "true"
		switch {
		case op.kind == tokOp && op.text == "=":
			return func(f *File) bool { return f.Trashed == v }, rest, nil
		case op.kind == tokOp && op.text == "!=":
			return func(f *File) bool { return f.Trashed != v }, rest, nil
		}
	}
	return nil, nil, fmt.Errorf("unsupported query term %q %q %q", a.text, op.text, b.text)
}

// fieldSet is a parsed "fields" parameter: each selected key with its
// sub-selection; a nil fieldSet selects everything.
type fieldSet map[string]fieldSet

// parseFields parses e.g. "nextPageToken, files(id, name, size)" or
// "files/id"; "" and "*" select everything.
func parseFields(s string) fieldSet {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return nil
	}
	out := fieldSet{}
	for _, item := range splitTopLevel(s) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if item == "*" {
			return nil
		}
		name, sub := item, ""
		if i := strings.IndexByte(item, '('); i >= 0 && strings.HasSuffix(item, ")") {
			name, sub = strings.TrimSpace(item[:i]), item[i+1:len(item)-1]
		} else if i := strings.IndexByte(item, '/'); i >= 0 {
			name, sub = item[:i], item[i+1:]
		}
		if sub == "" {
			out[name] = nil
			continue
		}
		prev, seen := out[name]
		if seen && prev == nil {
			continue // already everything
		}
		next := parseFields(sub)
		if next == nil {
			out[name] = nil
			continue
		}
		if prev == nil {
			prev = fieldSet{}
		}
		for k, v := range next {
			prev[k] = v
		}
		out[name] = prev
	}
	return out
}

func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// selectFields keeps the keys of v that sel selects, recursing into
// objects and arrays of objects.
func selectFields(v map[string]any, sel fieldSet) map[string]any {
	if sel == nil {
		return v
	}
	out := make(map[string]any, len(sel))
	for k, sub := range sel {
		val, ok := v[k]
		if !ok {
			continue
		}
		out[k] = selectValue(val, sub)
	}
	return out
}

func selectValue(val any, sub fieldSet) any {
	if sub == nil {
		return val
	}
	switch x := val.(type) {
	case map[string]any:
		return selectFields(x, sub)
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = selectFields(e, sub)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = selectValue(e, sub)
		}
		return out
	}
	return val
}

// parseHas parses "{ key='k' and value='v' }" after "appProperties has".
func parseHas(toks []token) (func(*File) bool, []token, error) {
	want := []string{"{", "key", "=", "", "and", "value", "=", "", "}"}
	if len(toks) < len(want) {
		return nil, nil, errors.New("appProperties has needs { key='k' and value='v' }")
	}
	for i, w := range want {
		if (w == "") != (toks[i].kind == tokString) || (w != "" && !strings.EqualFold(toks[i].text, w)) {
			return nil, nil, errors.New("appProperties has needs { key='k' and value='v' }")
		}
	}
	k, v := toks[3].text, toks[7].text
	return func(f *File) bool {
		got, ok := f.AppProperties[k]
		return ok && got == v
	}, toks[len(want):], nil
}
