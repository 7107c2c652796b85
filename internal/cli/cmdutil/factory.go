// Package cmdutil holds what every palyra command shares: the Factory that
// hands commands their streams and a lazily opened vault, the error types
// that decide exit codes and carry hints, argument parsing for scope/key
// pairs and refs, and JSON output.
package cmdutil

import (
	"context"
	"fmt"
	"sync"

	"github.com/palyra/palyra-vault/internal/errwrap"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Factory gives commands their dependencies. Commands copy what they need
// into their options struct when they run, so tests can replace any part.
type Factory struct {
	// IOStreams are the command's standard streams.
	IOStreams *iostreams.IOStreams
	// VaultConfig is filled in by the persistent flags of "palyra secrets"
	// and "palyra daemon" (--vault-dir, --state-root, --backend), then, in
	// their pre-run, the fields left empty from the environment
	// (vault.Config.WithEnv): vault.Open itself reads no environment.
	VaultConfig vault.Config
	// Vault opens the vault described by VaultConfig on first call and
	// returns the same one afterwards, creating it if it does not exist.
	// Main closes it when the command ends.
	Vault func(ctx context.Context) (*vault.Vault, error)
	// ExistingVault is Vault for commands that only read or remove: when no
	// vault exists yet it creates nothing and fails with an error wrapping
	// ErrNoVault (and vault.ErrNotFound).
	ExistingVault func(ctx context.Context) (*vault.Vault, error)
	// Extra builds the commands that only palyra-extra links (see package
	// delegate), by their path below "palyra": "daemon", "secrets export",
	// "secrets import". palyra leaves it nil and builds stubs that hand
	// those commands to palyra-extra; palyra-extra fills it in.
	Extra map[string]func(*Factory) *cobra.Command

	mu     sync.Mutex
	opened *vault.Vault
}

// NewFactory returns a Factory whose Vault opens f.VaultConfig lazily, so
// commands that fail on their arguments never touch the disk.
func NewFactory(ios *iostreams.IOStreams) *Factory {
	f := &Factory{IOStreams: ios}
	f.Vault = f.openVault
	f.ExistingVault = f.openExistingVault
	return f
}

// ErrNoVault means the command needs a vault and none has been created at
// the vault root yet. It wraps vault.ErrNotFound, so it exits like a missing
// secret.
var ErrNoVault = errwrap.New("no vault here yet", vault.ErrNotFound)

func (f *Factory) openExistingVault(ctx context.Context) (*vault.Vault, error) {
	exists, root, err := vault.Exists(f.VaultConfig)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, WithHints(fmt.Errorf("%w (looked in %s)", ErrNoVault, root),
			`store a secret with "palyra secrets set" to create the vault, or point --vault-dir / $PALYRA_VAULT_DIR at an existing one`)
	}
	return f.openVault(ctx)
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
