// Package run builds the cobra command "palyra secrets run": resolve
// secret references into environment variables and run a command with
// them set, masking them in its output. What it does is package runrun's,
// which the lean front of palyra runs too; this command reads every form
// of reference, TOML inline tables included (tomlref.Parse).
package run

import (
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/run/runrun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/resolve/tomlref"
	"github.com/spf13/cobra"
)

// Exit codes of a child that could not be started, as shells report them
// (runrun.ExitCannotExecute, runrun.ExitCommandNotFound).
const (
	// ExitCannotExecute means the program exists but could not be run.
	ExitCannotExecute = runrun.ExitCannotExecute
	// ExitCommandNotFound means the program was not found.
	ExitCommandNotFound = runrun.ExitCommandNotFound
)

// RunOptions are the dependencies and flags of "palyra secrets run"
// (runrun.Options).
type RunOptions = runrun.Options

// NewCmdRun returns the "run" command. When runF is not nil it is called
// with the parsed options instead of runrun.Run, so tests can check
// parsing.
func NewCmdRun(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams, ParseRef: tomlref.Parse}
	cmd := &cobra.Command{
		// --output-format json makes the --dry-run report JSON; a run
		// prints nothing of its own for it to shape.
		Annotations: map[string]string{cmdutil.JSONNeedsAnnotation: "dry-run"},
		Use:         "run [--env NAME=<ref>]... [--env-file FILE] [flags] -- <command> [args...]",
		Short:       "Run a command with secrets in its environment, masking them in its output",
		Long: `Resolve secret references and run a command with them as environment
variables. The variables are set in the command's environment only, never
in palyra's own, and never on a command line.

A reference is vault://<scope>/<key>, env:<NAME>, file:<path> or a TOML
inline table such as { exec = ["pass", "show", "openai"] } (see
docs/REFERENCES.md). Give them with --env NAME=<ref> (repeatable) or in an
--env-file of NAME=<ref> lines (blank lines and # comments are ignored; a
leading "export " and quotes around the reference are allowed); --env wins
over the file for the same name. file: references are read only inside a
--trusted-dir (or the reference's own trusted_dirs). Every reference is
resolved before the command starts: one that fails stops everything, and
the command is not run. An optional reference (required = false) that is
missing leaves its variable unset.

Daemon: with --daemon auto (the default) vault references are asked of the
palyra daemon when one runs on this state root (its policy applies, see
docs/DAEMON.md), and read from the vault directly when none answers or
when --vault-dir or $PALYRA_VAULT_DIR names a vault; --daemon never reads
the vault only, --daemon require fails without a daemon.

Masking: every resolved value that the command writes to its standard
output or standard error is replaced with [REDACTED], even when it is
split across writes. Output that might be the start of a secret is held
back until the next bytes decide it, or for at most 150 ms when nothing
follows. --no-masking turns masking off and connects the command straight
to palyra's streams.

Terminals: when standard output is a terminal (and masking is on), the
command runs on a pseudo-terminal of its own, so it sees a terminal
(colours, prompts, full-screen programs keep working) while its output is
masked; palyra's terminal is put in raw mode and keystrokes pass through.
Otherwise the command gets pipes.

Signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to
palyra are passed to the command; a window size change resizes its
pseudo-terminal. With pipes, Ctrl-C typed at the terminal already reaches
the command (it shares palyra's process group), so it is not sent twice.

Exit status: the command's own; 128+N when it was killed by signal N;
126 when it could not be executed and 127 when it was not found. palyra
prints nothing of its own after a command that ran.

Key material: the command does not get the variables that carry key
material (PALYRA_VAULT_PASSPHRASE, PALYRA_VAULT_NEW_PASSPHRASE,
PALYRA_BACKUP_PASSPHRASE), which would let it open the whole vault, unless
one is named with --pass-env NAME. Their values are masked in its output
like resolved secrets, passed or not.

--dry-run resolves everything and prints each variable's name, reference
and size (never a value) instead of running; add --json for scripts.`,
		Example: `  # One variable from the vault
  palyra secrets run --env OPENAI_API_KEY=vault://global/openai_api_key -- python agent.py

  # Many from a file; masking shows [REDACTED] if the program prints one
  palyra secrets run --env-file .env.refs -- ./deploy.sh --prod

  # Check that every reference resolves, without running anything
  palyra secrets run --env-file .env.refs --dry-run --json`,
		Args: func(cmd *cobra.Command, args []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Complete(args); err != nil {
				return err
			}
			opts.Bind(f)
			if runF != nil {
				return runF(opts)
			}
			return runrun.Run(cmd.Context(), opts)
		},
	}
	// Flags after the program's name belong to the program.
	cmd.Flags().SetInterspersed(false)
	shared.DaemonFlag(cmd, &opts.Daemon)
	cmd.Flags().StringArrayVarP(&opts.Env, "env", "e", nil, "set `NAME=<ref>` in the command's environment (repeatable)")
	cmd.Flags().StringVar(&opts.EnvFile, "env-file", "", "read NAME=<ref> lines from `FILE`")
	cmd.Flags().StringArrayVar(&opts.TrustedDirs, "trusted-dir", nil, "a `DIR` that file: references may read from (repeatable)")
	cmd.Flags().StringArrayVar(&opts.PassEnv, "pass-env", nil, "give the command `NAME`, a variable that carries key material (such as PALYRA_VAULT_PASSPHRASE), which it does not get otherwise (repeatable)")
	cmd.Flags().BoolVar(&opts.NoMasking, "no-masking", false, "pass the command's output on without masking secrets")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "resolve every reference and report, without running the command")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the --dry-run report as JSON")
	return cmd
}
