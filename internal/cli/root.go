package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/completion"
	statusCmd "github.com/palyra/palyra-vault/internal/cli/daemon/status"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/delegate/stub"
	"github.com/palyra/palyra-vault/internal/cli/secrets"
	"github.com/palyra/palyra-vault/internal/iostreams"
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
	root.AddCommand(newCmdDaemon(f))
	return root
}

// newCmdDaemon returns "palyra daemon": the real command where f.Extra has
// it (palyra-extra), else the stub that hands it to palyra-extra, with the
// same persistent flags and the status subcommand, which palyra runs
// itself.
func newCmdDaemon(f *cmdutil.Factory) *cobra.Command {
	if build := cmdutil.ExtraCommand(f, delegate.Daemon.Path); build != nil {
		return build(f)
	}
	cmd := stub.New(delegate.Daemon)
	flags := statusCmd.AddDaemonFlags(cmd, f)
	cmd.AddCommand(statusCmd.NewCmdStatus(f, flags.SocketPath, nil))
	return cmd
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
//     A global --output-format before "secrets" (as Palyra's scripts
//     write it) does not change that;
//   - anything else (help, completion, another flag before the verb, an
//     unknown verb, the daemon) gets the whole tree, which lists,
//     completes and suggests among all commands.
func newCmdRootFor(f *cmdutil.Factory, args []string) *cobra.Command {
	verb := afterOutputFormat(args)
	switch {
	case len(args) == 1 && args[0] == "--version":
		return newCmdRootAlone(f)
	case len(verb) >= 2 && verb[0] == "secrets":
		if group, ok := secrets.NewCmdSecretsVerb(f, verb[1]); ok {
			root := newCmdRootAlone(f)
			root.AddCommand(group)
			return root
		}
	}
	return NewCmdRoot(f)
}

// afterOutputFormat returns args without a leading --output-format flag
// ("--output-format json" or "--output-format=json").
func afterOutputFormat(args []string) []string {
	const flag = "--" + cmdutil.OutputFormatFlag
	switch {
	case len(args) >= 2 && args[0] == flag:
		return args[2:]
	case len(args) >= 1 && strings.HasPrefix(args[0], flag+"="):
		return args[1:]
	}
	return args
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
		Args: rootArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				_, err := fmt.Fprintln(f.IOStreams.Out, version.Get())
				return err
			}
			return cmd.Help()
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.ApplyOutputFormat(cmd, f.IOStreams)
		},
	}
	cmdutil.AddOutputFormatFlag(root)
	root.CompletionOptions.DisableDefaultCmd = true // ours has help and examples
	root.SetFlagErrorFunc(flagError)
	// Not cobra's own Version field: that would compute the version on
	// every start, and print it in cobra's words.
	root.Flags().BoolVar(&showVersion, "version", false, "print palyra's version and VCS revision")
	return root
}

// flagError turns pflag's parse errors into usage errors, for a command
// line whose arguments are unknown (see flagErrorFor).
func flagError(cmd *cobra.Command, err error) error { return flagErrorFor(nil)(cmd, err) }

// flagErrorFor returns the flag error function for the command line args
// (without the program name). Its messages never repeat a value, a group of
// short flags or an unknown flag's text from the command line: a mistaken
// argument may be a secret (--sk-proj-… pasted after a flag's dashes). An
// unknown long flag is named only when palyra defines a flag of that name
// on some other command (or it is --value, which gets its own hint);
// otherwise the error says where it is: "unknown flag (argument 4 of the
// command line)". A single letter of a short flag is named.
func flagErrorFor(args []string) func(*cobra.Command, error) error {
	return func(cmd *cobra.Command, err error) error {
		var (
			notExist *pflag.NotExistError
			invalid  *pflag.InvalidValueError
			required *pflag.ValueRequiredError
			syntax   *pflag.InvalidSyntaxError
		)
		switch {
		case errors.As(err, &notExist):
			name := notExist.GetSpecifiedName()
			if notExist.GetSpecifiedShortnames() != "" {
				err := cmdutil.UsageErrorf("unknown shorthand flag -%s", name)
				if name == "v" {
					return cmdutil.WithHints(err, valueHint)
				}
				return err
			}
			if name == "value" {
				return cmdutil.WithHints(cmdutil.UsageErrorf("unknown flag --value"), valueHint)
			}
			if isPalyraFlag(name) {
				return cmdutil.UsageErrorf("unknown flag --%s for %q", name, cmd.CommandPath())
			}
			return cmdutil.WithHints(cmdutil.UsageErrorf("unknown flag%s", argPosition(args, func(a string) bool {
				return a == "--"+name || strings.HasPrefix(a, "--"+name+"=")
			})), "the flag is not repeated here: a mistaken argument may be a secret")
		case errors.As(err, &invalid):
			return cmdutil.UsageErrorf("invalid value for flag --%s: expected a %s", invalid.GetFlag().Name, invalid.GetFlag().Value.Type())
		case errors.As(err, &required):
			return cmdutil.UsageErrorf("flag --%s needs an argument", required.GetFlag().Name)
		case errors.As(err, &syntax):
			flag := syntax.GetSpecifiedFlag()
			return cmdutil.UsageErrorf("bad flag syntax%s", argPosition(args, func(a string) bool { return a == flag }))
		}
		return &cmdutil.UsageError{Err: err}
	}
}

// argPosition returns " (argument N of the command line)" for the first of
// args (before any "--") that match, counting from 1 after the program
// name, or "" when none does.
func argPosition(args []string, match func(string) bool) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if match(a) {
			return fmt.Sprintf(" (argument %d of the command line)", i+1)
		}
	}
	return ""
}

// isPalyraFlag reports whether some palyra command defines a long flag
// called name, so that naming it in an error repeats palyra's own words,
// not the user's. It builds the whole command tree, which only an error
// path can afford.
func isPalyraFlag(name string) bool {
	ios, _, _, _ := iostreams.Test()
	found := false
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.LocalFlags().Lookup(name) != nil || c.PersistentFlags().Lookup(name) != nil {
			found = true
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCmdRoot(cmdutil.NewFactory(ios)))
	return found
}

const valueHint = `secret values are never read from the command line; pipe them on stdin: printf '%s' "$VALUE" | palyra secrets set <scope> <key>`
