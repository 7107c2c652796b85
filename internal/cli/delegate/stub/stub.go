// Package stub builds, in the cobra command tree, the stand-in of a
// command that palyra-extra holds (package delegate): a command with the
// real one's Use and Short whose run, help and completion hand the command
// line to palyra-extra. The tree that palyra-extra runs builds the real
// commands instead (cmdutil.Factory.Extra); the stubs serve the tree built
// without them (cli.Run, as tests run it in-process).
package stub

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/spf13/cobra"
)

// Build returns c's real command when f.Extra has it (in palyra-extra),
// else New(c).
func Build(c delegate.Command, f *cmdutil.Factory) *cobra.Command {
	if build := cmdutil.ExtraCommand(f, c.Path); build != nil {
		return build(f)
	}
	return New(c)
}

// Builder returns Build for c, as a verb table wants it.
func Builder(c delegate.Command) func(*cmdutil.Factory) *cobra.Command {
	return func(f *cmdutil.Factory) *cobra.Command { return Build(c, f) }
}

// New returns the stub of c: its Use and Short, no flags of its own,
// and a run and a help that both hand the whole command line to
// palyra-extra. Flag parsing is off, so every argument, including --help,
// reaches palyra-extra as it was typed. Subcommands added to the stub
// ("palyra daemon status") run in this tree and show their own help.
func New(c delegate.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:                c.Use,
		Short:              c.Short,
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return delegate.Exec(commandWords(cmd), args)
		},
		ValidArgsFunction: complete,
	}
	for _, sub := range c.Subcommands() {
		cmd.AddCommand(New(sub))
	}
	stub := cmd
	cmd.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if cmd != stub { // a subcommand of the stub, which this tree holds
			cmd.Root().HelpFunc()(cmd, args)
			return
		}
		if err := delegate.Exec(commandWords(cmd), []string{"--help"}); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "palyra: error: %v\n", err)
		}
	})
	return cmd
}

// complete answers shell completion for a stub by asking palyra-extra's
// own completion ("palyra-extra __complete <command> <args> <word>", the
// request cobra's completion scripts make), so that its flags and their
// values complete as if palyra had them. Anything amiss completes nothing.
func complete(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	path, err := delegate.Path()
	if err != nil {
		return nil, none
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	argv := append(append(append([]string{cobra.ShellCompRequestCmd}, commandWords(cmd)...), args...), toComplete)
	out, err := exec.CommandContext(ctx, path, argv...).Output()
	if err != nil {
		return nil, none
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	last := lines[len(lines)-1]
	directive, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		return nil, none
	}
	var comps []cobra.Completion
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			comps = append(comps, l)
		}
	}
	return comps, cobra.ShellCompDirective(directive)
}

// commandWords returns cmd's path below the root: ["secrets", "export"].
func commandWords(cmd *cobra.Command) []string {
	return strings.Fields(cmd.CommandPath())[1:]
}
