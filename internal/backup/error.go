package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Error codes. Each maps to one HTTP status and one CLI exit behaviour.
const (
	ECONFLICT       = "conflict"        // e.g. a file name or record already exists
	EINTERNAL       = "internal"        // a bug or an unexpected failure
	EINVALID        = "invalid"         // bad input from the caller
	ENOTFOUND       = "not_found"       // no such backup or file
	EBUSY           = "busy"            // another backup/restore holds the source
	ECORRUPT        = "corrupt"         // a file does not match its checksum or cannot be read
	EUNAVAILABLE    = "unavailable"     // a server or tool cannot be reached
	EUNAUTHORIZED   = "unauthorized"    // not signed in
	EFORBIDDEN      = "forbidden"       // signed in without the permission
	ENOTIMPLEMENTED = "not_implemented" // a feature this build does not have
)

// Error is hmsbackup's error: a code for programs, a message for people (it
// says what happened and what to do), and the underlying cause, if any.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) (and the other Err values) match any
// *Error with that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Err == nil && t.Code == e.Code
}

// Sentinels for errors.Is: each matches every *Error with its code.
var (
	ErrNotFound    = &Error{Code: ENOTFOUND}
	ErrCorrupt     = &Error{Code: ECORRUPT}
	ErrBusy        = &Error{Code: EBUSY}
	ErrUnavailable = &Error{Code: EUNAVAILABLE}
	ErrInvalid     = &Error{Code: EINVALID}
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message whose cause is err.
func Wrap(err error, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Relabel returns err under another text: errors.Is and errors.As still
// find err and what it wraps, but Error() returns text. It is for a cause
// whose own message means nothing to the people who read it, such as
// SQLite's "database or disk is full (13)", once a message around it says
// what happened.
func Relabel(err error, text string) error {
	if err == nil {
		return nil
	}
	return relabelled{err: err, text: text}
}

type relabelled struct {
	err  error
	text string
}

func (r relabelled) Error() string { return r.text }
func (r relabelled) Unwrap() error { return r.err }

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrUntouched marks an error of Dumper.Restore that happened before the
// database was changed in any way: there is nothing to roll back.
// errors.Is(err, ErrUntouched) tells; mark errors with Untouched.
var ErrUntouched = errors.New("the database was not changed")

// Untouched marks err with ErrUntouched, keeping its message and code.
func Untouched(err error) error {
	if err == nil {
		return nil
	}
	return untouchedError{err}
}

type untouchedError struct{ error }

func (u untouchedError) Unwrap() []error { return []error{u.error, ErrUntouched} }

// RestoreFallbackError is an error of Dumper.Restore: the Dumper's usual
// restore method found, after it had begun changing the database, that it
// cannot restore this dump; Restore, its other method, can. The engine
// then reads the backup again from its start and hands it to Restore,
// which empties the database first. Reason says why, for the log.
type RestoreFallbackError struct {
	Reason  string
	Restore func(ctx context.Context, r io.Reader) error
}

func (e *RestoreFallbackError) Error() string {
	return "the restore must be redone with the fallback method: " + e.Reason
}
