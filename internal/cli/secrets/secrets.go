// Package secrets builds "palyra secrets", the group of commands that store,
// read, list and delete secrets, and its persistent flags that say which
// vault to open.
package secrets

import (
	"fmt"
	"slices"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/delegate/stub"
	"github.com/palyra/palyra-vault/internal/cli/secrets/audit"
	"github.com/palyra/palyra-vault/internal/cli/secrets/backendinfo"
	"github.com/palyra/palyra-vault/internal/cli/secrets/configure"
	deleteCmd "github.com/palyra/palyra-vault/internal/cli/secrets/delete"
	"github.com/palyra/palyra-vault/internal/cli/secrets/doctor"
	"github.com/palyra/palyra-vault/internal/cli/secrets/explain"
	getCmd "github.com/palyra/palyra-vault/internal/cli/secrets/get"
	"github.com/palyra/palyra-vault/internal/cli/secrets/importkeyring"
	"github.com/palyra/palyra-vault/internal/cli/secrets/importpalyra"
	"github.com/palyra/palyra-vault/internal/cli/secrets/initcmd"
	"github.com/palyra/palyra-vault/internal/cli/secrets/inject"
	"github.com/palyra/palyra-vault/internal/cli/secrets/inventory"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	listCmd "github.com/palyra/palyra-vault/internal/cli/secrets/list"
	"github.com/palyra/palyra-vault/internal/cli/secrets/migrate"
	"github.com/palyra/palyra-vault/internal/cli/secrets/reload"
	"github.com/palyra/palyra-vault/internal/cli/secrets/rotatekey"
	"github.com/palyra/palyra-vault/internal/cli/secrets/run"
	setCmd "github.com/palyra/palyra-vault/internal/cli/secrets/set"
	"github.com/palyra/palyra-vault/internal/cli/secrets/vaultflags"
	"github.com/palyra/palyra-vault/internal/cli/secrets/verify"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/spf13/cobra"
)

// EnvLockTimeout sets --lock-timeout when the flag is not given
// (vaultflags.EnvLockTimeout).
const EnvLockTimeout = vaultflags.EnvLockTimeout

// DefaultLockTimeout is the writer lock's default timeout
// (vaultflags.DefaultLockTimeout).
const DefaultLockTimeout = vaultflags.DefaultLockTimeout

// verb is one subcommand of "palyra secrets": the names it answers to (its
// name, then its aliases, as its Use and Aliases say) and its constructor.
type verb struct {
	names []string
	build func(f *cmdutil.Factory) *cobra.Command
}

// verbs are the subcommands of "palyra secrets", in the order help lists
// them. A new verb is one line here.
var verbs = []verb{
	{[]string{"set"}, func(f *cmdutil.Factory) *cobra.Command { return setCmd.NewCmdSet(f, nil) }},
	{[]string{"get"}, func(f *cmdutil.Factory) *cobra.Command { return getCmd.NewCmdGet(f, nil) }},
	{[]string{"list"}, func(f *cmdutil.Factory) *cobra.Command { return listCmd.NewCmdList(f, nil) }},
	{[]string{"delete", "rm"}, func(f *cmdutil.Factory) *cobra.Command { return deleteCmd.NewCmdDelete(f, nil) }},
	{[]string{"backend"}, func(f *cmdutil.Factory) *cobra.Command { return backendinfo.NewCmdBackend(f, nil) }},
	{[]string{"migrate"}, func(f *cmdutil.Factory) *cobra.Command { return migrate.NewCmdMigrate(f, nil) }},
	{[]string{"init"}, func(f *cmdutil.Factory) *cobra.Command { return initcmd.NewCmdInit(f, nil) }},
	{[]string{"rotate-key"}, func(f *cmdutil.Factory) *cobra.Command { return rotatekey.NewCmdRotateKey(f, nil) }},
	{[]string{"verify"}, func(f *cmdutil.Factory) *cobra.Command { return verify.NewCmdVerify(f, nil) }},
	{[]string{"doctor"}, func(f *cmdutil.Factory) *cobra.Command { return doctor.NewCmdDoctor(f, nil) }},
	{[]string{"export"}, stub.Builder(delegate.Export)},
	{[]string{"import"}, stub.Builder(delegate.Import)},
	{[]string{"host-key"}, stub.Builder(delegate.HostKey)},
	{[]string{"members"}, stub.Builder(delegate.Members)},
	{[]string{"import-keyring"}, func(f *cmdutil.Factory) *cobra.Command { return importkeyring.NewCmdImportKeyring(f, nil) }},
	{[]string{"import-palyra"}, func(f *cmdutil.Factory) *cobra.Command { return importpalyra.NewCmdImportPalyra(f, nil) }},
	{[]string{"configure"}, func(f *cmdutil.Factory) *cobra.Command { return configure.NewCmdConfigure(f, nil) }},
	{[]string{"run"}, func(f *cmdutil.Factory) *cobra.Command { return run.NewCmdRun(f, nil) }},
	{[]string{"inject"}, func(f *cmdutil.Factory) *cobra.Command { return inject.NewCmdInject(f, nil) }},
	{[]string{"audit"}, func(f *cmdutil.Factory) *cobra.Command { return audit.NewCmdAudit(f, nil) }},
	{[]string{"explain"}, func(f *cmdutil.Factory) *cobra.Command { return explain.NewCmdExplain(f, nil) }},
	{[]string{"inventory"}, func(f *cmdutil.Factory) *cobra.Command { return inventory.NewCmdInventory(f, nil) }},
	{[]string{"plan"}, func(f *cmdutil.Factory) *cobra.Command { return reload.NewCmdPlan(f, nil) }},
	{[]string{"apply"}, func(f *cmdutil.Factory) *cobra.Command { return reload.NewCmdApply(f, nil) }},
}

