// Package set builds the cobra command "palyra secrets set": store a
// secret whose value comes from stdin or a no-echo prompt, never from the
// command line. What it does is package setrun's, which the lean front of
// palyra runs too.
package set

import (
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/set/setrun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/spf13/cobra"
)

// SetOptions are the dependencies and flags of "palyra secrets set"
// (setrun.Options).
type SetOptions = setrun.Options

// NewCmdSet returns the "set" command. When runF is not nil it is called
// with the parsed options instead of setrun.Run, so tests can check parsing.
func NewCmdSet(f *cmdutil.Factory, runF func(*SetOptions) error) *cobra.Command {
	opts := &SetOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "set (<scope> <key> | vault://<scope>/<key>)",
		Short: "Store a secret, reading its value from stdin or a no-echo prompt",
		Long: `Store a secret under a scope and a key, replacing any previous value
(its creation time is kept).

The value is never taken from the command line. When stdin is piped or
redirected, all of it is the value, byte for byte: a trailing newline is
kept unless --trim-newline is given (with a warning, unless --keep-newline
says it is meant), so prefer printf to echo. When stdin is
a terminal, the value is asked for twice without echo. An empty value is
refused, and so is one larger than the vault's limit (64 KiB by default);
in both cases nothing is stored.

Prints the stored secret's ref, the vault's backend and the update time,
never the value or its length; --json prints the metadata object (with
its size) and "backend".`,
		Example: `  # Store a key from a pipe (printf adds no newline)
  printf '%s' "$OPENAI_API_KEY" | palyra secrets set global openai_api_key

  # The same, addressed by a vault reference
  printf 'sk-test-123' | palyra secrets set vault://global/openai_api_key

  # Store a file's contents, dropping its final newline
  palyra secrets set plugins/github token --trim-newline < token.txt

  # Type the value at a no-echo prompt (asked twice)
  palyra secrets set principal:alice password`,
		Args: cmdutil.RefArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Complete(args); err != nil {
				return err
			}
			opts.Bind(f)
			if runF != nil {
				return runF(opts)
			}
			return setrun.Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.ValueStdin, "value-stdin", false, "read the value from stdin even when it is a terminal")
	shared.AddNewlineFlags(cmd.Flags(), &opts.TrimNewline, &opts.KeepNewline)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the stored secret's metadata as JSON")
	return cmd
}
