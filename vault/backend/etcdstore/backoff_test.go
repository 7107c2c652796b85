package etcdstore

import (
	"testing"
	"time"
)

// TestBackoffDoublesWithJitterUpToTheCap: the wait after n failures lies
// in the upper half of min(backoffMin·2ⁿ, backoffMax), and varies.
func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	for _, tt := range []struct {
		n    int
		full time.Duration
	}{
		{0, 250 * time.Millisecond},
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{4, backoffMax},
		{10, backoffMax},
		{100, backoffMax},
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(tt.n)
			if d < tt.full/2 || d > tt.full {
				t.Fatalf("backoff(%d) = %s; want within [%s, %s]", tt.n, d, tt.full/2, tt.full)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) gave always the same wait: no jitter", tt.n)
		}
	}
}
