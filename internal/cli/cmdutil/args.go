package cmdutil

import (
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/secret"
	"github.com/spf13/cobra"
)

// ParseRefArgs reads the secret a command addresses from its arguments:
// either two ("<scope> <key>") or one ("vault://<scope>/<key>"). Bad input
// is a UsageError wrapping secret.ErrInvalidScope, secret.ErrInvalidKey or
// secret.ErrInvalidRef. The arguments never hold secret values, but errors
// about a wrong count still do not repeat them.
func ParseRefArgs(args []string) (secret.Ref, error) {
	switch len(args) {
	case 1:
		r, err := secret.ParseRef(args[0])
		if err != nil {
			return secret.Ref{}, &UsageError{Err: err}
		}
		return r, nil
	case 2:
		r := secret.Ref{Scope: args[0], Key: args[1]}
		if err := r.Validate(); err != nil {
			return secret.Ref{}, &UsageError{Err: err}
		}
		return r, nil
	default:
		return secret.Ref{}, refCountError(len(args))
	}
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
// subcommand that does not exist.
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
	return WithHints(UsageErrorf("unknown command %q for %q", args[0], cmd.CommandPath()),
		fmt.Sprintf("available commands: %s", strings.Join(names, ", ")))
}
