package cli

import (
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/completion"
	daemonCmd "github.com/palyra/palyra-vault/internal/cli/daemon"
	"github.com/palyra/palyra-vault/internal/cli/secrets"
	"github.com/palyra/palyra-vault/internal/version"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// NewCmdRoot returns the "palyra" command with every subcommand. Cobra's
// own error and usage printing is off: Run prints errors in palyra's format.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	root := newCmdRootAlone(f)
	root.AddCommand(secrets.NewCmdSecrets(f))
	root.AddCommand(completion.NewCmdCompletion(f))
	root.AddCommand(daemonCmd.NewCmdDaemon(f, nil))
	return root
}

// newCmdRootFor returns the part of the command tree that args need, which
// Run then executes; it behaves as NewCmdRoot's whole tree would for those
// args. Building every verb costs more than a bare Go program's whole
// start-up (docs/PERFORMANCE.md, "Start-up"), so:
//
//   - "palyra --version" gets the root alone;
//   - "palyra secrets <verb> ...", the verb named right after "secrets"
//     (as every example and script writes it), gets the root, the group and
//     that verb: its help, flags, persistent flags and errors are the same;
//   - anything else (help, completion, a flag before the verb, an unknown
//     verb, the daemon) gets the whole tree, which lists, completes and
//     suggests among all commands.
func newCmdRootFor(f *cmdutil.Factory, args []string) *cobra.Command {
	switch {
	case len(args) == 1 && args[0] == "--version":
		return newCmdRootAlone(f)
	case len(args) >= 2 && args[0] == "secrets":
		if group, ok := secrets.NewCmdSecretsVerb(f, args[1]); ok {
			root := newCmdRootAlone(f)
			root.AddCommand(group)
			return root
		}
	}
	return NewCmdRoot(f)
}

// newCmdRootAlone returns the "palyra" command without subcommands.
func newCmdRootAlone(f *cmdutil.Factory) *cobra.Command {
	var showVersion bool
	root := &cobra.Command{
		Use:   "palyra <command>",
		Short: "A secrets vault for the Palyra agent platform",
		Long: `palyra stores credentials (API keys, tokens, encryption keys) sealed in a
vault, addressed by a scope and a key, so that configuration files can hold
a reference such as vault://global/openai_api_key instead of the secret.`,
		Example: `  printf 'sk-test-123' | palyra secrets set global openai_api_key
  palyra secrets get global openai_api_key --reveal
  palyra completion bash
  palyra --version`,
		Args: cmdutil.NoSubcommand,
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				_, err := fmt.Fprintln(f.IOStreams.Out, version.Get())
				return err
			}
			return cmd.Help()
		},
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true // ours has help and examples
	root.SetFlagErrorFunc(flagError)
	// Not cobra's own Version field: that would compute the version on
	// every start, and print it in cobra's words.
	root.Flags().BoolVar(&showVersion, "version", false, "print palyra's version and VCS revision")
	return root
}

// flagError turns pflag's parse errors into usage errors. Its messages
// name the flag but never repeat a value or a group of short flags from the
// command line: a mistaken argument may be a secret.
func flagError(cmd *cobra.Command, err error) error {
	var (
		notExist *pflag.NotExistError
		invalid  *pflag.InvalidValueError
	)
	switch {
	case errors.As(err, &notExist):
		name := notExist.GetSpecifiedName()
		if notExist.GetSpecifiedShortnames() != "" {
			err = cmdutil.UsageErrorf("unknown shorthand flag -%s", name)
		} else {
			err = cmdutil.UsageErrorf("unknown flag --%s", name)
		}
		if name == "value" || name == "v" {
			return cmdutil.WithHints(err, valueHint)
		}
		return err
	case errors.As(err, &invalid):
		return cmdutil.UsageErrorf("invalid value for flag --%s: expected a %s", invalid.GetFlag().Name, invalid.GetFlag().Value.Type())
	}
	return &cmdutil.UsageError{Err: err}
}

const valueHint = `secret values are never read from the command line; pipe them on stdin: printf '%s' "$VALUE" | palyra secrets set <scope> <key>`
