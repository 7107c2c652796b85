// Package importcmd implements "palyra secrets import": restore a backup
// written by "palyra secrets export" into the vault, whatever its backend.
package importcmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"filippo.io/age"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/secrets/export"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backup"
	"github.com/spf13/cobra"
)

// ImportOptions are the dependencies and flags of "palyra secrets import".
type ImportOptions struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)

	File                 string
	OnConflict           string
	IdentityFiles        []string
	BackupPassphraseFile string
	JSON                 bool
}

// NewCmdImport returns the "import" command. When runF is not nil it is
// called with the parsed options instead of importRun.
func NewCmdImport(f *cmdutil.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   delegate.Import.Use,
		Short: delegate.Import.Short,
		Long: `Restore every secret of a backup made by "palyra secrets export", with its
times, into this vault (any backend). The backup is decrypted with the age
identities of --identity, or else with the backup passphrase from
--backup-passphrase-file, $PALYRA_BACKUP_PASSPHRASE or a prompt.

The whole backup is decrypted and checked before anything is written: a
wrong passphrase, a truncated or altered file imports nothing. Secrets that
already exist make the import fail, writing nothing, unless --on-conflict
is skip (keep them) or overwrite (replace them).`,
		Example: `  palyra secrets import secrets.age
  palyra secrets import --identity key.txt --on-conflict skip github.age`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.UsageErrorf("needs exactly one argument, the backup file (got %d)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch opts.OnConflict {
			case vault.OnConflictFail, vault.OnConflictSkip, vault.OnConflictOverwrite:
			default:
				return cmdutil.UsageErrorf("--on-conflict: must be one of fail, skip, overwrite")
			}
			if len(opts.IdentityFiles) > 0 && opts.BackupPassphraseFile != "" {
				return cmdutil.UsageErrorf("--identity and --backup-passphrase-file exclude each other")
			}
			opts.File = args[0]
			opts.Config, opts.Vault = &f.VaultConfig, f.Vault
			if runF != nil {
				return runF(opts)
			}
			return importRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.OnConflict, "on-conflict", vault.OnConflictFail, "what to do with secrets that exist: fail, skip or overwrite")
	fl.StringArrayVar(&opts.IdentityFiles, "identity", nil, "decrypt with the age identities in this file; repeatable")
	fl.StringVar(&opts.BackupPassphraseFile, "backup-passphrase-file", "", "read the backup passphrase from this file")
	// The vault passphrase: --vault-passphrase-file of "palyra secrets".
	keyflags.AddOldPassphraseFile(fl)
	fl.BoolVar(&opts.JSON, "json", false, "print what was imported as JSON")
	_ = cmd.RegisterFlagCompletionFunc("on-conflict", cobra.FixedCompletions([]string{vault.OnConflictFail, vault.OnConflictSkip, vault.OnConflictOverwrite}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func importRun(ctx context.Context, opts *ImportOptions) error {
	iopts := vault.ImportOptions{OnConflict: opts.OnConflict}
	var identities []age.Identity
	for _, path := range opts.IdentityFiles {
		ids, err := readIdentities(path)
		if err != nil {
			return err
		}
		identities = append(identities, ids...)
	}
	if len(identities) > 0 {
		iopts.Opener = backup.FromIdentities(identities)
	} else {
		iopts.Opener = backup.FromPassphrase(keyflags.Source{
			IO: opts.IO, File: opts.BackupPassphraseFile, Env: export.EnvBackupPassphrase,
			Prompt: "Backup passphrase: ", What: "backup passphrase", FileFlag: "--backup-passphrase-file",
		}.Func())
	}
	f, err := os.Open(opts.File)
	if err != nil {
		return fmt.Errorf("opening the backup: %w", err)
	}
	defer f.Close()
	v, err := opts.Vault(ctx)
	if err != nil {
		return cmdutil.WithHints(err, keyflags.Hints(err)...)
	}
	rep, err := v.Import(ctx, f, iopts)
	switch {
	case errors.Is(err, vault.ErrConflict):
		return cmdutil.WithHints(err, "add --on-conflict skip to keep the existing secrets, or --on-conflict overwrite to replace them")
	case errors.Is(err, vault.ErrWrongPassphrase):
		return cmdutil.WithHints(err, "this is the passphrase given to export, not the vault's")
	case err != nil:
		return err
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, rep)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "imported %d secrets (%d overwritten, %d skipped)\n", rep.Imported+rep.Overwritten, rep.Overwritten, rep.Skipped)
	return err
}

// readIdentities parses an age identity file (AGE-SECRET-KEY-1... lines).
func readIdentities(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading identities: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("reading identities from %q: %w", path, err)
	}
	return ids, nil
}
