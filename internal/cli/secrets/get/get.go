// Package get implements "palyra secrets get": show a secret's metadata,
// or with --reveal its value.
package get

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// GetOptions are the dependencies and flags of "palyra secrets get".
type GetOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// Ref is the secret to read.
	Ref vault.Ref
	// Reveal prints the value itself instead of "[REDACTED]".
	Reveal bool
	// JSON prints the metadata (and with Reveal the value) as JSON.
	JSON bool
	// Daemon is "auto", "never" or "require": whether the value is asked
	// of a running palyra daemon (see daemonModes).
	Daemon string
	// DaemonSocket returns the daemon's socket path.
	DaemonSocket func() (string, error)
	// VaultDirSet is true when --vault-dir or $PALYRA_VAULT_DIR names a
	// vault; auto then reads it directly, since the daemon may serve
	// another.
	VaultDirSet bool
}

// daemonModes are the values of --daemon: auto asks a running daemon and
// reads the vault unless the daemon gave the value or said it does not
// exist; never reads the vault; require asks the daemon only.
var daemonModes = []string{"auto", "never", "require"}

// NewCmdGet returns the "get" command. When runF is not nil it is called
// with the parsed options instead of getRun, so tests can check parsing.
func NewCmdGet(f *cmdutil.Factory, runF func(*GetOptions) error) *cobra.Command {
	opts := &GetOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "get (<scope> <key> | vault://<scope>/<key>)",
		Short: "Show a secret's metadata, or its value with --reveal",
		Long: `Show a secret's ref, size and creation and update times. The value is
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
			if !slices.Contains(daemonModes, opts.Daemon) {
				return cmdutil.UsageErrorf("--daemon %q: must be one of %s", opts.Daemon, strings.Join(daemonModes, ", "))
			}
			opts.Ref = ref
			opts.Vault = f.ExistingVault
			opts.DaemonSocket = func() (string, error) { return api.SocketPath("", f.VaultConfig.StateRoot) }
			opts.VaultDirSet = f.VaultConfig.Root != "" || os.Getenv(vault.EnvVaultDir) != ""
			if runF != nil {
				return runF(opts)
			}
			return getRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Reveal, "reveal", false, "print the secret's value (raw bytes, no newline added)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the metadata as JSON (with --reveal, the value too)")
	cmd.Flags().StringVar(&opts.Daemon, "daemon", "auto", "ask a running palyra daemon: auto, never or require")
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
		return cmdutil.WriteJSON(out, res, opts.IO.IsStdoutTTY())
	case opts.Reveal:
		if _, err := out.Write(value.Reveal()); err != nil {
			return fmt.Errorf("writing the value: %w", err)
		}
		return nil
	default:
		_, err := fmt.Fprintf(out, "ref:      %s\nscope:    %s\nkey:      %s\nvalue:    %s\nsize:     %d bytes\ncreated:  %s\nupdated:  %s\n",
			md.Ref(), md.Scope, md.Key, vault.Redacted, md.Size, shared.FormatTime(md.Created), shared.FormatTime(md.Updated))
		return err
	}
}

// fetch reads the secret from the daemon or the vault, as opts.Daemon says.
func fetch(ctx context.Context, opts *GetOptions) (vault.SensitiveBytes, vault.Metadata, error) {
	if opts.Daemon == "require" || opts.Daemon == "auto" && !opts.VaultDirSet {
		value, md, err := fromDaemon(ctx, opts)
		// A missing secret is final: the daemon read the vault, and reading
		// it again would say the same.
		if err == nil || opts.Daemon == "require" || errors.Is(err, vault.ErrNotFound) {
			return value, md, err
		}
		// auto: no daemon, or one that refused or failed; read the vault.
	}
	v, err := opts.Vault(ctx)
	if err != nil {
		return vault.SensitiveBytes{}, vault.Metadata{}, err
	}
	value, md, err := v.Get(ctx, opts.Ref.Scope, opts.Ref.Key)
	if err != nil {
		if errors.Is(err, vault.ErrNotFound) {
			// The library's message names the object file; the user needs the ref.
			return value, md, cmdutil.WithHints(fmt.Errorf("%w: %s", vault.ErrNotFound, opts.Ref), shared.ListHint(opts.Ref.Scope))
		}
		return value, md, err
	}
	return value, md, nil
}

// daemonTimeout bounds the question to the daemon.
const daemonTimeout = 10 * time.Second

// fromDaemon asks the daemon for the secret. A secret it reports missing
// is an error wrapping vault.ErrNotFound; its other refusals are *api.Error.
func fromDaemon(ctx context.Context, opts *GetOptions) (vault.SensitiveBytes, vault.Metadata, error) {
	none := func(err error) (vault.SensitiveBytes, vault.Metadata, error) {
		return vault.SensitiveBytes{}, vault.Metadata{}, err
	}
	socket, err := opts.DaemonSocket()
	if err != nil {
		return none(err)
	}
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	c := api.NewClient(socket)
	defer c.Close()
	resp, err := c.Resolve(ctx, api.ResolveRequest{Ref: opts.Ref.String()})
	var answer *api.Error
	switch {
	case errors.As(err, &answer) && answer.Code == api.CodeMissing:
		return none(cmdutil.WithHints(fmt.Errorf("%w: %s (asked the daemon at %s)", vault.ErrNotFound, opts.Ref, socket), shared.ListHint(opts.Ref.Scope)))
	case errors.As(err, &answer) && answer.Code == api.CodeForbidden:
		return none(cmdutil.WithHints(err, "the daemon's [daemon] readable_scopes and principals decide what it serves; --daemon never reads the vault directly"))
	case errors.Is(err, api.ErrNotRunning):
		return none(cmdutil.WithHints(err, "start it with \"palyra daemon\", or use --daemon auto or never to read the vault directly"))
	case err != nil:
		return none(err)
	}
	m := resp.Vault
	if m == nil || m.Scope != opts.Ref.Scope || m.Key != opts.Ref.Key {
		resp.Value.Wipe()
		return none(fmt.Errorf("the daemon at %s answered for another secret than %s", socket, opts.Ref))
	}
	return resp.Value, vault.Metadata{Scope: m.Scope, Key: m.Key, Created: m.Created, Updated: m.Updated, Size: resp.Value.Len()}, nil
}

// encodeValue returns b as a JSON-safe string and its encoding name.
func encodeValue(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), "utf-8"
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}
