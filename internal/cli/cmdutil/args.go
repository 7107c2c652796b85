package cmdutil

import (
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/refargs"
	"github.com/spf13/cobra"
)

// RefArgs is a cobra.PositionalArgs for commands that take "<scope> <key>"
// or "vault://<scope>/<key>". It checks the count only, and never repeats
// the arguments in its error: a mistaken third argument may be a secret
// typed on the command line.
func RefArgs(cmd *cobra.Command, args []string) error {
	if n := len(args); n < 1 || n > 2 {
		return refargs.CountError(n)
	}
	return nil
}

// MaxArgs is cobra.MaximumNArgs without echoing the arguments, returning a
// UsageError.
func MaxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return refargs.MaxCount(n, len(args))
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
