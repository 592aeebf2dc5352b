package gdrive

import (
	"context"
	"time"
)

// SetSleep replaces the wait between tries of s.
func SetSleep(s *Storage, sleep func(ctx context.Context, d time.Duration) error) { s.sleep = sleep }

// SetJitter replaces the source of s's jitter, which returns [0, 1).
func SetJitter(s *Storage, jitter func() float64) { s.jitter = jitter }

// RealSleep makes s wait for real between tries.
func RealSleep(s *Storage) { s.sleep = sleepCtx }

var Retryable = retryable
