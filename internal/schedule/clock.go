package schedule

import (
	"fmt"
	"strconv"
	"strings"
)

// Clock is a wall-clock time of day, to the minute.
type Clock struct {
	Hour   int // 0-23
	Minute int // 0-59
}

// ParseClock reads "HH:MM" (24-hour; "2:30" is read as 02:30). The error
// says why s is not such a time.
func ParseClock(s string) (Clock, error) {
	bad := fmt.Errorf("%q is not a time of day HH:MM (00:00 to 23:59)", s)
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 || !digits(hh) || !digits(mm) {
		return Clock{}, bad
	}
	h, _ := strconv.Atoi(hh)
	m, _ := strconv.Atoi(mm)
	if h > 23 || m > 59 {
		return Clock{}, bad
	}
	return Clock{Hour: h, Minute: m}, nil
}

// String is "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
