package keysource

import (
	"context"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
)

// The Secret Service keeps the KEK of "os" vaults on Linux and other Unix
// systems, in its default collection, reached through the session bus
// address of the Site.
func init() {
	osKeyStores[backend.KindSecretService] = func(ctx context.Context, site Site) (backend.Backend, error) {
		return secretservice.Open(ctx, secretservice.Options{Address: site.SessionBus})
	}
}
