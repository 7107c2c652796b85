package ratelimit

import (
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type recorder struct {
	mu  sync.Mutex
	got []Dropped[uint32]
}

func (r *recorder) report(d Dropped[uint32]) { r.mu.Lock(); r.got = append(r.got, d); r.mu.Unlock() }
func (r *recorder) list() []Dropped[uint32] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Dropped[uint32](nil), r.got...)
}

func newTest(burst int) (*Window[uint32], *clock, *recorder) {
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	r := &recorder{}
	// The window is long in real time, so the timer never fires during
	// these tests; the fake clock decides what has ended.
	w := New(time.Hour, burst, r.report)
	w.now = c.now
	return w, c, r
}

func TestWindowPassesBurstPerKeyAndCountsTheRest(t *testing.T) {
	tests := []struct {
		name   string
		burst  int
		events map[uint32]int
		passed map[uint32]int
	}{
		{"one key", 3, map[uint32]int{7: 10}, map[uint32]int{7: 3}},
		{"keys are independent", 2, map[uint32]int{7: 1000, 8: 1}, map[uint32]int{7: 2, 8: 1}},
		{"burst below one means one", 0, map[uint32]int{7: 5}, map[uint32]int{7: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, r := newTest(tt.burst)
			for k, n := range tt.events {
				passed := 0
				for range n {
					if w.Allow(k) {
						passed++
					}
				}
				if passed != tt.passed[k] {
					t.Fatalf("key %d: %d of %d passed, want %d", k, passed, n, tt.passed[k])
				}
			}
			if len(r.list()) != 0 {
				t.Fatalf("reported before any window ended: %+v", r.list())
			}
			w.Flush()
			got := map[uint32]int{}
			for _, d := range r.list() {
				got[d.Key] = d.N
			}
			for k, n := range tt.events {
				if got[k] != n-tt.passed[k] {
					t.Fatalf("key %d: reported %d dropped, want %d (%+v)", k, got[k], n-tt.passed[k], r.list())
				}
			}
		})
	}
}

func TestWindowReportsAnEndedWindowBeforeTheNextEvent(t *testing.T) {
	w, c, r := newTest(1)
	start := c.now()
	for range 5 {
		w.Allow(1)
	}
	c.add(time.Hour + time.Second)
	if !w.Allow(1) {
		t.Fatal("the first event of a new window was dropped")
	}
	got := r.list()
	if len(got) != 1 || got[0].Key != 1 || got[0].N != 4 || !got[0].Since.Equal(start) || !got[0].Until.Equal(start.Add(time.Hour)) {
		t.Fatalf("reports: %+v", got)
	}
	w.Flush()
	if len(r.list()) != 1 {
		t.Fatalf("a window without drops was reported: %+v", r.list())
	}
}

func TestWindowTimerReportsWhenNoEventFollows(t *testing.T) {
	r := &recorder{}
	w := New(50*time.Millisecond, 1, r.report)
	for range 3 {
		w.Allow(9)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(r.list()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the timer never reported the dropped events")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.list(); len(got) != 1 || got[0].N != 2 {
		t.Fatalf("reports: %+v", got)
	}
}

func TestWindowTracksAtMostMaxKeys(t *testing.T) {
	w, _, _ := newTest(1)
	for k := range uint32(MaxKeys + 10) {
		w.Allow(k)
	}
	if n := len(w.keys); n != MaxKeys {
		t.Fatalf("%d keys tracked, want %d", n, MaxKeys)
	}
	// A key beyond the table passes: it cannot be counted.
	if !w.Allow(MaxKeys+5) || !w.Allow(MaxKeys+5) {
		t.Fatal("an untracked key was dropped")
	}
}
