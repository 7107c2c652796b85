package shared

import (
	"github.com/palyra/palyra-vault/internal/cli/secrets/refread"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/vault"
)

// VaultPaths returns the state root and the vault root that vault.Open
// uses for cfg (refread.VaultPaths).
func VaultPaths(cfg vault.Config) (stateRoot, root string, err error) {
	return refread.VaultPaths(cfg)
}

// ExistingVault opens a vault for reading references without ever
// creating one (refread.ExistingVault).
type ExistingVault = refread.ExistingVault

// ErrNoVault is matched by ExistingVault's errors when no vault has been
// created at the configured root (refread.ErrNoVault).
var ErrNoVault = refread.ErrNoVault

// DisplayRef is how a command names a reference to the user who wrote it
// (refread.DisplayRef).
func DisplayRef(r resolve.Ref) string { return refread.DisplayRef(r) }

// ListError reports several failures in one message and keeps the first
// as its cause (refread.ListError).
type ListError = refread.ListError

// ResolveHints returns what to do about a failed resolution of err's kind
// (refread.ResolveHints).
func ResolveHints(err error) []string { return refread.ResolveHints(err) }

// CheckTrustedDirs returns a usage error unless every --trusted-dir is an
// absolute path or starts with "~/" (refread.CheckTrustedDirs).
func CheckTrustedDirs(dirs []string) error { return refread.CheckTrustedDirs(dirs) }
