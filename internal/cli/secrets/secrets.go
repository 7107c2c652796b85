// Package secrets builds "palyra secrets", the group of commands that store,
// read, list and delete secrets, and its persistent flags that say which
// vault to open.
package secrets

import (
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/audit"
	"github.com/palyra/palyra-vault/internal/cli/secrets/backendinfo"
	"github.com/palyra/palyra-vault/internal/cli/secrets/configure"
	deleteCmd "github.com/palyra/palyra-vault/internal/cli/secrets/delete"
	"github.com/palyra/palyra-vault/internal/cli/secrets/doctor"
	"github.com/palyra/palyra-vault/internal/cli/secrets/explain"
	"github.com/palyra/palyra-vault/internal/cli/secrets/export"
	getCmd "github.com/palyra/palyra-vault/internal/cli/secrets/get"
	"github.com/palyra/palyra-vault/internal/cli/secrets/importcmd"
	"github.com/palyra/palyra-vault/internal/cli/secrets/importkeyring"
	"github.com/palyra/palyra-vault/internal/cli/secrets/initcmd"
	"github.com/palyra/palyra-vault/internal/cli/secrets/inject"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	listCmd "github.com/palyra/palyra-vault/internal/cli/secrets/list"
	"github.com/palyra/palyra-vault/internal/cli/secrets/migrate"
	"github.com/palyra/palyra-vault/internal/cli/secrets/rotatekey"
	"github.com/palyra/palyra-vault/internal/cli/secrets/run"
	setCmd "github.com/palyra/palyra-vault/internal/cli/secrets/set"
	"github.com/palyra/palyra-vault/internal/cli/secrets/verify"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/spf13/cobra"
)

// backendChoices are the values --backend accepts.
var backendChoices = []backend.Kind{
	backend.KindAuto,
	backend.KindEncryptedFile,
	backend.KindSecretService,
	backend.KindKeychain,
	backend.KindDPAPI,
}

// NewCmdSecrets returns the "secrets" group. Each verb is one AddCommand
// line below; its flags --vault-dir, --state-root and --backend fill in
// f.VaultConfig before any verb opens the vault.
func NewCmdSecrets(f *cmdutil.Factory) *cobra.Command {
	var vaultPassphraseFile string
	cmd := &cobra.Command{
		Use:   "secrets <command>",
		Short: "Store, read, list and delete secrets",
		Long: `Store, read, list and delete secrets addressed by a scope and a key, or by
a reference vault://<scope>/<key>.

A scope is one or more segments joined by "/", each matching
[a-z0-9][a-z0-9._:-]* (at most 256 bytes in all), for example "global",
"plugins/github" or "principal:alice". A key matches [a-z0-9][a-z0-9._-]*
(at most 128 bytes).`,
		Example: `  printf 'sk-test-123' | palyra secrets set global openai_api_key
  palyra secrets get global openai_api_key
  palyra secrets list --json
  palyra secrets delete vault://global/openai_api_key`,
		Args: cmdutil.NoSubcommand,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if k := f.VaultConfig.Backend; k != "" && !slices.Contains(backendChoices, k) {
				return cmdutil.UsageErrorf("--backend %q: must be one of %s", string(k), choiceList())
			}
			// A passphrase vault asks for its passphrase only when it is
			// opened; verbs that manage passphrases set their own.
			f.VaultConfig.Passphrase = keyflags.VaultPassphrase(f.IOStreams, vaultPassphraseFile, "--vault-passphrase-file")
			return nil
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&vaultPassphraseFile, "vault-passphrase-file", "", fmt.Sprintf("file holding the passphrase of a passphrase vault (default $%s, else a prompt on the terminal)", keyflags.EnvPassphrase))
	pf.StringVar(&f.VaultConfig.Root, "vault-dir", "", fmt.Sprintf("vault root (default $%s, else <state root>/vault)", vault.EnvVaultDir))
	pf.StringVar(&f.VaultConfig.StateRoot, "state-root", "", fmt.Sprintf("state root holding the device key (default $%s, else the per-user state directory)", secret.EnvStateRoot))
	pf.StringVar((*string)(&f.VaultConfig.Backend), "backend", "", fmt.Sprintf("backend of a new vault: %s (default $%s, else auto); an existing vault keeps its own", choiceList(), vault.EnvBackend))
	_ = cmd.RegisterFlagCompletionFunc("backend", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, k := range backendChoices {
			out = append(out, string(k))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})

	cmd.AddCommand(setCmd.NewCmdSet(f, nil))
	cmd.AddCommand(getCmd.NewCmdGet(f, nil))
	cmd.AddCommand(listCmd.NewCmdList(f, nil))
	cmd.AddCommand(deleteCmd.NewCmdDelete(f, nil))
	cmd.AddCommand(backendinfo.NewCmdBackend(f, nil))
	cmd.AddCommand(migrate.NewCmdMigrate(f, nil))
	cmd.AddCommand(initcmd.NewCmdInit(f, nil))
	cmd.AddCommand(rotatekey.NewCmdRotateKey(f, nil))
	cmd.AddCommand(verify.NewCmdVerify(f, nil))
	cmd.AddCommand(doctor.NewCmdDoctor(f, nil))
	cmd.AddCommand(export.NewCmdExport(f, nil))
	cmd.AddCommand(importcmd.NewCmdImport(f, nil))
	cmd.AddCommand(importkeyring.NewCmdImportKeyring(f, nil))
	cmd.AddCommand(configure.NewCmdConfigure(f, nil))
	cmd.AddCommand(run.NewCmdRun(f, nil))
	cmd.AddCommand(inject.NewCmdInject(f, nil))
	cmd.AddCommand(audit.NewCmdAudit(f, nil))
	cmd.AddCommand(explain.NewCmdExplain(f, nil))
	return cmd
}

func choiceList() string {
	names := make([]string, len(backendChoices))
	for i, k := range backendChoices {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
