// Package list builds the cobra command "palyra secrets list": the
// metadata of every secret in a scope, or in every scope, without
// decrypting any value. What it does is package listrun's, which the lean
// front of palyra runs too.
package list

import (
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/list/listrun"
	"github.com/spf13/cobra"
)

// ListOptions are the dependencies and flags of "palyra secrets list"
// (listrun.Options).
type ListOptions = listrun.Options

// NewCmdList returns the "list" command. When runF is not nil it is called
// with the parsed options instead of listrun.Run, so tests can check parsing.
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
			if err := opts.Complete(args); err != nil {
				return err
			}
			opts.Bind(f)
			if runF != nil {
				return runF(opts)
			}
			return listrun.Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Recursive, "recursive", "r", false, "also list the scopes below the scope")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print {"scope", "count", "backend", "entries"} as JSON`)
	cmd.Flags().BoolVar(&opts.JSONArray, "json-array", false, "print a JSON array of metadata objects")
	return cmd
}