// NewCmdSecrets returns the "secrets" group with every verb; its flags
// --vault-dir, --state-root and --backend fill in f.VaultConfig, and the
// environment (vault.ConfigFromEnv) the fields they leave empty, before any
// verb opens the vault.
func NewCmdSecrets(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdGroup(f)
	for _, v := range verbs {
		cmd.AddCommand(v.build(f))
	}
	return cmd
}

// NewCmdSecretsVerb returns the "secrets" group holding only the verb that
// answers to name (its name or an alias), and false when none does. A
// command line that names its verb needs no other: building the ~20 others
// (their flag sets, completion functions, defaults) is most of the cost of
// building the tree, which every palyra command pays at start-up.
func NewCmdSecretsVerb(f *cmdutil.Factory, name string) (*cobra.Command, bool) {
	for _, v := range verbs {
		if slices.Contains(v.names, name) {
			cmd := NewCmdGroup(f)
			cmd.AddCommand(v.build(f))
			return cmd, true
		}
	}
	return nil, false
}

// NewCmdGroup returns the "secrets" group without its verbs: NewCmdSecrets
// adds them all, NewCmdSecretsVerb one, and a test one built with its runF
// hook (see lean_test.go in package cli).
func NewCmdGroup(f *cmdutil.Factory) *cobra.Command {
	var (
		vaultPassphraseFile string
		lockTimeoutFlag     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "secrets <command>",
		Short: "Store, read, list and delete secrets",
		Long: `Store, read, list and delete secrets addressed by a scope and a key, or by
a reference vault://<scope>/<key>.

A scope is either one or more segments joined by "/", each matching
[a-z0-9][a-z0-9._:-]* (at most 256 bytes in all), for example "global",
"plugins/github" or "principal:alice"; or a Palyra scope: "global",
"principal:<id>", "channel:<name>:<id>" or "skill:<id>", an id being 1 to
256 bytes of anything but "/", "\" and control characters, for example
"principal:Alice@Example.com". Scopes are stored in canonical form: white
space around the scope and its ids is dropped, "GLOBAL" is "global". A key
is 1 to 128 of a-z, 0-9, ".", "_" and "-" in any position. In
vault://<scope>/<key> the key follows the last "/".`,
		Example: `  printf 'sk-test-123' | palyra secrets set global openai_api_key
  palyra secrets get global openai_api_key
  palyra secrets list --json
  palyra secrets delete vault://global/openai_api_key`,
		Args: cmdutil.NoSubcommand,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ApplyOutputFormat(cmd, f.IOStreams); err != nil {
				return err
			}
			o := vaultflags.Options{
				Verb:           cmd.Name(),
				LockTimeout:    lockTimeoutFlag,
				LockTimeoutSet: cmd.Flags().Changed("lock-timeout"),
				// The key verbs still take the old name of the flag
				// (--passphrase-file).
				PassphraseFile: func() (string, error) { return keyflags.VaultPassphraseFile(cmd.Flags(), f.IOStreams.ErrOut) },
			}
			if fl := cmd.Flags().Lookup("to"); cmd.Name() == "migrate" && fl != nil {
				o.MigrateTo = backend.Kind(fl.Value.String())
			}
			return vaultflags.Prepare(f, o)
		},
	}
	pf := cmd.PersistentFlags()
	keyflags.AddVaultPassphraseFile(pf, &vaultPassphraseFile)
	pf.StringVar(&f.VaultConfig.Root, "vault-dir", "", fmt.Sprintf("vault root (default $%s, else <state root>/vault)", vault.EnvVaultDir))
	pf.StringVar(&f.VaultConfig.StateRoot, "state-root", "", fmt.Sprintf("state root holding the device key (default $%s, else the per-user state directory)", secret.EnvStateRoot))
	pf.StringVar(&f.PalyraVault, "palyra-vault", "", "read the vault the Rust Palyra wrote in this directory, in place and read-only (list, get, explain, verify)")
	pf.StringVar(&f.PalyraIdentityStore, "palyra-identity-store", "", `the Rust Palyra's identity store for --palyra-vault (default "identity" beside it)`)
	pf.DurationVar(&lockTimeoutFlag, "lock-timeout", DefaultLockTimeout, fmt.Sprintf("how long a write waits for another palyra process to release the vault's writer lock, or configure for palyra.toml's lock (default $%s, else %s; 0 waits as long as it takes)", EnvLockTimeout, DefaultLockTimeout))
	pf.StringVar((*string)(&f.VaultConfig.Backend), "backend", "", fmt.Sprintf("backend of a new vault: %s (default $%s, else auto); an existing vault keeps its own unless it holds no secret", vaultflags.ChoiceList(), vault.EnvBackend))
	_ = cmd.RegisterFlagCompletionFunc("backend", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, k := range vaultflags.BackendChoices {
			out = append(out, string(k))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}
