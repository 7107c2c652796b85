// Package listrun is what "palyra secrets list" does: the metadata of
// every secret in a scope, or in every scope, without decrypting any
// value. The cobra command (package list) and the lean front of palyra
// (package lean) both parse into Options and call Complete, Bind and Run,
// so the two cannot drift. It links no command-line library.
package listrun

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/cli/refargs"
	"github.com/palyra/palyra-vault/internal/cli/secrets/present"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
)

// Options are the dependencies and flags of "palyra secrets list".
type Options struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// Rust opens the Rust Palyra vault to list instead, or returns nil
	// (factory.Factory.RustVault); nil means none.
	Rust func(context.Context, bool) (*palyrars.Vault, error)

	// Scope limits the listing to one scope; "" lists every scope.
	Scope string
	// Recursive lists Scope and every scope below it ("plugins" and
	// "plugins/github", not "pluginsx").
	Recursive bool
	// JSON prints Palyra's list object: the scope, the count, the backend
	// and the entries.
	JSON bool
	// JSONArray prints the JSON array of metadata objects that --json
	// printed before Palyra's object replaced it.
	JSONArray bool
}

// listJSON is the JSON form of a listing, Palyra's object (its
// "palyra secrets list --json") with our fields beside it.
type listJSON struct {
	// Scope is the scope listed; "" when every scope is.
	Scope string `json:"scope"`
	Count int    `json:"count"`
	// Backend is the vault's backend, "none" when no vault exists yet.
	Backend string `json:"backend"`
	// Entries hold Palyra's key, created_at_unix_ms and
	// updated_at_unix_ms, and our metadata object's fields.
	Entries   []present.SecretJSON `json:"entries"`
	Recursive bool                 `json:"recursive"`
}

// Complete reads the scope from the positional arguments args (none, or
// one) and checks the flags: what the command does with its command line,
// whichever parser read it (the cobra command or the lean front). Its
// errors are usage errors and it touches nothing.
func (o *Options) Complete(args []string) error {
	if err := refargs.MaxCount(1, len(args)); err != nil {
		return err
	}
	if len(args) == 1 {
		scope, err := secret.ParseScope(args[0])
		if err != nil {
			return clierr.ArgError(1, "the scope", err)
		}
		o.Scope = scope
	}
	return nil
}

// Bind gives o its dependencies from f, after the vault flags took effect
// (vaultflags.Prepare): the vault, which list never creates, or the Rust
// Palyra vault to read in place.
func (o *Options) Bind(f *factory.Factory) {
	o.IO = f.IOStreams
	o.Vault, o.Rust = f.ExistingVault, f.RustVault
}

// Run runs the command with o, whose Complete and Bind have been called.
func Run(ctx context.Context, opts *Options) error {
	if opts.Rust != nil {
		rv, err := opts.Rust(ctx, false)
		if err != nil {
			return err
		}
		if rv != nil {
			var items []vault.Metadata
			for _, e := range rv.Entries() {
				m := factory.RustMetadata(e)
				if opts.Scope == "" || m.Scope == opts.Scope || opts.Recursive && within(m.Scope, opts.Scope) {
					items = append(items, m)
				}
			}
			return print(opts, string(rv.Kind()), items)
		}
	}
	v, err := opts.Vault(ctx)
	if errors.Is(err, factory.ErrNoVault) {
		return print(opts, "none", nil) // nothing stored yet, and nothing created
	}
	if err != nil {
		return err
	}
	var items []vault.Metadata
	var listErr error
	if opts.Recursive {
		// List reads every header whatever the scope (and caches them), so
		// listing all and keeping the subtree costs no more.
		all, err := v.List(ctx, "")
		for _, m := range all {
			if within(m.Scope, opts.Scope) {
				items = append(items, m)
			}
		}
		listErr = err
	} else {
		items, listErr = v.List(ctx, opts.Scope)
	}
	if listErr == nil || len(items) > 0 {
		if err := print(opts, string(v.Info().Backend), items); err != nil {
			return err
		}
	}
	if listErr != nil && (errors.Is(listErr, vault.ErrCorrupt) || errors.Is(listErr, vault.ErrWrongKey)) {
		return clierr.WithHints(fmt.Errorf("some stored objects could not be read:\n%w", listErr),
			fmt.Sprintf("an object that a newer palyra wrote (a name outside this version's grammar) needs that version: upgrade, and keep the object; a damaged one cannot be listed or read: restore it from a backup, or remove it from %s", filepath.Join(v.Info().Root, "objects")))
	}
	return listErr
}

func print(opts *Options, backend string, items []vault.Metadata) error {
	ios := opts.IO
	if opts.JSON || opts.JSONArray {
		out := make([]present.SecretJSON, 0, len(items))
		for _, m := range items {
			out = append(out, present.FromMetadata(m))
		}
		if opts.JSONArray {
			return jsonout.Print(ios, out)
		}
		return jsonout.Print(ios, listJSON{Scope: opts.Scope, Count: len(out), Backend: backend, Entries: out, Recursive: opts.Recursive})
	}
	if len(items) == 0 {
		if ios.IsStdoutTTY() {
			where := "in any scope"
			if opts.Scope != "" {
				where = fmt.Sprintf("in scope %q", opts.Scope)
				if opts.Recursive {
					where += " or below it"
				}
			}
			fmt.Fprintf(ios.ErrOut, "palyra: no secrets stored %s\n", where)
		}
		return nil
	}
	if !ios.IsStdoutTTY() {
		for _, m := range items {
			if _, err := fmt.Fprintf(ios.Out, "%s\t%s\t%d\t%s\t%s\n", m.Scope, m.Key, m.Size, present.FormatTime(m.Created), present.FormatTime(m.Updated)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tKEY\tSIZE\tCREATED\tUPDATED")
	for _, m := range items {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", m.Scope, m.Key, m.Size, present.FormatTime(m.Created), present.FormatTime(m.Updated))
	}
	return tw.Flush()
}

// within reports whether scope is parent or a scope below it: segments
// are whole, so "plugins" takes in "plugins/github" and not "pluginsx".
// Every scope is within "".
func within(scope, parent string) bool {
	return parent == "" || scope == parent || strings.HasPrefix(scope, parent+"/")
}
