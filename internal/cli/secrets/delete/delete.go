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
	// MissingOK makes deleting a secret that is not stored a success.
	MissingOK bool
	// JSON prints the result as JSON.
	JSON bool
}

// NewCmdDelete returns the "delete" command. When runF is not nil it is
// called with the parsed options instead of deleteRun.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:     "delete (<scope> <key> | vault://<scope>/<key>)",
		Aliases: []string{"rm"},
		Short:   "Delete a secret",
		Long: `Delete one secret. Deleting a secret that is not stored fails with exit
status 3 (not found), unless --missing-ok (or --force) is given.`,
		Example: `  palyra secrets delete global openai_api_key
  palyra secrets delete vault://global/openai_api_key

  # Succeed whether or not it exists (for cleanup scripts)
  palyra secrets delete global openai_api_key --missing-ok`,
		Args: cmdutil.RefArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := cmdutil.ParseRefArgs(args)
			if err != nil {
				return err
			}
			opts.Ref = ref
			opts.Vault = f.ExistingVault
			if runF != nil {
				return runF(opts)
			}
			return deleteRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.MissingOK, "missing-ok", false, "succeed when the secret is not stored")
	cmd.Flags().BoolVarP(&opts.MissingOK, "force", "f", false, "same as --missing-ok")
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
	case errors.Is(err, cmdutil.ErrNoVault) && opts.MissingOK:
		// No vault, so nothing stored: report it like a missing secret.
	case err != nil:
		return err
	default:
		if existed, err = v.Delete(ctx, ref.Scope, ref.Key); err != nil {
			return err
		}
	}
	if !existed && !opts.MissingOK {
		return cmdutil.WithHints(fmt.Errorf("%w: %s", vault.ErrNotFound, ref),
			shared.ListHint(ref.Scope),
			"add --missing-ok to succeed when the secret is not stored")
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, deleteJSON{Ref: ref.String(), Scope: ref.Scope, Key: ref.Key, Deleted: existed}, opts.IO.IsStdoutTTY())
	}
	msg := "deleted %s\n"
	if !existed {
		msg = "%s was not stored; nothing deleted\n"
	}
	_, err = fmt.Fprintf(opts.IO.Out, msg, ref)
	return err
}
