package secretservice

import (
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/backendtest"
)

func TestConformance(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backend.Backend {
				// The suite wants an empty backend and leaves its objects
				// behind: the private keyring is ours alone, so wipe our
				// schema before and after.
				wipe(t)
				t.Cleanup(func() { wipe(t) })
				opts := tr.opts
				opts.Address = keyringBus(t)
				s, err := Open(t.Context(), opts)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			})
		})
	}
}
