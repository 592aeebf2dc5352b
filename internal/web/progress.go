package web

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is where the jobs running in this process stand: phase, bytes
// done of a total, since when. The queue's handlers write it; the job
// pages and GET /api/v1/jobs/{id} read it. A job's entry stays until the
// process ends, so a page reloaded after the end still finds it (the
// queue keeps the outcome for good).
type Progress struct {
	mu   sync.Mutex
	jobs map[int64]*JobProgress
}

// NewProgress returns an empty registry.
func NewProgress() *Progress { return &Progress{jobs: make(map[int64]*JobProgress)} }

// JobProgress is one job's progress. Its methods are safe for concurrent use.
type JobProgress struct {
	mu      sync.Mutex
	phase   string
	total   int64
	started time.Time
	bytes   atomic.Int64
}

// Start returns the progress of job id, registering it.
func (p *Progress) Start(id int64) *JobProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	jp := &JobProgress{phase: "starting", started: time.Now()}
	p.jobs[id] = jp
	return jp
}

// Snapshot returns job id's progress now, if this process runs or ran it.
func (p *Progress) Snapshot(id int64) (ProgressSnapshot, bool) {
	p.mu.Lock()
	jp := p.jobs[id]
	p.mu.Unlock()
	if jp == nil {
		return ProgressSnapshot{}, false
	}
	return jp.snapshot(), true
}

// Phase starts a new phase with total bytes to go (0 if unknown); the
// byte count restarts.
func (jp *JobProgress) Phase(name string, total int64) {
	jp.mu.Lock()
	defer jp.mu.Unlock()
	jp.phase, jp.total, jp.started = name, total, time.Now()
	jp.bytes.Store(0)
}

// Writer counts what is written to it as the phase's bytes (an engine
// Progress writer: it is written lengths of data, not data).
func (jp *JobProgress) Writer() *progressWriter { return &progressWriter{jp: jp} }

type progressWriter struct{ jp *JobProgress }

func (w *progressWriter) Write(b []byte) (int, error) {
	w.jp.bytes.Add(int64(len(b)))
	return len(b), nil
}

// ProgressSnapshot is a job's progress at one moment, as JSON shows it.
type ProgressSnapshot struct {
	Phase       string  `json:"phase"`
	Bytes       int64   `json:"bytes"`
	TotalBytes  int64   `json:"total_bytes"` // 0 when unknown
	BytesPerSec float64 `json:"bytes_per_second"`
	Seconds     float64 `json:"phase_seconds"`
}

func (jp *JobProgress) snapshot() ProgressSnapshot {
	jp.mu.Lock()
	defer jp.mu.Unlock()
	s := ProgressSnapshot{Phase: jp.phase, Bytes: jp.bytes.Load(), TotalBytes: jp.total, Seconds: time.Since(jp.started).Seconds()}
	if s.Seconds > 0 {
		s.BytesPerSec = float64(s.Bytes) / s.Seconds
	}
	return s
}

// Finish ends job id's current attempt: "done", or "failed" (a backup job
// may be tried again; its next attempt starts a new phase).
func (p *Progress) Finish(id int64, err error) {
	p.mu.Lock()
	jp := p.jobs[id]
	p.mu.Unlock()
	if jp == nil {
		return
	}
	if err != nil {
		jp.Phase("failed", 0)
	} else {
		jp.Phase("done", 0)
	}
}
