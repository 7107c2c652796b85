// Package setrun is what "palyra secrets set" does: store a secret whose
// value comes from stdin or a no-echo prompt, never from the command line.
// The cobra command (package set) and the lean front of palyra (package
// lean) both parse into Options and call Complete, Bind and Run, so the two
// cannot drift. It links no command-line library.
package setrun

import (
	"context"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/cli/refargs"
	"github.com/palyra/palyra-vault/internal/cli/secrets/present"
	"github.com/palyra/palyra-vault/internal/cli/secrets/valuein"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// Options are the dependencies and flags of "palyra secrets set".
type Options struct {
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

// Complete reads the secret from the positional arguments args and checks
// the flags: what the command does with its command line, whichever parser
// read it (the cobra command or the lean front). Its errors are usage
// errors and it touches nothing.
func (o *Options) Complete(args []string) error {
	if err := valuein.CheckNewlineFlags(o.TrimNewline, o.KeepNewline); err != nil {
		return err
	}
	ref, err := refargs.Parse(args)
	if err != nil {
		return err
	}
	o.Ref = ref
	return nil
}

// Bind gives o its dependencies from f, after the vault flags took effect
// (vaultflags.Prepare): the vault, which set creates when there is none.
func (o *Options) Bind(f *factory.Factory) {
	o.IO = f.IOStreams
	o.Vault = f.Vault
}

// Run runs the command with o, whose Complete and Bind have been called.
func Run(ctx context.Context, opts *Options) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	maxSize := v.Info().MaxSecretSize
	value, err := valuein.Read(valuein.Input{
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
		return jsonout.Print(opts.IO, setJSON{SecretJSON: present.FromMetadata(md), Backend: backend})
	}
	_, err = fmt.Fprintf(opts.IO.Out, "stored %s (backend %s, updated %s)\n", md.Ref(), backend, present.FormatTime(md.Updated))
	return err
}

// setJSON is the JSON form of set's result: the metadata object and the
// backend, which Palyra's "secrets.set" line names.
type setJSON struct {
	present.SecretJSON
	Backend string `json:"backend"`
}
