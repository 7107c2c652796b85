// Package get builds the cobra command "palyra secrets get": show a
// secret's metadata, or with --reveal its value. What it does is package
// getrun's, which the lean front of palyra runs too.
package get

import (
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/get/getrun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/spf13/cobra"
)

// GetOptions are the dependencies and flags of "palyra secrets get"
// (getrun.Options).
type GetOptions = getrun.Options

// NewCmdGet returns the "get" command. When runF is not nil it is called
// with the parsed options instead of getrun.Run, so tests can check parsing.
func NewCmdGet(f *cmdutil.Factory, runF func(*GetOptions) error) *cobra.Command {
	opts := &GetOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "get (<scope> <key> | vault://<scope>/<key>)",
		Short: "Show a secret's metadata, or its value with --reveal",
		Long: `Show a secret's ref and creation and update times (--json adds its size). The value is
shown as [REDACTED] unless --reveal is given. Even without --reveal the
secret is decrypted and authenticated (then wiped from memory), so a wrong
key or a damaged object is reported.

With --reveal the value's bytes are written to stdout exactly as stored,
with no newline added; when stdout is a terminal a warning goes to stderr.

With --json the metadata is printed as one JSON object and "redacted" is
true. With --json --reveal the object also holds "value" and "encoding":
the value as a JSON string when it is valid UTF-8 ("encoding": "utf-8"),
else as standard base64 ("encoding": "base64").

With --daemon auto (the default) the secret is asked of the palyra daemon
when one runs on this state root (its policy applies: see docs/DAEMON.md),
which spares a passphrase vault's prompt; when none answers, or it refuses
or fails, the vault is read directly, as it always is when --vault-dir or
$PALYRA_VAULT_DIR is set. --daemon never reads the vault; --daemon require
fails without a daemon. The output is the same either way.`,
		Example: `  # Metadata only: the value is redacted
  palyra secrets get global openai_api_key

  # The raw value, for a pipe or a variable
  OPENAI_API_KEY="$(palyra secrets get vault://global/openai_api_key --reveal)"

  # Machine-readable metadata
  palyra secrets get global openai_api_key --json`,
		Args: cmdutil.RefArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Complete(args); err != nil {
				return err
			}
			opts.Bind(f)
			if runF != nil {
				return runF(opts)
			}
			return getrun.Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Reveal, "reveal", false, "print the secret's value (raw bytes, no newline added)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the metadata as JSON (with --reveal, the value too)")
	shared.DaemonFlag(cmd, &opts.Daemon)
	return cmd
}
