// Package ratelimit bounds what a flood of events can cost: per key (a
// caller's uid), the first Burst events of a window pass and the rest are
// only counted; when a window that dropped events ends, a callback learns
// how many, so that one summary line can replace thousands. The daemon
// uses it for its denied audit records and for its warnings.
package ratelimit

import (
	"sync"
	"time"
)

// MaxKeys bounds the keys tracked at once. When that many keys have open
// windows, an event of a new key passes unlimited: reaching it takes that
// many distinct callers (local accounts) within one window.
const MaxKeys = 4096

// Dropped says how many events of one key a window dropped.
type Dropped[K comparable] struct {
	Key K
	// N is the number of events dropped.
	N int
	// Since and Until bound the window.
	Since, Until time.Time
}

// Window limits events per key and per fixed window. It is safe for
// concurrent use.
type Window[K comparable] struct {
	window time.Duration
	burst  int
	report func(Dropped[K])
	now    func() time.Time

	mu    sync.Mutex
	keys  map[K]*bucket
	timer *time.Timer
}

type bucket struct {
	start   time.Time
	passed  int
	dropped int
}

// New returns a Window of length window that passes burst events per key
// per window (at least 1) and calls report, never under a lock of its own,
// once for every window that dropped events: from Allow, from a timer at
// most two windows after the drop, or from Flush.
func New[K comparable](window time.Duration, burst int, report func(Dropped[K])) *Window[K] {
	if burst < 1 {
		burst = 1
	}
	return &Window[K]{window: window, burst: burst, report: report, now: time.Now, keys: map[K]*bucket{}}
}

// Allow counts one event of key and reports whether it passes. Reports of
// ended windows are made before it returns, so that a summary of the
// previous window comes before the event that opens the next one.
func (w *Window[K]) Allow(key K) bool {
	now := w.now()
	w.mu.Lock()
	ended := w.sweepLocked(now, false)
	ok := true
	b := w.keys[key]
	switch {
	case b != nil:
		if b.passed < w.burst {
			b.passed++
		} else {
			b.dropped++
			ok = false
			w.armLocked()
		}
	case len(w.keys) < MaxKeys:
		w.keys[key] = &bucket{start: now, passed: 1}
	}
	w.mu.Unlock()
	w.emit(ended)
	return ok
}

// Flush reports every window that dropped events, ended or not, and
// forgets every key. Call it before closing what report writes to.
func (w *Window[K]) Flush() {
	w.mu.Lock()
	ended := w.sweepLocked(w.now(), true)
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.mu.Unlock()
	w.emit(ended)
}

// sweepLocked forgets the windows that ended by now (all of them when all
// is set) and returns those that dropped events.
func (w *Window[K]) sweepLocked(now time.Time, all bool) []Dropped[K] {
	var out []Dropped[K]
	for k, b := range w.keys {
		end := b.start.Add(w.window)
		if !all && now.Before(end) {
			continue
		}
		if b.dropped > 0 {
			if end.After(now) {
				end = now
			}
			out = append(out, Dropped[K]{Key: k, N: b.dropped, Since: b.start, Until: end})
		}
		delete(w.keys, k)
	}
	return out
}

// armLocked starts the timer that reports dropped events when no further
// event comes to do it.
func (w *Window[K]) armLocked() {
	if w.timer != nil {
		return
	}
	w.timer = time.AfterFunc(w.window, w.tick)
}

func (w *Window[K]) tick() {
	w.mu.Lock()
	w.timer = nil
	ended := w.sweepLocked(w.now(), false)
	for _, b := range w.keys {
		if b.dropped > 0 {
			w.armLocked()
			break
		}
	}
	w.mu.Unlock()
	w.emit(ended)
}

func (w *Window[K]) emit(ds []Dropped[K]) {
	for _, d := range ds {
		w.report(d)
	}
}
