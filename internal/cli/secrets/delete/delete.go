// Package delete implements "palyra secrets delete": remove one secret.
package delete

import (
	"context"
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// DeleteOptions are the dependencies and flags of "palyra secrets delete".
type DeleteOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// Ref is the secret to delete.
	Ref secret.Ref
	// Strict makes deleting a secret that is not stored fail with "not
	// found" (exit 3); by default it succeeds and says so, as Palyra's
	// delete does.
	Strict bool
	// JSON prints the result as JSON.
	JSON bool
}

// NewCmdDelete returns the "delete" command. When runF is not nil it is
// called with the parsed options instead of deleteRun.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams}
	var missingOK bool
	cmd := &cobra.Command{
		Use:     "delete (<scope> <key> | vault://<scope>/<key>)",
		Aliases: []string{"rm"},
		Short:   "Delete a secret",
		Long: `Delete one secret. Deleting a secret that is not stored succeeds and says
so ("deleted": false in --json), as Palyra's delete does; with --strict it
fails with exit status 3 (not found) instead. --missing-ok and --force
(-f) are accepted for scripts written when --strict was the default.`,
		Example: `  palyra secrets delete global openai_api_key
  palyra secrets delete vault://global/openai_api_key

  # Fail (exit 3) when it is not stored
  palyra secrets delete global openai_api_key --strict`,
		Args: cmdutil.RefArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := cmdutil.ParseRefArgs(args)
			if err != nil {
				return err
			}
			if opts.Strict && missingOK {
				return cmdutil.UsageErrorf("--strict and --missing-ok (--force) contradict each other: give one")
			}
			opts.Ref = ref
			opts.Vault = f.ExistingVault
			if runF != nil {
				return runF(opts)
			}
			return deleteRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail with exit status 3 when the secret is not stored")
	cmd.Flags().BoolVar(&missingOK, "missing-ok", false, "succeed when the secret is not stored (the default)")
	cmd.Flags().BoolVarP(&missingOK, "force", "f", false, "same as --missing-ok")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print {"ref", "scope", "key", "deleted"} as JSON`)
	return cmd
}

// deleteJSON is the JSON form of delete's result.
type deleteJSON struct {
	Ref     string `json:"ref"`
	Scope   string `json:"scope"`
	Key     string `json:"key"`
	Deleted bool   `json:"deleted"`
}

func deleteRun(ctx context.Context, opts *DeleteOptions) error {
	ref := opts.Ref
	v, err := opts.Vault(ctx)
	existed := false
	switch {
	case errors.Is(err, cmdutil.ErrNoVault) && !opts.Strict:
		// No vault, so nothing stored: report it like a missing secret.
	case err != nil:
		return err
	default:
		if existed, err = v.Delete(ctx, ref.Scope, ref.Key); err != nil {
			return err
		}
	}
	if !existed && opts.Strict {
		return cmdutil.WithHints(fmt.Errorf("%w: %s", vault.ErrNotFound, ref),
			shared.ListHint(ref.Scope),
			"without --strict, deleting a secret that is not stored succeeds")
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, deleteJSON{Ref: ref.String(), Scope: ref.Scope, Key: ref.Key, Deleted: existed})
	}
	msg := "deleted %s\n"
	if !existed {
		msg = "%s was not stored; nothing deleted\n"
	}
	_, err = fmt.Fprintf(opts.IO.Out, msg, ref)
	return err
}
