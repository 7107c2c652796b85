// Package list implements "palyra secrets list": the metadata of every
// secret in a scope, or in every scope, without decrypting any value.
package list

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/spf13/cobra"
)

// ListOptions are the dependencies and flags of "palyra secrets list".
type ListOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// Rust opens the Rust Palyra vault to list instead, or returns nil
	// (cmdutil.Factory.RustVault); nil means none.
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
	Entries   []shared.SecretJSON `json:"entries"`
	Recursive bool                `json:"recursive"`
}

// NewCmdList returns the "list" command. When runF is not nil it is called
// with the parsed options instead of listRun, so tests can check parsing.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "list [<scope>]",
		Short: "List secrets with their sizes and times, never their values",
		Long: `List the secrets in one scope, or in every scope when none is given,
sorted by scope then key. A scope lists only its own secrets: with
--recursive (-r) it lists the scope and every scope below it ("plugins"
takes in "plugins/github", not "pluginsx"). Only the objects' headers are read: no value is
decrypted.

On a terminal the output is a table with a header; when stdout is piped,
each secret is one line of tab-separated fields (scope, key, size in bytes,
created, updated) with no header. --json prints one object, as Palyra
does: {"scope", "count", "backend", "entries": [...]}, each entry with
Palyra's key, created_at_unix_ms and updated_at_unix_ms beside our ref,
scope, size, created and updated; "scope" is "" when every scope is
listed. --json-array prints the bare array of entries instead (what
--json printed before).

An object whose header is damaged is reported on stderr after the others
are printed, and the command exits with status 1.`,
		Example: `  # Everything in the global scope
  palyra secrets list global

  # plugins, plugins/github, plugins/slack, ...
  palyra secrets list plugins --recursive

  # Machine-readable, as Palyra prints it
  palyra secrets list global --json

  # Keys only
  palyra secrets list plugins/github | cut -f2`,
		Args: cmdutil.MaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				scope, err := secret.ParseScope(args[0])
				if err != nil {
					return cmdutil.ArgError(1, "the scope", err)
				}
				opts.Scope = scope
			}
			opts.Vault, opts.Rust = f.ExistingVault, f.RustVault
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Recursive, "recursive", "r", false, "also list the scopes below the scope")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print {"scope", "count", "backend", "entries"} as JSON`)
	cmd.Flags().BoolVar(&opts.JSONArray, "json-array", false, "print a JSON array of metadata objects")
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	if opts.Rust != nil {
		rv, err := opts.Rust(ctx, false)
		if err != nil {
			return err
		}
		if rv != nil {
			var items []vault.Metadata
			for _, e := range rv.Entries() {
				m := cmdutil.RustMetadata(e)
				if opts.Scope == "" || m.Scope == opts.Scope || opts.Recursive && within(m.Scope, opts.Scope) {
					items = append(items, m)
				}
			}
			return print(opts, string(rv.Kind()), items)
		}
	}
	v, err := opts.Vault(ctx)
	if errors.Is(err, cmdutil.ErrNoVault) {
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
		return cmdutil.WithHints(fmt.Errorf("some stored objects could not be read:\n%w", listErr),
			fmt.Sprintf("an object that a newer palyra wrote (a name outside this version's grammar) needs that version: upgrade, and keep the object; a damaged one cannot be listed or read: restore it from a backup, or remove it from %s", filepath.Join(v.Info().Root, "objects")))
	}
	return listErr
}

func print(opts *ListOptions, backend string, items []vault.Metadata) error {
	ios := opts.IO
	if opts.JSON || opts.JSONArray {
		out := make([]shared.SecretJSON, 0, len(items))
		for _, m := range items {
			out = append(out, shared.FromMetadata(m))
		}
		if opts.JSONArray {
			return cmdutil.PrintJSON(ios, out)
		}
		return cmdutil.PrintJSON(ios, listJSON{Scope: opts.Scope, Count: len(out), Backend: backend, Entries: out, Recursive: opts.Recursive})
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
			if _, err := fmt.Fprintf(ios.Out, "%s\t%s\t%d\t%s\t%s\n", m.Scope, m.Key, m.Size, shared.FormatTime(m.Created), shared.FormatTime(m.Updated)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tKEY\tSIZE\tCREATED\tUPDATED")
	for _, m := range items {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", m.Scope, m.Key, m.Size, shared.FormatTime(m.Created), shared.FormatTime(m.Updated))
	}
	return tw.Flush()
}

// within reports whether scope is parent or a scope below it: segments
// are whole, so "plugins" takes in "plugins/github" and not "pluginsx".
// Every scope is within "".
func within(scope, parent string) bool {
	return parent == "" || scope == parent || strings.HasPrefix(scope, parent+"/")
}
