package secret

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// EnvStateRoot overrides the state root (which holds the device key, the
// daemon's directory and, by default, the vault root).
const EnvStateRoot = "PALYRA_STATE_ROOT"

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
// empty, else $PALYRA_STATE_ROOT, else DefaultStateRoot(). It is the one
// rule for the state root: the CLI, the daemon and the daemon's clients all
// call it, and the vault's configuration from the environment does too.
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
