// Package verify implements "palyra secrets verify": open and authenticate
// every secret and check the vault's files, reporting each problem.
package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/spf13/cobra"
)

// VerifyOptions are the dependencies and flags of "palyra secrets verify".
type VerifyOptions struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)
	// Rust opens the Rust Palyra vault to verify instead, or returns nil
	// (cmdutil.Factory.RustVault); nil means none.
	Rust func(context.Context, bool) (*palyrars.Vault, error)

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
			opts.Config, opts.Vault, opts.Rust = &f.VaultConfig, f.ExistingVault, f.RustVault
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
	var (
		rep vault.VerifyReport
		rv  *palyrars.Vault
		err error
	)
	if opts.Rust != nil {
		if rv, err = opts.Rust(ctx, true); err != nil {
			return err
		}
	}
	if rv != nil {
		if rep, err = verifyRust(ctx, rv); err != nil {
			return err
		}
	} else {
		v, err := opts.Vault(ctx)
		if err != nil {
			return cmdutil.WithHints(err, keyflags.Hints(err)...)
		}
		if rep, err = v.Verify(ctx); err != nil {
			return err
		}
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

// verifyRust opens every secret of a Rust Palyra vault, in place, and
// reports as Verify does: damaged envelopes, envelopes the key does not
// open, missing objects, and files whose modes are looser than owner-only
// (reported, never fixed). The key source is the identity store.
func verifyRust(ctx context.Context, rv *palyrars.Vault) (vault.VerifyReport, error) {
	rep := vault.VerifyReport{Root: rv.Root(), Backend: rv.Kind(), KeySource: "palyra-identity:" + rv.IdentityStore(), Problems: []vault.VerifyProblem{}}
	recs, err := rv.ReadAll(ctx)
	if err != nil {
		return rep, err
	}
	defer palyrars.WipeRecords(recs)
	rep.Objects = len(recs)
	for _, r := range recs {
		if r.Err == nil {
			rep.Healthy++
			continue
		}
		kind := vault.ProblemUnreadable
		switch {
		case errors.Is(r.Err, palyrars.ErrDamaged):
			kind = vault.ProblemCorrupt
		case errors.Is(r.Err, palyrars.ErrWrongKey):
			kind = vault.ProblemWrongKey
		}
		m := cmdutil.RustMetadata(r.Entry)
		rep.Problems = append(rep.Problems, vault.VerifyProblem{Kind: kind, Scope: m.Scope, Key: m.Key, ObjectID: backend.ObjectID(r.Entry.ObjectID), Detail: r.Err.Error()})
	}
	for _, w := range rv.Warnings() {
		rep.Problems = append(rep.Problems, vault.VerifyProblem{Kind: vault.ProblemPermission, Path: rv.Root(), Detail: w})
	}
	return rep, nil
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
