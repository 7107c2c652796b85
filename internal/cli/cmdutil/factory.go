// Package cmdutil holds what every palyra command shares: the Factory that
// hands commands their streams and a lazily opened vault, the error types
// that decide exit codes and carry hints, argument parsing for scope/key
// pairs and refs, and JSON output.
package cmdutil

import (
	"context"
	"sync"

	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
)

// Factory gives commands their dependencies. Commands copy what they need
// into their options struct when they run, so tests can replace any part.
type Factory struct {
	// IOStreams are the command's standard streams.
	IOStreams *iostreams.IOStreams
	// VaultConfig is filled in by the persistent flags of "palyra secrets"
	// (--vault-dir, --state-root, --backend). Fields left empty fall back to
	// the environment, as vault.Open documents.
	VaultConfig vault.Config
	// Vault opens the vault described by VaultConfig on first call and
	// returns the same one afterwards. Main closes it when the command ends.
	Vault func(ctx context.Context) (*vault.Vault, error)

	mu     sync.Mutex
	opened *vault.Vault
}

// NewFactory returns a Factory whose Vault opens f.VaultConfig lazily, so
// commands that fail on their arguments never touch the disk.
func NewFactory(ios *iostreams.IOStreams) *Factory {
	f := &Factory{IOStreams: ios}
	f.Vault = f.openVault
	return f
}

func (f *Factory) openVault(ctx context.Context) (*vault.Vault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opened != nil {
		return f.opened, nil
	}
	v, err := vault.Open(ctx, f.VaultConfig)
	if err != nil {
		return nil, err
	}
	f.opened = v
	return v, nil
}

// Close closes the vault if Vault opened one. It is safe to call more than
// once.
func (f *Factory) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opened == nil {
		return nil
	}
	err := f.opened.Close()
	f.opened = nil
	return err
}
