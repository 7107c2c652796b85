// Package export implements "palyra secrets export": write every secret,
// with its metadata, into one age-encrypted backup file.
package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backup"
	"github.com/spf13/cobra"
)

// EnvBackupPassphrase holds the backup passphrase of export and import when
// no file is given. Like every variable that carries key material, it is
// listed in secret.KeyMaterialEnv.
const EnvBackupPassphrase = secret.EnvBackupPassphrase

// ExportOptions are the dependencies and flags of "palyra secrets export".
type ExportOptions struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)

	Output               string
	Scope                string
	Recipients           []string
	BackupPassphraseFile string
	Force                bool
	SkipUnreadable       bool
	JSON                 bool
}

// NewCmdExport returns the "export" command. When runF is not nil it is
// called with the parsed options instead of exportRun.
func NewCmdExport(f *cmdutil.Factory, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   delegate.Export.Use,
		Short: delegate.Export.Short,
		Long: `Write every secret (or those of --scope), with its scope, key and times,
into one file encrypted with age (https://age-encryption.org): to age
recipients given with --recipient (public keys, age1...), or else to a
backup passphrase from --backup-passphrase-file, $PALYRA_BACKUP_PASSPHRASE
or a prompt (asked twice). The file is written atomically with mode 0600.

Restore it into any vault, on any backend, with "palyra secrets import".
If a secret cannot be read, nothing is written unless --skip-unreadable.`,
		Example: `  palyra secrets export -o secrets.age
  palyra secrets export -o github.age --scope plugins/github --recipient age1...`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output == "" {
				return cmdutil.UsageErrorf("--output (-o) is required: the backup file to write")
			}
			if opts.Scope != "" {
				scope, err := secret.ParseScope(opts.Scope)
				if err != nil {
					return &cmdutil.UsageError{Err: fmt.Errorf("--scope: %w", err)}
				}
				opts.Scope = scope
			}
			if len(opts.Recipients) > 0 && opts.BackupPassphraseFile != "" {
				return cmdutil.UsageErrorf("--recipient and --backup-passphrase-file exclude each other")
			}
			opts.Config, opts.Vault = &f.VaultConfig, f.Vault
			if runF != nil {
				return runF(opts)
			}
			return exportRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Output, "output", "o", "", "the backup file to write")
	fl.StringVar(&opts.Scope, "scope", "", "export only this scope")
	fl.StringArrayVar(&opts.Recipients, "recipient", nil, "encrypt to this age public key (age1...); repeatable")
	fl.StringVar(&opts.BackupPassphraseFile, "backup-passphrase-file", "", "read the backup passphrase from this file")
	// The vault passphrase: --vault-passphrase-file of "palyra secrets".
	keyflags.AddOldPassphraseFile(fl)
	fl.BoolVar(&opts.Force, "force", false, "replace the output file if it exists")
	fl.BoolVar(&opts.SkipUnreadable, "skip-unreadable", false, "export what can be read and list the rest")
	fl.BoolVar(&opts.JSON, "json", false, "print what was exported as JSON")
	return cmd
}

func exportRun(ctx context.Context, opts *ExportOptions) error {
	var recipients []age.Recipient
	if len(opts.Recipients) > 0 {
		rs, err := age.ParseRecipients(strings.NewReader(strings.Join(opts.Recipients, "\n")))
		if err != nil {
			return &cmdutil.UsageError{Err: fmt.Errorf("--recipient: %w", err)}
		}
		recipients = rs
	}
	if !opts.Force {
		if _, err := os.Lstat(opts.Output); err == nil {
			return cmdutil.WithHints(fmt.Errorf("%s already exists; nothing was written", opts.Output), "choose another file, or add --force to replace it")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	v, err := opts.Vault(ctx)
	if err != nil {
		return cmdutil.WithHints(err, keyflags.Hints(err)...)
	}
	eo := vault.ExportOptions{Scope: opts.Scope, SkipUnreadable: opts.SkipUnreadable}
	if len(recipients) > 0 {
		eo.Sealer = backup.ToRecipients(recipients)
	} else {
		eo.Sealer = backup.ToPassphrase(keyflags.Source{
			IO: opts.IO, File: opts.BackupPassphraseFile, Env: EnvBackupPassphrase,
			Prompt: "Backup passphrase: ", Confirm: true, What: "backup passphrase", FileFlag: "--backup-passphrase-file",
		}.Func())
	}
	var buf bytes.Buffer
	rep, err := v.Export(ctx, &buf, eo)
	if err != nil {
		if errors.Is(err, vault.ErrCorrupt) {
			return cmdutil.WithHints(err, `run "palyra secrets verify" to see every damaged secret`, "or add --skip-unreadable to export the others")
		}
		return err
	}
	if err := fsutil.WriteFileAtomic(opts.Output, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(opts.IO.ErrOut, "palyra: warning: not exported: %s\n", s)
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, rep)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "exported %d secrets to %s\n", rep.Secrets, opts.Output)
	return err
}
