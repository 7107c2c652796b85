// Package get implements "palyra secrets get": show a secret's metadata,
// or with --reveal its value.
package get

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/spf13/cobra"
)

// GetOptions are the dependencies and flags of "palyra secrets get".
type GetOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// Rust opens the Rust Palyra vault to read instead, or returns nil
	// (cmdutil.Factory.RustVault); nil means none.
	Rust func(context.Context, bool) (*palyrars.Vault, error)

	// Ref is the secret to read.
	Ref secret.Ref
	// Reveal prints the value itself instead of "[REDACTED]".
	Reveal bool
	// JSON prints the metadata (and with Reveal the value) as JSON.
	JSON bool
	// Daemon is "auto", "never" or "require": whether the value is asked
	// of a running palyra daemon (see shared.DaemonModes).
	Daemon string
	// Lookup reads the secret, from the daemon or the vault as Daemon says.
	Lookup *shared.VaultLookup
}

// NewCmdGet returns the "get" command. When runF is not nil it is called
// with the parsed options instead of getRun, so tests can check parsing.
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
			ref, err := cmdutil.ParseRefArgs(args)
			if err != nil {
				return err
			}
			if err := shared.CheckDaemonMode(opts.Daemon); err != nil {
				return err
			}
			opts.Ref = ref
			opts.Vault, opts.Rust = f.ExistingVault, f.RustVault
			opts.Lookup = shared.NewVaultLookup(f, opts.Daemon, func(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
				return readVault(ctx, opts)
			})
			if runF != nil {
				return runF(opts)
			}
			return getRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Reveal, "reveal", false, "print the secret's value (raw bytes, no newline added)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the metadata as JSON (with --reveal, the value too)")
	shared.DaemonFlag(cmd, &opts.Daemon)
	return cmd
}

// getJSON is the JSON form of get's result.
type getJSON struct {
	shared.SecretJSON
	Redacted bool `json:"redacted"`
	// Value and Encoding are set only with --reveal.
	Value    *string `json:"value,omitempty"`
	Encoding string  `json:"encoding,omitempty"`
}

func getRun(ctx context.Context, opts *GetOptions) error {
	value, md, err := fetch(ctx, opts)
	if err != nil {
		return err
	}
	defer value.Wipe()

	if opts.Reveal && opts.IO.IsStdoutTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "palyra: warning: printing the value of %s to the terminal; it may stay in the scrollback\n", md.Ref())
	}
	out := opts.IO.Out
	switch {
	case opts.JSON:
		res := getJSON{SecretJSON: shared.FromMetadata(md), Redacted: !opts.Reveal}
		if opts.Reveal {
			// The JSON encoder copies the value into strings that cannot be
			// wiped: that is the price of asking for it as JSON.
			s, enc := encodeValue(value.Reveal())
			res.Value, res.Encoding = &s, enc
		}
		return cmdutil.PrintJSON(opts.IO, res)
	case opts.Reveal:
		if _, err := out.Write(value.Reveal()); err != nil {
			return fmt.Errorf("writing the value: %w", err)
		}
		return nil
	default:
		// Not the size: text shows no more than Palyra's "secrets.get"
		// line, and a value's length says something about it.
		_, err := fmt.Fprintf(out, "ref:      %s\nscope:    %s\nkey:      %s\nvalue:    %s\ncreated:  %s\nupdated:  %s\n",
			md.Ref(), md.Scope, md.Key, secret.Redacted, shared.FormatTime(md.Created), shared.FormatTime(md.Updated))
		return err
	}
}

// fetch reads the secret from the daemon or the vault, as opts.Daemon says.
func fetch(ctx context.Context, opts *GetOptions) (secret.SensitiveBytes, vault.Metadata, error) {
	if opts.Rust != nil {
		rv, err := opts.Rust(ctx, true)
		if err != nil {
			return secret.SensitiveBytes{}, vault.Metadata{}, err
		}
		if rv != nil {
			return readRust(ctx, rv, opts.Ref)
		}
	}
	if opts.Lookup == nil {
		return readVault(ctx, opts)
	}
	return opts.Lookup.Get(ctx, opts.Ref.Scope, opts.Ref.Key)
}

// readVault reads the secret from the vault itself.
func readVault(ctx context.Context, opts *GetOptions) (secret.SensitiveBytes, vault.Metadata, error) {
	v, err := opts.Vault(ctx)
	if err != nil {
		return secret.SensitiveBytes{}, vault.Metadata{}, err
	}
	value, md, err := v.Get(ctx, opts.Ref.Scope, opts.Ref.Key)
	if errors.Is(err, vault.ErrNotFound) {
		// The library's message names the object file; the user needs the ref.
		return value, md, cmdutil.WithHints(fmt.Errorf("%w: %s", vault.ErrNotFound, opts.Ref), shared.ListHint(opts.Ref.Scope))
	}
	return value, md, err
}

// readRust reads the secret from a Rust Palyra vault, in place.
func readRust(ctx context.Context, rv *palyrars.Vault, ref secret.Ref) (secret.SensitiveBytes, vault.Metadata, error) {
	value, md, err := cmdutil.RustGet(ctx, rv, ref.Scope, ref.Key)
	if errors.Is(err, vault.ErrNotFound) {
		return value, md, cmdutil.WithHints(err, shared.ListHint(ref.Scope))
	}
	return value, md, err
}

// encodeValue returns b as a JSON-safe string and its encoding name.
func encodeValue(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), "utf-8"
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}
