package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/vault/backend"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// TestFailClassifiesEtcdErrors: each client error becomes the backend
// error that decides the exit code (permission 1 with its hint,
// unreachable 5, other unavailability 1) and names the endpoints.
func TestFailClassifiesEtcdErrors(t *testing.T) {
	s := &Store{opts: Options{Endpoints: []string{"https://127.0.0.1:2379"}, Prefix: "/p/", User: "u"}, timeout: time.Second}
	tests := []struct {
		name string
		err  error
		want error
		says string
	}{
		{"leader changed", rpctypes.ErrLeaderChanged, backend.ErrUnreachable, "electing a new leader"},
		{"leader changed (gRPC)", rpctypes.ErrGRPCLeaderChanged, backend.ErrUnreachable, "electing a new leader"},
		{"no leader", rpctypes.ErrNoLeader, backend.ErrUnreachable, "did not answer"},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), backend.ErrUnreachable, "did not answer"},
		{"permission", rpctypes.ErrPermissionDenied, backend.ErrPermission, "refused"},
		{"bad token", rpctypes.ErrInvalidAuthToken, backend.ErrPermission, "refused"},
		{"other", errors.New("etcdserver: request is too large"), backend.ErrUnavailable, "request is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.fail("reading", tt.err)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "127.0.0.1:2379") {
				t.Fatalf("fail(%v) = %v; want %v saying %q and naming the endpoint", tt.err, err, tt.want, tt.says)
			}
		})
	}
}
