package vault

import (
	"context"

	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// loadKEK returns the vault's key-encryption key and the name of its source.
// Today every vault uses the device key.
func loadKEK(_ context.Context, _ Config, info Info) (*envelope.KEK, string, error) {
	kek, err := loadDeviceKey(info.StateRoot)
	if err != nil {
		return nil, "", err
	}
	return kek, "device", nil
}
