package vault

import (
	"fmt"
	"path/filepath"

	"github.com/palyra/palyra-vault/secret"
)

// Paths returns the absolute state root and vault root that Open uses for
// cfg: the config's fields, else the platform's per-user state directory
// (secret.DefaultStateRoot) and <state root>/vault. It reads no
// environment variable (see ConfigFromEnv) and touches nothing on disk. A
// root with a ".." component is refused (secret.CheckNoParentDir).
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
		root = filepath.Join(stateRoot, "vault")
	}
	if root, err = filepath.Abs(root); err != nil {
		return "", "", err
	}
	return stateRoot, root, nil
}
