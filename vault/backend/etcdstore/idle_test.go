package etcdstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/vault/backend"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
)

// TestIdleStoreReachesARestartedCluster: a store that sat idle while every
// member was down (its connections failed, its auth token died with the
// members) works again soon after the members are back, as a daemon's
// long-lived handle must: within a few seconds, not after gRPC's default
// reconnection backoff (up to two minutes).
func TestIdleStoreReachesARestartedCluster(t *testing.T) {
	c := etcdproc.Shared(t)
	s := open(t, 2*time.Second)
	id := backend.ObjectID("obj_" + strings.Repeat("1d", 32))
	if err := s.Put(t.Context(), id, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	restart := c.Outage(t)
	// The store tries while the cluster is down, as a daemon's per_use
	// read would, and fails.
	for range 3 {
		if _, err := s.Get(t.Context(), id); err == nil {
			t.Fatal("Get succeeded with every member down")
		}
	}
	time.Sleep(25 * time.Second)
	restart()
	back := time.Now()
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		got, err := s.Get(ctx, id)
		cancel()
		if err == nil {
			if string(got) != "v1" {
				t.Fatalf("Get after the restart: %q", got)
			}
			t.Logf("the idle store read again %v after the cluster was healthy", time.Since(back))
			return
		}
		// Not a speed target: with gRPC's default backoff, grown over the
		// 25 s outage, the first try often comes 5 to 20 s later; capped,
		// one comes within 2 s.
		if time.Since(back) > 6*time.Second {
			t.Fatalf("the idle store still fails 6 s after the cluster was healthy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
