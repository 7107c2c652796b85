package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Environment variables that Open consults when the Config leaves a field empty.
const (
	// EnvVaultDir overrides the vault root.
	EnvVaultDir = "PALYRA_VAULT_DIR"
	// EnvStateRoot overrides the state root (which holds the device key and,
	// by default, the vault root).
	EnvStateRoot = "PALYRA_STATE_ROOT"
	// EnvBackend names the preferred backend for a new vault.
	EnvBackend = "PALYRA_VAULT_BACKEND"
)

// DefaultStateRoot returns the platform's per-user state directory for
// palyra: $XDG_STATE_HOME/palyra or ~/.local/state/palyra on Linux and other
// Unix systems, ~/Library/Application Support/palyra on macOS, and
// %LOCALAPPDATA%\palyra on Windows. It ignores $PALYRA_STATE_ROOT.
func DefaultStateRoot() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "palyra"), nil
		}
		return "", errors.New("cannot find the state directory: %LOCALAPPDATA% is not set; set " + EnvStateRoot)
	case "darwin", "ios":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("cannot find the state directory: no home directory; set " + EnvStateRoot)
		}
		return filepath.Join(home, "Library", "Application Support", "palyra"), nil
	default:
		if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "palyra"), nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("cannot find the state directory: no home directory; set " + EnvStateRoot)
		}
		return filepath.Join(home, ".local", "state", "palyra"), nil
	}
}

// StateRoot returns the absolute state root: explicit when it is not
// empty, else $PALYRA_STATE_ROOT, else DefaultStateRoot(). It is the rule
// Open follows for Config.StateRoot.
func StateRoot(explicit string) (string, error) {
	root := explicit
	if root == "" {
		root = os.Getenv(EnvStateRoot)
	}
	if root == "" {
		var err error
		if root, err = DefaultStateRoot(); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("state root %q: %w", root, err)
	}
	return abs, nil
}

// Paths returns the absolute state root and vault root that Open uses for
// cfg: the config's fields, else $PALYRA_STATE_ROOT and $PALYRA_VAULT_DIR,
// else the platform default and <state root>/vault. It touches nothing on
// disk.
func Paths(cfg Config) (stateRoot, root string, err error) { return resolvePaths(cfg) }

// resolvePaths fills in the state root and vault root from the config, the
// environment and the platform default, in that order.
func resolvePaths(cfg Config) (stateRoot, root string, err error) {
	if stateRoot, err = StateRoot(cfg.StateRoot); err != nil {
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
