// Package notify tells people what happened to their backups: by log line
// (Log), e-mail (Mail, over SMTP) and webhook (Webhook, a JSON POST that
// Slack and Mattermost understand). A Dispatcher sends each notification
// on every channel and says which ones failed, so the caller can log,
// audit and retry them. Nothing any channel sends or returns holds a
// secret: not the SMTP password, not the webhook URL (it holds a token).
package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// Channel is one way of telling people.
type Channel interface {
	backup.Notifier
	// Name says which channel it is ("log", "mail", "webhook"), in errors
	// and reports.
	Name() string
}

// ChannelError says that a notification could not be sent on one channel.
type ChannelError struct {
	Channel string
	Err     error
}

// Error names the channel, once: "webhook POST to ..." stays as it is,
// "connection refused" becomes "mail: connection refused".
func (e *ChannelError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, e.Channel+" ") || strings.HasPrefix(msg, e.Channel+":") {
		return msg
	}
	return e.Channel + ": " + msg
}
func (e *ChannelError) Unwrap() error { return e.Err }

// FailedChannels names the channels an error of Dispatcher.Notify says
// failed, in the order they were configured; none for a nil error.
func FailedChannels(err error) []string {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var names []string
	for _, e := range errs {
		var ce *ChannelError
		if errors.As(e, &ce) {
			names = append(names, ce.Channel)
		}
	}
	return names
}

// named gives a Notifier a channel name.
type named struct {
	name string
	backup.Notifier
}

func (n named) Name() string { return n.name }

// Named makes n a Channel called name.
func Named(name string, n backup.Notifier) Channel { return named{name: name, Notifier: n} }

// Dispatcher sends every notification on each of its channels at once.
// It is safe for concurrent use if its channels are.
type Dispatcher struct {
	Channels []Channel
}

var _ backup.Notifier = (*Dispatcher)(nil)

// Notify sends n on every channel, concurrently, and waits for all. It
// returns nil if every channel sent it; otherwise the failures joined,
// each a *ChannelError naming its channel (see FailedChannels), so the
// channels that worked need not be tried again. One channel's failure
// never stops the others.
// Only is the dispatcher over the channels named (a retry of those that
// failed).
func (d *Dispatcher) Only(names []string) *Dispatcher {
	only := &Dispatcher{}
	for _, c := range d.Channels {
		if slices.Contains(names, c.Name()) {
			only.Channels = append(only.Channels, c)
		}
	}
	return only
}

func (d *Dispatcher) Notify(ctx context.Context, n backup.Notification) error {
	errs := make([]error, len(d.Channels))
	var wg sync.WaitGroup
	for i, c := range d.Channels {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					errs[i] = &ChannelError{Channel: c.Name(), Err: fmt.Errorf("panic: %v", p)}
				}
			}()
			if err := c.Notify(ctx, n); err != nil {
				if ce := (*ChannelError)(nil); !errors.As(err, &ce) {
					err = &ChannelError{Channel: c.Name(), Err: err}
				}
				errs[i] = err
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
