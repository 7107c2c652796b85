//go:build unix

// The test cluster runs etcd on Linux; the Windows (Wine) run of
// internal/testutil/... has no etcd, and nothing of this package is
// Windows-specific.

package etcdproc

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestUserIsLimitedToThePrefix checks the cluster the suite runs against:
// three members, the test user can write under Prefix and is refused
// outside it.
func TestUserIsLimitedToThePrefix(t *testing.T) {
	c := Shared(t)
	if c.Members() != 3 {
		t.Fatalf("%d members, want 3", c.Members())
	}
	if _, err := c.Leader(); err != nil {
		t.Fatal(err)
	}
	cli, err := c.Client(User, c.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, NewPrefix()+"k", "v"); err != nil {
		t.Fatalf("put under the prefix: %v", err)
	}
	if _, err := cli.Put(ctx, "/elsewhere/k", "v"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("put outside the prefix: %v, want permission denied", err)
	}
}
