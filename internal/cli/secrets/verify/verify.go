// Package verify implements "palyra secrets verify": open and authenticate
// every secret and check the vault's files, reporting each problem.
package verify

import (
	"context"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// VerifyOptions are the dependencies and flags of "palyra secrets verify".
type VerifyOptions struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)

	JSON bool
}

// NewCmdVerify returns the "verify" command. When runF is not nil it is
// called with the parsed options instead of verifyRun.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every secret and the vault's files, report each problem",
		Long: `Open and authenticate every stored secret (no value is printed) and check
the vault's files: a damaged or unreadable secret is reported by scope and
key, or by object id when its header is damaged; also stray temporary
files, unsafe permissions, a backend.kind marker that disagrees with the
backend, an unfinished migration or key rotation, an unreachable backend or
key store.

stdout gets the report (--json: one object with a "problems" array); the
exit status is 0 when nothing is wrong and 1 otherwise. verify changes
nothing.`,
		Example: `  palyra secrets verify
  palyra secrets verify --json | jq '.problems[]'`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Vault = &f.VaultConfig, f.Vault
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(cmd.Context(), opts)
		},
	}
	// The vault passphrase: --vault-passphrase-file of "palyra secrets".
	keyflags.AddOldPassphraseFile(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

func verifyRun(ctx context.Context, opts *VerifyOptions) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return cmdutil.WithHints(err, keyflags.Hints(err)...)
	}
	rep, err := v.Verify(ctx)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	if opts.JSON {
		if err := cmdutil.PrintJSON(opts.IO, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "vault %s (backend %s, key source %s): %d secrets, %d healthy\n", rep.Root, rep.Backend, rep.KeySource, rep.Objects, rep.Healthy)
		for _, p := range rep.Problems {
			fmt.Fprintf(out, "%s: %s: %s\n", p.Kind, subject(p), p.Detail)
			if p.Hint != "" {
				fmt.Fprintf(out, "  fix: %s\n", p.Hint)
			}
		}
	}
	if !rep.OK() {
		return fmt.Errorf("verify found %d problems", len(rep.Problems))
	}
	return nil
}

// subject names what a problem is about.
func subject(p vault.VerifyProblem) string {
	switch {
	case p.Scope != "":
		return secret.Ref{Scope: p.Scope, Key: p.Key}.String()
	case p.ObjectID != "":
		return "object " + string(p.ObjectID)
	case p.Path != "":
		return p.Path
	}
	return "vault"
}
