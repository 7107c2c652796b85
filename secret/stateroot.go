package secret

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// ErrParentDir is wrapped by CheckNoParentDir's error: a vault or state
// path with a ".." component.
var ErrParentDir = errors.New(`holds a ".." component`)

// CheckNoParentDir refuses a path given for the vault root or the state
// root (a flag, $PALYRA_VAULT_DIR, $PALYRA_STATE_ROOT) that has a ".."
// component, as Palyra's vault refuses one: such a path names a place
// other than it seems to, and is how a path meant to stay inside a
// directory escapes it. what names the setting in the error ("vault root").
// It is the one rule for those paths: the vault (vault.Paths, vault.Open)
// and StateRoot call it.
func CheckNoParentDir(what, path string) error {
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == filepath.Separator })
	if slices.Contains(parts, "..") {
		return fmt.Errorf("%s %q %w; name the directory without it (an absolute path, or one relative to the current directory that does not climb)", what, path, ErrParentDir)
	}
	return nil
}

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
	if err := CheckNoParentDir("state root", root); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("state root %q: %w", root, err)
	}
	return abs, nil
}
