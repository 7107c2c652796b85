// Package migrate implements "palyra secrets migrate": move every secret of
// the vault to another backend without ever leaving it half-moved.
package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/spf13/cobra"
)

// targets are the values --to accepts.
var targets = []backend.Kind{backend.KindEncryptedFile, backend.KindSecretService, backend.KindKeychain, backend.KindDPAPI}

// MigrateOptions are the dependencies and flags of "palyra secrets migrate".
type MigrateOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// To is the target backend.
	To backend.Kind
	// JSON prints the migration report as JSON.
	JSON bool
}

// NewCmdMigrate returns the "migrate" command. When runF is not nil it is
// called with the parsed options instead of migrateRun.
func NewCmdMigrate(f *cmdutil.Factory, runF func(*MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "migrate --to <backend>",
		Short: "Move every secret to another backend",
		Long: `Move every secret of the vault to another backend. The secrets move sealed,
as they are: nothing is decrypted.

The migration copies every object to the target and reads each back to
compare it, then switches the vault's backend.kind marker atomically, then
removes the old copies. If it is interrupted at any point (even by kill -9
or a power cut) the vault still opens, on the old backend or on the new
one, with every secret readable. Run the same command again to finish an
interrupted migration.

Every secret must fit the target's size limit (see "palyra secrets backend");
if one does not, nothing is switched.`,
		Example: `  # Move from the encrypted-file store into the Secret Service
  palyra secrets migrate --to linux_secret_service

  # And back
  palyra secrets migrate --to encrypted_file --json`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.To == "" {
				return cmdutil.UsageErrorf("--to is required: one of %s", targetList())
			}
			if !slices.Contains(targets, opts.To) {
				return cmdutil.UsageErrorf("--to: must be one of %s", targetList())
			}
			// migrate acts on the vault as its marker says: --backend
			// (or $PALYRA_VAULT_BACKEND) would ask Open to re-create an
			// empty vault elsewhere, or refuse one that holds secrets.
			f.VaultConfig.Backend = ""
			opts.Vault = f.Vault
			if runF != nil {
				return runF(opts)
			}
			return migrateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar((*string)(&opts.To), "to", "", "target backend: "+targetList())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the migration report as JSON")
	_ = cmd.RegisterFlagCompletionFunc("to", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, k := range targets {
			out = append(out, string(k))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func targetList() string {
	names := make([]string, len(targets))
	for i, k := range targets {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func migrateRun(ctx context.Context, opts *MigrateOptions) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	rep, err := v.Migrate(ctx, opts.To)
	if err != nil {
		if on := v.Info().Backend; on == opts.To && rep.From != opts.To {
			return cmdutil.WithHints(err, fmt.Sprintf("the vault now uses %s with every secret; run the same command again to remove the old copies from %s", on, rep.From))
		}
		return cmdutil.WithHints(err, fmt.Sprintf("the vault still uses %s with every secret; run the command again once the cause is fixed", v.Info().Backend))
	}
	ios := opts.IO
	if opts.JSON {
		return cmdutil.PrintJSON(ios, rep)
	}
	if rep.Resumed {
		fmt.Fprintf(ios.Out, "finished an interrupted migration from %s to %s: removed %d old copies\n", rep.From, rep.To, rep.Removed)
		return nil
	}
	fmt.Fprintf(ios.Out, "migrated %d secrets from %s to %s (each read back and compared); removed %d old copies\n", rep.Copied, rep.From, rep.To, rep.Removed)
	if rep.Stale > 0 {
		fmt.Fprintf(ios.ErrOut, "palyra: removed %d stale objects an earlier, interrupted migration had left in %s\n", rep.Stale, rep.To)
	}
	return nil
}
