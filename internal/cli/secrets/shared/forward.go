// Package shared holds what the "palyra secrets" verbs have in common:
// reading vault references without creating a vault, palyra.toml
// settings, trusted directories, the --daemon and newline flags. What the
// lean front of palyra (package lean) needs too lives in packages that
// link no command-line library and no TOML decoder: present (how a secret
// is shown), lookup (the daemon or the vault) and valuein (reading a
// value); the names here forward to them, under the names the verbs use.
package shared

import (
	"context"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/lookup"
	"github.com/palyra/palyra-vault/internal/cli/secrets/present"
	"github.com/palyra/palyra-vault/internal/cli/secrets/valuein"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// SecretJSON is the JSON form of one secret's metadata (present.SecretJSON).
type SecretJSON = present.SecretJSON

// FromMetadata converts vault metadata to its JSON form (present.FromMetadata).
func FromMetadata(m vault.Metadata) SecretJSON { return present.FromMetadata(m) }

// FormatTime formats t for text output (present.FormatTime).
func FormatTime(t time.Time) string { return present.FormatTime(t) }

// ListHint tells the user how to see what is stored in scope (present.ListHint).
func ListHint(scope string) string { return present.ListHint(scope) }

// RefArgs returns the arguments that address r on a command line
// (present.RefArgs).
func RefArgs(r secret.Ref) string { return present.RefArgs(r) }

// ShellQuote returns s ready to paste into a POSIX shell command
// (present.ShellQuote).
func ShellQuote(s string) string { return present.ShellQuote(s) }

// DaemonModes are the values of --daemon (lookup.DaemonModes).
var DaemonModes = lookup.DaemonModes

// DaemonTimeout bounds one question to the daemon (lookup.DaemonTimeout).
const DaemonTimeout = lookup.DaemonTimeout

// DaemonFlag adds --daemon to cmd, bound to mode (default "auto").
func DaemonFlag(cmd *cobra.Command, mode *string) {
	cmd.Flags().StringVar(mode, "daemon", lookup.DefaultDaemonMode, lookup.DaemonFlagUsage)
}

// CheckDaemonMode returns a usage error unless mode is one of DaemonModes
// (lookup.CheckMode).
func CheckDaemonMode(mode string) error { return lookup.CheckMode(mode) }

// VaultLookup is how a command reads vault secrets (lookup.Vault).
type VaultLookup = lookup.Vault

// NewVaultLookup returns the lookup of the factory's vault (lookup.New).
func NewVaultLookup(f *cmdutil.Factory, mode string, direct func(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error)) *VaultLookup {
	return lookup.New(f, mode, direct)
}

// AddNewlineFlags declares --trim-newline and --keep-newline, the flags
// that say what to do with a final newline of a value read on stdin (set,
// configure); CheckNewlineFlags refuses them together.
func AddNewlineFlags(fs *pflag.FlagSet, trim, keep *bool) {
	fs.BoolVar(trim, "trim-newline", false, valuein.TrimNewlineUsage)
	fs.BoolVar(keep, "keep-newline", false, valuein.KeepNewlineUsage)
}

// CheckNewlineFlags returns a usage error when both --trim-newline and
// --keep-newline are given (valuein.CheckNewlineFlags).
func CheckNewlineFlags(trim, keep bool) error { return valuein.CheckNewlineFlags(trim, keep) }

// ValueInput says where ReadValue takes a secret value from (valuein.Input).
type ValueInput = valuein.Input

// ReadValue returns a secret value from stdin or a no-echo prompt
// (valuein.Read).
func ReadValue(in ValueInput) ([]byte, error) { return valuein.Read(in) }

// NewlineWarning is the warning for a piped value that ends in a newline
// that was kept (valuein.NewlineWarning).
const NewlineWarning = valuein.NewlineWarning
