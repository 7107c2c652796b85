// Package cmdutil holds what the cobra commands of palyra share: argument
// checks and the global --output-format flag for cobra, and, under the
// names every command already uses, the cobra-free pieces that live in
// their own packages so that the lean front of palyra (package lean) links
// no cobra: the Factory (package factory), the errors that decide exit
// codes and carry hints (package clierr), scope/key argument parsing
// (package refargs) and JSON output (package jsonout). The names here are
// aliases and one-line forwards, never a second implementation.
package cmdutil

import (
	"context"
	"io"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/cli/refargs"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/spf13/cobra"
)

// Factory gives commands their dependencies: see factory.Factory.
type Factory = factory.Factory

// NewFactory returns a Factory whose Vault opens f.VaultConfig lazily
// (factory.New).
func NewFactory(ios *iostreams.IOStreams) *Factory { return factory.New(ios) }

// ErrNoVault is factory.ErrNoVault: no vault has been created yet.
var ErrNoVault = factory.ErrNoVault

// ExtraCommand returns the builder of the command at path (below "palyra")
// that f.Extra holds, or nil: palyra-extra fills f.Extra in.
func ExtraCommand(f *Factory, path string) func(*Factory) *cobra.Command {
	m, _ := f.Extra.(map[string]func(*Factory) *cobra.Command)
	return m[path]
}

// RustGet reads one secret of a Rust vault in place (factory.RustGet).
func RustGet(ctx context.Context, rv *palyrars.Vault, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
	return factory.RustGet(ctx, rv, scope, key)
}

// RustStat returns the metadata of one secret of a Rust vault
// (factory.RustStat).
func RustStat(rv *palyrars.Vault, scope, key string) (vault.Metadata, error) {
	return factory.RustStat(rv, scope, key)
}

// RustMetadata converts a Rust vault's entry to palyra's metadata
// (factory.RustMetadata).
func RustMetadata(e palyrars.Entry) vault.Metadata { return factory.RustMetadata(e) }

// UsageError means the command line itself was wrong (clierr.UsageError).
type UsageError = clierr.UsageError

// HintError attaches hints to an error (clierr.HintError).
type HintError = clierr.HintError

// ExitError ends a command with a chosen exit code (clierr.ExitError).
type ExitError = clierr.ExitError

// UsageErrorf formats a UsageError (clierr.UsageErrorf).
func UsageErrorf(format string, args ...any) error { return clierr.UsageErrorf(format, args...) }

// WithHints wraps err with hints (clierr.WithHints).
func WithHints(err error, hints ...string) error { return clierr.WithHints(err, hints...) }

// Hints returns the hints found anywhere in err's chain (clierr.Hints).
func Hints(err error) []string { return clierr.Hints(err) }

// ExitCode returns the code of the first *ExitError in err's chain
// (clierr.ExitCode).
func ExitCode(err error) (code int, silent, ok bool) { return clierr.ExitCode(err) }

// ArgError is the UsageError for positional argument pos (clierr.ArgError).
func ArgError(pos int, what string, err error) error { return clierr.ArgError(pos, what, err) }

// ParseRefArgs reads "<scope> <key>" or "vault://<scope>/<key>" from args
// (refargs.Parse).
func ParseRefArgs(args []string) (secret.Ref, error) { return refargs.Parse(args) }

// ParseRefArgsAt is ParseRefArgs for arguments that start at position first
// (refargs.ParseAt).
func ParseRefArgsAt(args []string, first int) (secret.Ref, error) {
	return refargs.ParseAt(args, first)
}

// PrintJSON writes v as JSON to ios.Out (jsonout.Print).
func PrintJSON(ios *iostreams.IOStreams, v any) error { return jsonout.Print(ios, v) }

// WriteJSON writes v as JSON followed by a newline (jsonout.Write).
func WriteJSON(w io.Writer, v any, pretty bool) error { return jsonout.Write(w, v, pretty) }
