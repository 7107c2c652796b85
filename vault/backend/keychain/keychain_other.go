//go:build !darwin

package keychain

import (
	"fmt"

	"github.com/palyra/palyra-vault/vault/backend"
)

// New fails with an error wrapping backend.ErrUnavailable: macos_keychain
// is only available on macOS. (The protocol code compiles everywhere so
// that its tests run on every system, driven by a fake security tool.)
func New(opts Options) (*Backend, error) {
	return nil, fmt.Errorf("macos_keychain is only available on macOS: %w", backend.ErrUnavailable)
}
