package vault

import (
	"context"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
)

// The Secret Service keeps the KEK of "os" vaults on Linux and other Unix
// systems, in its default collection, reached through
// $DBUS_SESSION_BUS_ADDRESS.
func init() {
	osKeyStores[backend.KindSecretService] = func(ctx context.Context, _ string) (backend.Backend, error) {
		return secretservice.Open(ctx, secretservice.Options{})
	}
}
