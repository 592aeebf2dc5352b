package mysql

import (
	"bytes"
	"errors"
	"strings"
)

// maxOptionValue bounds a value in the option file: the tools read it in
// lines of at most 4 KiB, and escaping may double a value's length.
const maxOptionValue = 1000

// checkOptionValue reports whether v can be written to an option file.
func checkOptionValue(v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return errors.New("contains a NUL byte")
	}
	if len(v) > maxOptionValue {
		return errors.New("is longer than 1000 bytes")
	}
	return nil
}

// quoteOptionValue quotes v for a MySQL/MariaDB option file so that the
// tools read back exactly v: inside double quotes '#' and ';' are not
// comments and leading or trailing spaces are kept, and the escapes the
// option-file reader understands (\\ \" \n \r \t \b) cover everything else
// that would end the value or the line.
func quoteOptionValue(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// optionFile renders the [client] section that gives a tool the connection
// settings of the DSN.
func (d *Dumper) optionFile() ([]byte, error) {
	var b bytes.Buffer
	opt := func(name, value string) {
		b.WriteString(name)
		if value != "" {
			b.WriteByte('=')
			b.WriteString(value)
		}
		b.WriteByte('\n')
	}
	b.WriteString("[client]\n")
	if d.conn.User != "" {
		opt("user", quoteOptionValue(d.conn.User))
	}
	if d.conn.Passwd != "" {
		opt("password", quoteOptionValue(d.conn.Passwd))
	}
	if d.conn.Net == "unix" {
		opt("socket", quoteOptionValue(d.conn.Addr))
		opt("protocol", "SOCKET")
	} else {
		host, port, err := hostPort(d.conn.Addr)
		if err != nil {
			return nil, err
		}
		opt("host", quoteOptionValue(host))
		opt("port", port)
		// Without it the tools take host "localhost" to mean the default
		// unix socket, not TCP.
		opt("protocol", "TCP")
	}
	opt("default-character-set", "utf8mb4")
	switch d.conn.TLSConfig {
	case "true":
		opt("ssl", "")
		opt("ssl-verify-server-cert", "")
	case "skip-verify":
		opt("ssl", "")
		opt("skip-ssl-verify-server-cert", "")
	}
	return b.Bytes(), nil
}
