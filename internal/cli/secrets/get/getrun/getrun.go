// Package getrun is what "palyra secrets get" does: show a secret's
// metadata, or with --reveal its value. The cobra command (package get)
// and the lean front of palyra (package lean) both parse into Options and
// call Complete, Bind and Run, so the two cannot drift. It links no
// command-line library.
package getrun

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/cli/refargs"
	"github.com/palyra/palyra-vault/internal/cli/secrets/lookup"
	"github.com/palyra/palyra-vault/internal/cli/secrets/present"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
)

// Options are the dependencies and flags of "palyra secrets get".
type Options struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// Rust opens the Rust Palyra vault to read instead, or returns nil
	// (factory.Factory.RustVault); nil means none.
	Rust func(context.Context, bool) (*palyrars.Vault, error)

	// Ref is the secret to read.
	Ref secret.Ref
	// Reveal prints the value itself instead of "[REDACTED]".
	Reveal bool
	// JSON prints the metadata (and with Reveal the value) as JSON.
	JSON bool
	// Daemon is "auto", "never" or "require": whether the value is asked
	// of a running palyra daemon (see lookup.DaemonModes).
	Daemon string
	// Lookup reads the secret, from the daemon or the vault as Daemon says.
	Lookup *lookup.Vault
}

// Complete reads the secret from the positional arguments args and checks
// the flags: what the command does with its command line, whichever parser
// read it (the cobra command or the lean front). Its errors are usage
// errors and it touches nothing.
func (o *Options) Complete(args []string) error {
	ref, err := refargs.Parse(args)
	if err != nil {
		return err
	}
	if err := lookup.CheckMode(o.Daemon); err != nil {
		return err
	}
	o.Ref = ref
	return nil
}

// Bind gives o its dependencies from f, after the vault flags took effect
// (vaultflags.Prepare): the vault, which get never creates, and the daemon
// lookup.
func (o *Options) Bind(f *factory.Factory) {
	o.IO = f.IOStreams
	o.Vault, o.Rust = f.ExistingVault, f.RustVault
	o.Lookup = lookup.New(f, o.Daemon, func(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
		return readVault(ctx, o)
	})
}

// getJSON is the JSON form of get's result.
type getJSON struct {
	present.SecretJSON
	Redacted bool `json:"redacted"`
	// Value and Encoding are set only with --reveal.
	Value    *string `json:"value,omitempty"`
	Encoding string  `json:"encoding,omitempty"`
}

// Run runs the command with o, whose Complete and Bind have been called.
func Run(ctx context.Context, opts *Options) error {
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
		res := getJSON{SecretJSON: present.FromMetadata(md), Redacted: !opts.Reveal}
		if opts.Reveal {
			// The JSON encoder copies the value into strings that cannot be
			// wiped: that is the price of asking for it as JSON.
			s, enc := encodeValue(value.Reveal())
			res.Value, res.Encoding = &s, enc
		}
		return jsonout.Print(opts.IO, res)
	case opts.Reveal:
		if _, err := out.Write(value.Reveal()); err != nil {
			return fmt.Errorf("writing the value: %w", err)
		}
		return nil
	default:
		// Not the size: text shows no more than Palyra's "secrets.get"
		// line, and a value's length says something about it.
		_, err := fmt.Fprintf(out, "ref:      %s\nscope:    %s\nkey:      %s\nvalue:    %s\ncreated:  %s\nupdated:  %s\n",
			md.Ref(), md.Scope, md.Key, secret.Redacted, present.FormatTime(md.Created), present.FormatTime(md.Updated))
		return err
	}
}

// fetch reads the secret from the daemon or the vault, as opts.Daemon says.
func fetch(ctx context.Context, opts *Options) (secret.SensitiveBytes, vault.Metadata, error) {
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
func readVault(ctx context.Context, opts *Options) (secret.SensitiveBytes, vault.Metadata, error) {
	v, err := opts.Vault(ctx)
	if err != nil {
		return secret.SensitiveBytes{}, vault.Metadata{}, err
	}
	value, md, err := v.Get(ctx, opts.Ref.Scope, opts.Ref.Key)
	if errors.Is(err, vault.ErrNotFound) {
		// The library's message names the object file; the user needs the ref.
		return value, md, clierr.WithHints(fmt.Errorf("%w: %s", vault.ErrNotFound, opts.Ref), present.ListHint(opts.Ref.Scope))
	}
	return value, md, err
}

// readRust reads the secret from a Rust Palyra vault, in place.
func readRust(ctx context.Context, rv *palyrars.Vault, ref secret.Ref) (secret.SensitiveBytes, vault.Metadata, error) {
	value, md, err := factory.RustGet(ctx, rv, ref.Scope, ref.Key)
	if errors.Is(err, vault.ErrNotFound) {
		return value, md, clierr.WithHints(err, present.ListHint(ref.Scope))
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
