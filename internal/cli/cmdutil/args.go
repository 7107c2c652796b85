package cmdutil

import (
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/secret"
	"github.com/spf13/cobra"
)

// ParseRefArgs reads the secret a command addresses from its arguments:
// either two ("<scope> <key>") or one ("vault://<scope>/<key>"). The scope
// is returned in canonical form (secret.ParseScope: "GLOBAL" is "global",
// "principal: Alice " is "principal:Alice", as the Rust CLI reads them). Bad input
// is a UsageError wrapping secret.ErrInvalidScope, secret.ErrInvalidKey or
// secret.ErrInvalidRef that names the argument by position and the rule it
// breaks, never its value: a scope typed where it should not be may be a
// pasted secret (docs/CLI.md, UI rules).
func ParseRefArgs(args []string) (secret.Ref, error) {
	return ParseRefArgsAt(args, 1)
}

// ParseRefArgsAt is ParseRefArgs for arguments that start at position first
// (1-based) of the command's arguments, as in "configure <setting> <scope>
// <key>" where the scope is argument 2.
func ParseRefArgsAt(args []string, first int) (secret.Ref, error) {
	switch len(args) {
	case 1:
		r, err := secret.ParseRef(args[0])
		if err != nil {
			return secret.Ref{}, ArgError(first, "the vault reference", err)
		}
		return r, nil
	case 2:
		scope, err := secret.ParseScope(args[0])
		if err != nil {
			return secret.Ref{}, ArgError(first, "the scope", err)
		}
		if err := secret.ValidateKey(args[1]); err != nil {
			return secret.Ref{}, ArgError(first+1, "the key", err)
		}
		return secret.Ref{Scope: scope, Key: args[1]}, nil
	default:
		return secret.Ref{}, refCountError(len(args))
	}
}

// ArgError is the UsageError for positional argument pos (1-based), which
// the command calls what (such as "the scope"): "argument 1 (the scope):
// <err>". It names the argument by position, never by value; err must not
// hold the value either (the secret package's errors do not).
func ArgError(pos int, what string, err error) error {
	return &UsageError{Err: fmt.Errorf("argument %d (%s): %w", pos, what, err)}
}

// RefArgs is a cobra.PositionalArgs for commands that take "<scope> <key>"
// or "vault://<scope>/<key>". It checks the count only, and never repeats
// the arguments in its error: a mistaken third argument may be a secret
// typed on the command line.
func RefArgs(cmd *cobra.Command, args []string) error {
	if n := len(args); n < 1 || n > 2 {
		return refCountError(n)
	}
	return nil
}

func refCountError(n int) error {
	err := UsageErrorf("expected <scope> <key> or one vault://<scope>/<key>, got %d arguments", n)
	if n > 2 {
		return WithHints(err,
			`secret values are never read from the command line; pipe them on stdin: printf '%s' "$VALUE" | palyra secrets set <scope> <key>`,
			"if an extra argument was a secret, it may now be in your shell history")
	}
	return err
}

// MaxArgs is cobra.MaximumNArgs without echoing the arguments, returning a
// UsageError.
func MaxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return UsageErrorf("accepts at most %d argument(s), got %d", n, len(args))
		}
		return nil
	}
}

// NoSubcommand is the Args check of a command group: any argument names a
// subcommand that does not exist. The error does not repeat the argument
// (it may be a secret pasted in the wrong place); it lists the commands
// that exist.
func NoSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return WithHints(UsageErrorf("unknown command (argument 1) for %q", cmd.CommandPath()),
		fmt.Sprintf("available commands: %s", strings.Join(names, ", ")))
}
