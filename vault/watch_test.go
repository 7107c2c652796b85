//go:build unix

package vault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/vault/backend"
)

// TestWatchOfALocalVaultIsNotWatchable: every backend but etcd answers
// Watch with ErrNotWatchable at once, without calling fn. (The etcd
// backend's Watch is tested on a real cluster in vault/backend/etcdstore.)
func TestWatchOfALocalVaultIsNotWatchable(t *testing.T) {
	for _, tt := range []struct {
		kind    backend.Kind
		require func(*testing.T)
	}{
		{backend.KindEncryptedFile, func(*testing.T) {}},
		{backend.KindSecretService, requireSecretService},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			tt.require(t)
			cfg := testConfig(t)
			cfg.Backend = tt.kind
			v := openTest(t, cfg)
			if tt.kind == backend.KindSecretService {
				defer cleanupVault(t, cfg)
			}
			mustPut(t, v, "global", "k", "v")
			if v.Watchable() {
				t.Fatalf("Watchable on %s: true", tt.kind)
			}
			// A deadline only so that a Watch that wrongly follows ends.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			called := false
			err := v.Watch(ctx, func(Change) { called = true })
			if !errors.Is(err, ErrNotWatchable) || called {
				t.Fatalf("Watch on %s: %v (fn called: %v); want ErrNotWatchable at once", tt.kind, err, called)
			}
		})
	}
}

// TestChangeKindNames: the kinds' names, as logs show them.
func TestChangeKindNames(t *testing.T) {
	for k, want := range map[ChangeKind]string{ChangeSecret: "secret", ChangeResync: "resync", ChangeLost: "lost", 0: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("ChangeKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
