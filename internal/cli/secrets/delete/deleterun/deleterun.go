// Package deleterun is what "palyra secrets delete" does: remove one
// secret. The cobra command (package delete) and the lean front of palyra
// (package lean) both parse into Options and call Complete, Bind and Run,
// so the two cannot drift. It links no command-line library.
package deleterun

import (
	"context"
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/cli/refargs"
	"github.com/palyra/palyra-vault/internal/cli/secrets/present"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// Options are the dependencies and flags of "palyra secrets delete".
type Options struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// Ref is the secret to delete.
	Ref secret.Ref
	// Strict makes deleting a secret that is not stored fail with "not
	// found" (exit 3); by default it succeeds and says so, as Palyra's
	// delete does.
	Strict bool
	// MissingOK is --missing-ok (or --force): succeed when the secret is
	// not stored, the default, which Strict contradicts.
	MissingOK bool
	// JSON prints the result as JSON.
	JSON bool
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
	if o.Strict && o.MissingOK {
		return clierr.UsageErrorf("--strict and --missing-ok (--force) contradict each other: give one")
	}
	o.Ref = ref
	return nil
}

// Bind gives o its dependencies from f, after the vault flags took effect
// (vaultflags.Prepare): the vault, which delete never creates.
func (o *Options) Bind(f *factory.Factory) {
	o.IO = f.IOStreams
	o.Vault = f.ExistingVault
}

// deleteJSON is the JSON form of delete's result.
type deleteJSON struct {
	Ref     string `json:"ref"`
	Scope   string `json:"scope"`
	Key     string `json:"key"`
	Deleted bool   `json:"deleted"`
}

// Run runs the command with o, whose Complete and Bind have been called.
func Run(ctx context.Context, opts *Options) error {
	ref := opts.Ref
	v, err := opts.Vault(ctx)
	existed := false
	switch {
	case errors.Is(err, factory.ErrNoVault) && !opts.Strict:
		// No vault, so nothing stored: report it like a missing secret.
	case err != nil:
		return err
	default:
		if existed, err = v.Delete(ctx, ref.Scope, ref.Key); err != nil {
			return err
		}
	}
	if !existed && opts.Strict {
		return clierr.WithHints(fmt.Errorf("%w: %s", vault.ErrNotFound, ref),
			present.ListHint(ref.Scope),
			"without --strict, deleting a secret that is not stored succeeds")
	}
	if opts.JSON {
		return jsonout.Print(opts.IO, deleteJSON{Ref: ref.String(), Scope: ref.Scope, Key: ref.Key, Deleted: existed})
	}
	msg := "deleted %s\n"
	if !existed {
		msg = "%s was not stored; nothing deleted\n"
	}
	_, err = fmt.Fprintf(opts.IO.Out, msg, ref)
	return err
}
