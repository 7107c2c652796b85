//go:build darwin

package keychain

import (
	"fmt"
	"os/exec"

	"github.com/palyra/palyra-vault/vault/backend"
)

// New returns the macos_keychain backend configured by opts. It fails with
// an error naming the field when opts is invalid, and with an error wrapping
// backend.ErrUnavailable when the security executable cannot be found. It
// does not touch the keychain; call Probe for that.
func New(opts Options) (*Backend, error) {
	b, err := newBackend(opts)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath(b.opts.SecurityPath); err != nil {
		return nil, fmt.Errorf("opening macos_keychain backend: %w: %w", backend.ErrUnavailable, err)
	}
	return b, nil
}
