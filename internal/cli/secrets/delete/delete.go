// Package delete builds the cobra command "palyra secrets delete": remove
// one secret. What it does is package deleterun's, which the lean front of
// palyra runs too.
package delete

import (
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/delete/deleterun"
	"github.com/spf13/cobra"
)

// DeleteOptions are the dependencies and flags of "palyra secrets delete"
// (deleterun.Options).
type DeleteOptions = deleterun.Options

// NewCmdDelete returns the "delete" command. When runF is not nil it is
// called with the parsed options instead of deleterun.Run.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams}
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
			if err := opts.Complete(args); err != nil {
				return err
			}
			opts.Bind(f)
			if runF != nil {
				return runF(opts)
			}
			return deleterun.Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail with exit status 3 when the secret is not stored")
	cmd.Flags().BoolVar(&opts.MissingOK, "missing-ok", false, "succeed when the secret is not stored (the default)")
	cmd.Flags().BoolVarP(&opts.MissingOK, "force", "f", false, "same as --missing-ok")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print {"ref", "scope", "key", "deleted"} as JSON`)
	return cmd
}
