// Package refread is what the verbs that resolve secret references (run,
// inject, explain, audit) share: a vault opened for reading only, never
// created (ExistingVault), how a reference is named to the user
// (DisplayRef), the report of failed resolutions (ListError, ResolveHints)
// and the check of --trusted-dir (CheckTrustedDirs). It links no
// command-line library and no TOML decoder, so the lean front of palyra
// (package lean) serves "palyra secrets run" with it; package shared
// forwards to it under the same names.
package refread

import (
	"context"
	"sync"

	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
)

// VaultPaths returns the state root and the vault root that vault.Open
// uses for cfg (see vault.Paths). It touches nothing on disk.
func VaultPaths(cfg vault.Config) (stateRoot, root string, err error) { return vault.Paths(cfg) }

// ExistingVault opens a vault for reading references without ever creating
// one: commands that only read (run, inject, audit, explain) must not leave
// a new vault behind. It implements resolve.VaultLookup. It is safe for
// concurrent use.
type ExistingVault struct {
	// Config says which vault (the --vault-dir, --state-root and --backend
	// flags).
	Config vault.Config
	// Open opens the vault (factory.Factory.Vault, which also closes it).
	Open func(context.Context) (*vault.Vault, error)
	// Rust, when not nil, opens a Rust Palyra vault to read in place
	// instead, or returns nil when there is none
	// (factory.Factory.RustVault).
	Rust func(context.Context, bool) (*palyrars.Vault, error)

	mu     sync.Mutex
	opened *vault.Vault
	root   string
	absent bool
}

// ErrNoVault is matched by ExistingVault's errors when no vault has been
// created at the configured root (factory.ErrNoVault, the commands' own).
// Those errors match vault.ErrNotFound too, so a reference into a vault
// that does not exist counts as missing.
var ErrNoVault = factory.ErrNoVault

// Vault returns the open vault, opening it on first call. When no vault
// exists at the root, it fails with an error matching ErrNoVault and
// vault.ErrNotFound that names the root.
func (e *ExistingVault) Vault(ctx context.Context) (*vault.Vault, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opened != nil {
		return e.opened, nil
	}
	if e.absent {
		return nil, factory.NoVaultAt(e.root)
	}
	exists, root, err := vault.Exists(e.Config)
	if err != nil {
		return nil, err
	}
	e.root = root
	if !exists {
		e.absent = true
		return nil, factory.NoVaultAt(root)
	}
	v, err := e.Open(ctx)
	if err != nil {
		return nil, err
	}
	e.opened = v
	return v, nil
}

// Get reads one secret; see vault.Vault.Get. It fails with an error
// wrapping vault.ErrNotFound when there is no vault at all.
func (e *ExistingVault) Get(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
	if e.Rust != nil {
		rv, err := e.Rust(ctx, true)
		if err != nil {
			return secret.SensitiveBytes{}, vault.Metadata{}, err
		}
		if rv != nil {
			return factory.RustGet(ctx, rv, scope, key)
		}
	}
	v, err := e.Vault(ctx)
	if err != nil {
		return secret.SensitiveBytes{}, vault.Metadata{}, err
	}
	return v.Get(ctx, scope, key)
}

// Stat reads one secret's metadata without decrypting it; see
// vault.Vault.Stat.
func (e *ExistingVault) Stat(ctx context.Context, scope, key string) (vault.Metadata, error) {
	if e.Rust != nil {
		rv, err := e.Rust(ctx, false)
		if err != nil {
			return vault.Metadata{}, err
		}
		if rv != nil {
			return factory.RustStat(rv, scope, key)
		}
	}
	v, err := e.Vault(ctx)
	if err != nil {
		return vault.Metadata{}, err
	}
	return v.Stat(ctx, scope, key)
}
