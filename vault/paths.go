package vault

import (
	"fmt"
	"path/filepath"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/palyrars"
)

// Directories under the state root.
const (
	// DefaultVaultDir is the vault root's name under the state root.
	DefaultVaultDir = "vault"
	// RustNeighbourVaultDir is the vault root's name under the state root
	// when <state root>/vault holds a vault the Rust Palyra wrote
	// (palyrars.IsVault): the two never share a directory.
	RustNeighbourVaultDir = "palyra-vault"
)

// Paths returns the absolute state root and vault root that Open uses for
// cfg: the config's fields, else the platform's per-user state directory
// (secret.DefaultStateRoot) and <state root>/vault, or <state
// root>/palyra-vault when a Rust Palyra vault holds <state root>/vault. It
// reads no environment variable (see ConfigFromEnv) and touches nothing on
// disk. A root with a ".." component is refused (secret.CheckNoParentDir).
func Paths(cfg Config) (stateRoot, root string, err error) { return resolvePaths(cfg) }

// resolvePaths fills in the state root and vault root from the config and
// the platform default, in that order.
func resolvePaths(cfg Config) (stateRoot, root string, err error) {
	stateRoot = cfg.StateRoot
	if stateRoot == "" {
		if stateRoot, err = secret.DefaultStateRoot(); err != nil {
			return "", "", err
		}
	}
	if err := secret.CheckNoParentDir("state root", stateRoot); err != nil {
		return "", "", err
	}
	if err := secret.CheckNoParentDir("vault root", cfg.Root); err != nil {
		return "", "", err
	}
	if stateRoot, err = filepath.Abs(stateRoot); err != nil {
		return "", "", fmt.Errorf("state root %q: %w", cfg.StateRoot, err)
	}
	root = cfg.Root
	if root == "" {
		root = filepath.Join(stateRoot, DefaultVaultDir)
		if palyrars.IsVault(root) {
			// The Rust Palyra's vault holds the default directory (on
			// Linux and Windows both programs default to <state
			// root>/vault): ours lives beside it.
			root = filepath.Join(stateRoot, RustNeighbourVaultDir)
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return "", "", err
	}
	return stateRoot, root, nil
}
