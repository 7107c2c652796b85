package keysource

import (
	"context"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
)

// The Secret Service keeps the KEK of "os" vaults on Linux and other Unix
// systems, in its default collection.
func init() {
	osKeyStores[backend.KindSecretService] = func(ctx context.Context, _ Site) (backend.Backend, error) {
		return secretservice.Open(ctx, secretservice.Options{})
	}
}
