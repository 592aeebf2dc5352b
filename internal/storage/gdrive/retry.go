package gdrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/auth"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Defaults of RetryPolicy's zero fields.
const (
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 32 * time.Second
)

// RetryPolicy says how Drive calls failing for a passing reason (HTTP 429,
// 403 rateLimitExceeded or userRateLimitExceeded, 5xx, a reset connection)
// are retried: with exponential backoff from Initial, doubling up to Max,
// each wait jittered by ±50% (and at most Max). Each request is tried up to
// MaxAttempts times: metadata calls (list, get, delete), the start of an
// upload session and of a download, each chunk of an upload (after a
// failure Drive is asked how much it holds and only the rest is sent), and
// a download stream that breaks (the rest asked for again with a Range
// request, MaxAttempts-1 times in all). A whole upload is made again, from
// an io.ReadSeeker rewound to where it was, when Drive lost its session or
// stored a damaged file. Other errors are returned at once.
type RetryPolicy struct {
	// MaxAttempts is the number of tries of a call, the first included;
	// 1 means no retries. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// Initial is the wait before the first retry. Zero means
	// DefaultInitialBackoff.
	Initial time.Duration
	// Max caps the wait between tries. Zero means DefaultMaxBackoff.
	Max time.Duration
}

func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	if p.MaxAttempts < 0 || p.Initial < 0 || p.Max < 0 {
		return p, backup.Errorf(backup.EINVALID, "invalid Google Drive retry policy: %d attempts, initial wait %v, maximum wait %v", p.MaxAttempts, p.Initial, p.Max)
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.Initial == 0 {
		p.Initial = DefaultInitialBackoff
	}
	if p.Max == 0 {
		p.Max = DefaultMaxBackoff
	}
	return p, nil
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait before retry number n+1 (n from 0).
func (s *Storage) backoff(n int) time.Duration {
	d := s.retry.Initial
	for i := 0; i < n && d < s.retry.Max; i++ {
		d *= 2
	}
	d = min(d, s.retry.Max)
	d = time.Duration(float64(d) * (0.5 + s.jitter())) // ±50%
	return min(d, s.retry.Max)
}

// call runs op, a Drive request, until it succeeds, fails for good or has
// been tried s.retry.MaxAttempts times, waiting between tries. It returns
// op's last error mapped with mapError (doing says what failed); when
// retries were spent, the message says how many.
func (s *Storage) call(ctx context.Context, doing string, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if !retryable(ctx, err) {
			return mapError(err, doing)
		}
		if attempt >= s.retry.MaxAttempts {
			return gaveUp(mapError(err, doing), attempt-1)
		}
		if serr := s.sleep(ctx, s.backoff(attempt-1)); serr != nil {
			return fmt.Errorf("%s: %w (while waiting to retry after: %v)", doing, serr, err)
		}
	}
}

// gaveUp notes in err that the call was retried n times.
func gaveUp(err error, n int) error {
	if n == 0 {
		return err
	}
	times := "times"
	if n == 1 {
		times = "time"
	}
	var be *backup.Error
	if errors.As(err, &be) && be == err {
		c := *be
		c.Message = fmt.Sprintf("%s (retried %d %s)", c.Message, n, times)
		return &c
	}
	return fmt.Errorf("%w (retried %d %s)", err, n, times)
}

// retryable reports whether err, from a Drive request, may pass when the
// request is made again.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch {
		case ge.Code == http.StatusTooManyRequests || ge.Code >= 500:
			return true
		case ge.Code == http.StatusForbidden:
			for _, e := range ge.Errors {
				if e.Reason == "rateLimitExceeded" || e.Reason == "userRateLimitExceeded" {
					return true
				}
			}
		}
		return false
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return false // a refused sign-in (invalid_grant and the like)
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, io.EOF) || ue.Timeout() {
			return true // the server closed the connection; a network timeout
		}
		msg := ue.Error()
		return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe")
	}
	return false
}
