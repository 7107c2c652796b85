package vault

import (
	"os"
	"path/filepath"

	"github.com/palyra/palyra-vault/secret"
)

// Environment variables that Open consults when the Config leaves a field
// empty (the state root's, secret.EnvStateRoot, is read by secret.StateRoot).
const (
	// EnvVaultDir overrides the vault root.
	EnvVaultDir = "PALYRA_VAULT_DIR"
	// EnvBackend names the preferred backend for a new vault.
	EnvBackend = "PALYRA_VAULT_BACKEND"
)

// Paths returns the absolute state root and vault root that Open uses for
// cfg: the config's fields, else $PALYRA_STATE_ROOT and $PALYRA_VAULT_DIR,
// else the platform default and <state root>/vault. It touches nothing on
// disk.
func Paths(cfg Config) (stateRoot, root string, err error) { return resolvePaths(cfg) }

// resolvePaths fills in the state root and vault root from the config, the
// environment and the platform default, in that order.
func resolvePaths(cfg Config) (stateRoot, root string, err error) {
	if stateRoot, err = secret.StateRoot(cfg.StateRoot); err != nil {
		return "", "", err
	}
	root = cfg.Root
	if root == "" {
		root = os.Getenv(EnvVaultDir)
	}
	if root == "" {
		root = filepath.Join(stateRoot, "vault")
	}
	if root, err = filepath.Abs(root); err != nil {
		return "", "", err
	}
	return stateRoot, root, nil
}
