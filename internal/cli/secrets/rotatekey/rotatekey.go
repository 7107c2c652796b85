// Package rotatekey implements "palyra secrets rotate-key": replace the
// vault's key-encryption key, optionally with one from another source, and
// rewrap every secret's data key. Changing the passphrase is a rotation.
package rotatekey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// RotateKeyOptions are the dependencies and flags of "palyra secrets
// rotate-key".
type RotateKeyOptions struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)

	// To is the new key's source; "" keeps the current one.
	To string
	// NewPassphraseFile holds the new passphrase when the target is one.
	NewPassphraseFile string
	JSON              bool
}

// NewCmdRotateKey returns the "rotate-key" command. When runF is not nil
// it is called with the parsed options instead of rotateRun.
func NewCmdRotateKey(f *cmdutil.Factory, runF func(*RotateKeyOptions) error) *cobra.Command {
	opts := &RotateKeyOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Replace the vault's key and rewrap every secret under it",
		Long: `Make a new key-encryption key (from the vault's current key source, or the
one --to names) and rewrap every secret's data key under it. The secrets'
ciphertext is not touched. With a passphrase vault this changes the
passphrase.

The rotation survives a crash at any point: every secret stays readable, and
running the command again finishes it (without asking for a new passphrase).

Passphrases never come from the command line: the current one from
--vault-passphrase-file or $PALYRA_VAULT_PASSPHRASE, the new one from
--new-passphrase-file or $PALYRA_VAULT_NEW_PASSPHRASE, else from prompts.`,
		Example: `  # Change the passphrase
  palyra secrets rotate-key

  # Move the key into the OS keyring
  palyra secrets rotate-key --to os`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.To != "" && !slices.Contains(vault.KeySources(), opts.To) {
				return cmdutil.UsageErrorf("--to: must be one of %s", strings.Join(vault.KeySources(), ", "))
			}
			opts.Config, opts.Vault = &f.VaultConfig, f.Vault
			if runF != nil {
				return runF(opts)
			}
			return rotateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "key source of the new key: "+strings.Join(vault.KeySources(), ", ")+" (default: the current one)")
	// The vault passphrase: --vault-passphrase-file of "palyra secrets".
	keyflags.AddOldPassphraseFile(cmd.Flags())
	keyflags.AddNewPassphraseFile(cmd.Flags(), &opts.NewPassphraseFile, "read the new passphrase from this file")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print what was done as JSON")
	_ = cmd.RegisterFlagCompletionFunc("to", cobra.FixedCompletions(vault.KeySources(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func rotateRun(ctx context.Context, opts *RotateKeyOptions) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return cmdutil.WithHints(err, keyflags.Hints(err)...)
	}
	spec := vault.KeySourceSpec{Source: opts.To}
	pendingTo, pending, err := v.PendingRotation()
	if err != nil {
		return err
	}
	target := opts.To
	if target == "" {
		target = v.Info().KeySource
	}
	if !pending && target == vault.KeySourcePassphrase {
		spec.Passphrase = keyflags.NewVaultPassphrase(opts.IO, opts.NewPassphraseFile)
	}
	rep, err := v.RotateKey(ctx, spec)
	if err != nil {
		if errors.Is(err, vault.ErrRotationPending) {
			return cmdutil.WithHints(err, fmt.Sprintf(`run "palyra secrets rotate-key --to %s" (or without --to) to finish the interrupted rotation first`, pendingTo))
		}
		if errors.Is(err, vault.ErrCorrupt) {
			return cmdutil.WithHints(err, `run "palyra secrets verify" to see every damaged secret`)
		}
		return err
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, rep)
	}
	what := "rotated the vault key"
	if rep.Resumed {
		what = "finished the interrupted rotation of the vault key"
	}
	_, err = fmt.Fprintf(opts.IO.Out, "%s: %s key %s -> %s key %s; %d secrets rewrapped, %d already done\n",
		what, rep.From, rep.OldKeyID[:8], rep.To, rep.NewKeyID[:8], rep.Rewrapped, rep.Skipped)
	return err
}
