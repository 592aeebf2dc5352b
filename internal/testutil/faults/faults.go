// Package faults injects failures into the HTTP fakes the tests run
// (drivefake, the S3 fault proxy): an answer with an error status, a lost
// response (the request is carried out, then fails), or a reset
// connection, on chosen requests.
package faults

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Fault is one failure to inject.
type Fault struct {
	// Status is the HTTP status answered and Reason the service's error
	// reason or code (e.g. 503 "backendError", 503 "SlowDown").
	Status int
	Reason string
	// Lose carries the request out before failing, as when the response
	// is lost on the way.
	Lose bool
	// Reset closes the connection without an answer (after reading the
	// request, and after carrying it out if Lose is set) instead of
	// answering Status.
	Reset bool
}

type queued struct {
	f    Fault
	left int // requests it still fails
	skip int // requests to let pass first
}

// Injector decides which requests fail. Requests are grouped by route, a
// name the fake gives each kind of request. It is safe for concurrent use.
type Injector struct {
	mu      sync.Mutex
	queues  map[string][]*queued
	byIndex map[int]Fault // by the request's number among all requests
	counts  map[string]int
	total   int
}

// New returns an Injector with nothing to inject.
func New() *Injector {
	return &Injector{queues: make(map[string][]*queued), byIndex: make(map[int]Fault), counts: make(map[string]int)}
}

// FailNext makes the next n requests to route fail with f. Faults for a
// route queue up in call order.
func (in *Injector) FailNext(route string, f Fault, n int) {
	if n <= 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queues[route] = append(in.queues[route], &queued{f: f, left: n})
}

// FailRequest makes the nth request to route fail with f, counting from
// now (1 is the next one) or, if faults are queued for the route already,
// from the request after the last of them fired. The ones before it pass.
func (in *Injector) FailRequest(route string, nth int, f Fault) {
	if nth <= 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queues[route] = append(in.queues[route], &queued{f: f, left: 1, skip: nth - 1})
}

// FailNthRequest makes the nth request from now on, to any route (1 is
// the next one), fail with f.
func (in *Injector) FailNthRequest(nth int, f Fault) {
	if nth <= 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.byIndex[in.total+nth] = f
}

// Take counts a request to route and returns the fault it must suffer, if
// any.
func (in *Injector) Take(route string) (Fault, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counts[route]++
	in.total++
	if f, ok := in.byIndex[in.total]; ok {
		delete(in.byIndex, in.total)
		return f, true
	}
	q := in.queues[route]
	if len(q) == 0 {
		return Fault{}, false
	}
	if q[0].skip > 0 {
		q[0].skip--
		return Fault{}, false
	}
	f := q[0].f
	q[0].left--
	if q[0].left <= 0 {
		in.queues[route] = q[1:]
	}
	return f, true
}

// Pending is the number of injected faults that have not fired yet.
func (in *Injector) Pending() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := len(in.byIndex)
	for _, q := range in.queues {
		for _, e := range q {
			n += e.left
		}
	}
	return n
}

// Requests is the number of requests to route so far, failed ones too.
func (in *Injector) Requests(route string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.counts[route]
}

// Total is the number of requests to every route so far.
func (in *Injector) Total() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.total
}

// Apply makes r suffer f: it carries r out through next first if f.Lose
// (its answer discarded), reads the rest of r's body, and then resets the
// connection if f.Reset, or else answers with writeError.
func Apply(w http.ResponseWriter, r *http.Request, f Fault, next http.Handler, writeError func(http.ResponseWriter)) {
	if f.Lose {
		next.ServeHTTP(httptest.NewRecorder(), r)
	}
	io.Copy(io.Discard, r.Body)
	if f.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0) // a reset, not an orderly close
				}
				conn.Close()
				return
			}
		}
	}
	writeError(w)
}
