// Package set implements "palyra secrets set": store a secret whose value
// comes from stdin or a no-echo prompt, never from the command line.
package set

import (
	"context"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// SetOptions are the dependencies and flags of "palyra secrets set".
type SetOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// Ref is the secret to store.
	Ref secret.Ref
	// ValueStdin reads the value from stdin even when stdin is a terminal
	// (the reference CLI's flag); without it a terminal gets the prompt.
	ValueStdin bool
	// TrimNewline removes one trailing "\n" or "\r\n" from a value read
	// from stdin. By default the bytes are stored exactly.
	TrimNewline bool
	// KeepNewline keeps a trailing newline of a piped value without a
	// warning.
	KeepNewline bool
	// JSON prints the stored secret's metadata as JSON.
	JSON bool
}

// NewCmdSet returns the "set" command. When runF is not nil it is called
// with the parsed options instead of setRun, so tests can check parsing.
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
			if err := shared.CheckNewlineFlags(opts.TrimNewline, opts.KeepNewline); err != nil {
				return err
			}
			ref, err := cmdutil.ParseRefArgs(args)
			if err != nil {
				return err
			}
			opts.Ref = ref
			opts.Vault = f.Vault
			if runF != nil {
				return runF(opts)
			}
			return setRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.ValueStdin, "value-stdin", false, "read the value from stdin even when it is a terminal")
	shared.AddNewlineFlags(cmd.Flags(), &opts.TrimNewline, &opts.KeepNewline)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the stored secret's metadata as JSON")
	return cmd
}

func setRun(ctx context.Context, opts *SetOptions) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	maxSize := v.Info().MaxSecretSize
	value, err := shared.ReadValue(shared.ValueInput{
		IO: opts.IO, ForceStdin: opts.ValueStdin, TrimNewline: opts.TrimNewline, KeepNewline: opts.KeepNewline,
		MaxSize: maxSize, Ref: opts.Ref, Usage: "palyra secrets set <scope> <key>",
	})
	if err != nil {
		return err
	}
	defer clear(value)

	md, err := v.Put(ctx, opts.Ref.Scope, opts.Ref.Key, value)
	if err != nil {
		return fmt.Errorf("%w; nothing was stored", err)
	}
	backend := string(v.Info().Backend)
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, setJSON{SecretJSON: shared.FromMetadata(md), Backend: backend})
	}
	_, err = fmt.Fprintf(opts.IO.Out, "stored %s (backend %s, updated %s)\n", md.Ref(), backend, shared.FormatTime(md.Updated))
	return err
}

// setJSON is the JSON form of set's result: the metadata object and the
// backend, which Palyra's "secrets.set" line names.
type setJSON struct {
	shared.SecretJSON
	Backend string `json:"backend"`
}
