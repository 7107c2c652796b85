// Package set implements "palyra secrets set": store a secret whose value
// comes from stdin or a no-echo prompt, never from the command line.
package set

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// SetOptions are the dependencies and flags of "palyra secrets set".
type SetOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// Ref is the secret to store.
	Ref vault.Ref
	// ValueStdin reads the value from stdin even when stdin is a terminal
	// (the reference CLI's flag); without it a terminal gets the prompt.
	ValueStdin bool
	// TrimNewline removes one trailing "\n" or "\r\n" from a value read
	// from stdin. By default the bytes are stored exactly.
	TrimNewline bool
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
kept unless --trim-newline is given, so prefer printf to echo. When stdin is
a terminal, the value is asked for twice without echo. An empty value is
refused, and so is one larger than the vault's limit (64 KiB by default);
in both cases nothing is stored.

Prints the stored secret's ref, size and update time, never its value.`,
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
	cmd.Flags().BoolVar(&opts.TrimNewline, "trim-newline", false, `remove one trailing newline ("\n" or "\r\n") from the value read on stdin`)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the stored secret's metadata as JSON")
	return cmd
}

func setRun(ctx context.Context, opts *SetOptions) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	maxSize := v.Info().MaxSecretSize
	value, err := readValue(opts, maxSize)
	if err != nil {
		return err
	}
	defer clear(value)

	md, err := v.Put(ctx, opts.Ref.Scope, opts.Ref.Key, value)
	if err != nil {
		return fmt.Errorf("%w; nothing was stored", err)
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, shared.FromMetadata(md), opts.IO.IsStdoutTTY())
	}
	_, err = fmt.Fprintf(opts.IO.Out, "stored %s (%d bytes, updated %s)\n", md.Ref(), md.Size, shared.FormatTime(md.Updated))
	return err
}

// readValue returns the value to store, from stdin or the prompt. The
// caller owns and wipes the result.
func readValue(opts *SetOptions, maxSize int) ([]byte, error) {
	if opts.ValueStdin || !opts.IO.IsStdinTTY() {
		return readStdin(opts.IO.In, maxSize, opts.TrimNewline)
	}
	return promptTwice(opts.IO, opts.Ref)
}

// readStdin reads all of in, but never more than maxSize plus a few bytes,
// into one buffer it allocates up front (so no copy of the value is left
// behind by a growing buffer). It fails when the value is empty or larger
// than maxSize.
func readStdin(in io.Reader, maxSize int, trimNewline bool) ([]byte, error) {
	buf := make([]byte, maxSize+3) // "+3": one byte over the limit after trimming "\r\n"
	n, err := io.ReadFull(in, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		clear(buf)
		return nil, fmt.Errorf("reading the value from stdin: %w", err)
	}
	value := buf[:n]
	if trimNewline {
		if bytes.HasSuffix(value, []byte("\r\n")) {
			value = value[:len(value)-2]
		} else if bytes.HasSuffix(value, []byte("\n")) {
			value = value[:len(value)-1]
		}
	}
	switch {
	case len(value) > maxSize:
		clear(buf)
		return nil, cmdutil.WithHints(
			fmt.Errorf("%w: the value on stdin is more than %d bytes; nothing was stored", vault.ErrTooLarge, maxSize),
			sizeHint(maxSize))
	case len(value) == 0:
		clear(buf)
		msg := "empty value on stdin; nothing was stored"
		if n > 0 {
			msg = "empty value on stdin after --trim-newline; nothing was stored"
		}
		return nil, cmdutil.WithHints(errors.New(msg),
			`pipe the value in, for example: printf '%s' "$VALUE" | palyra secrets set <scope> <key>`)
	}
	return value, nil
}

// promptTwice asks for the value twice on the terminal, without echo, and
// returns it when both entries match.
func promptTwice(ios *iostreams.IOStreams, ref vault.Ref) ([]byte, error) {
	first, err := ios.ReadSecret(fmt.Sprintf("Value for %s: ", ref))
	if err != nil {
		return nil, promptError(err)
	}
	if len(first) == 0 {
		return nil, errors.New("empty value; nothing was stored")
	}
	second, err := ios.ReadSecret("Enter it again to confirm: ")
	defer clear(second)
	if err != nil {
		clear(first)
		return nil, promptError(err)
	}
	if subtle.ConstantTimeCompare(first, second) != 1 {
		clear(first)
		return nil, cmdutil.WithHints(errors.New("the two entries differ; nothing was stored"),
			"run the command again and type the same value twice")
	}
	return first, nil
}

func promptError(err error) error {
	if errors.Is(err, iostreams.ErrInterrupted) {
		return fmt.Errorf("%w; nothing was stored", err)
	}
	return fmt.Errorf("reading the value: %w; nothing was stored", err)
}

func sizeHint(maxSize int) string {
	return fmt.Sprintf("the vault stores values of at most %d bytes; keep large files elsewhere and store only their key", maxSize)
}
