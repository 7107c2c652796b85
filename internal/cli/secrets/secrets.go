// Package secrets builds "palyra secrets", the group of commands that store,
// read, list and delete secrets, and its persistent flags that say which
// vault to open.
package secrets

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
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
	"github.com/palyra/palyra-vault/internal/cli/secrets/verify"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/spf13/cobra"
)

// EnvLockTimeout sets --lock-timeout when the flag is not given.
const EnvLockTimeout = "PALYRA_VAULT_LOCK_TIMEOUT"

// DefaultLockTimeout is how long a write waits for the writer lock that
// another palyra process holds, unless --lock-timeout or $EnvLockTimeout
// says otherwise. A write holds the lock for about a millisecond, so this
// is only reached when the other process is stuck or slow (a migration).
const DefaultLockTimeout = 30 * time.Second

// lockTimeout returns the writer lock timeout: the flag when it was given,
// else $EnvLockTimeout, else DefaultLockTimeout. Zero means no bound.
func lockTimeout(cmd *cobra.Command, flag time.Duration) (time.Duration, error) {
	if cmd.Flags().Changed("lock-timeout") {
		if flag < 0 {
			return 0, cmdutil.UsageErrorf("--lock-timeout must not be negative (0 waits as long as it takes)")
		}
		return flag, nil
	}
	s := os.Getenv(EnvLockTimeout)
	if s == "" {
		return DefaultLockTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, cmdutil.UsageErrorf("$%s must be a duration such as 30s or 2m (0 waits as long as it takes)", EnvLockTimeout)
	}
	return d, nil
}

// lockWaitNotice returns the vault's OnLockWait for the CLI: one warning
// line on stderr saying what the write waits for, and for how long at most.
func lockWaitNotice(w io.Writer, timeout time.Duration) func(string) {
	limit := "until it is released"
	if timeout > 0 {
		limit = "giving up after " + timeout.String()
	}
	return func(lockPath string) {
		fmt.Fprintf(w, "palyra: warning: waiting for the vault's writer lock %s: another palyra process is writing to this vault (%s)\n", lockPath, limit)
	}
}

// tightenedNotice returns the vault's OnTightened for the CLI: one warning
// line on stderr for each file or directory whose mode the vault tightened
// (docs/SECURITY.md, "File permissions").
func tightenedNotice(w io.Writer) func(string, fs.FileMode, fs.FileMode) {
	return func(path string, from, to fs.FileMode) {
		fmt.Fprintf(w, "palyra: warning: tightened %s from %04o to %04o (other users could read it; the vault and its keys are kept owner-only)\n", path, uint32(from.Perm()), uint32(to.Perm()))
	}
}

// backendNotice returns the vault's OnBackendNotice for the CLI: a warning
// on stderr, said once (when the vault is created or re-created), naming
// each backend auto selection skipped with its reason and what to do, or
// the backend an empty vault was re-created on.
func backendNotice(w io.Writer) func(vault.BackendNotice) {
	return func(n vault.BackendNotice) {
		if n.Replaced != "" {
			fmt.Fprintf(w, "palyra: warning: the vault at %s held no secret: it now uses backend %s instead of %s\n", n.Root, n.Chosen, n.Replaced)
			return
		}
		for _, s := range n.Skipped {
			what := "cannot be used now"
			if s.Locked {
				what = "is locked and cannot be unlocked without a prompt"
			}
			fmt.Fprintf(w, "palyra: warning: the new vault at %s uses backend %s: %s %s (%s)\n", n.Root, n.Chosen, s.Kind, what, s.Reason)
			if s.Advice != "" {
				fmt.Fprintf(w, "palyra: hint: %s\n", s.Advice)
			}
			fmt.Fprintf(w, "palyra: hint: once %s works, \"palyra secrets migrate --to %s\" moves the vault there\n", s.Kind, s.Kind)
		}
	}
}

// rustReadVerbs are the verbs that read a Rust Palyra vault in place
// (--palyra-vault, or a vault root holding one); every other verb refuses
// it, naming import-palyra.
var rustReadVerbs = []string{"list", "get", "explain", "verify"}

// backendChoices are the values --backend accepts.
var backendChoices = []backend.Kind{
	backend.KindAuto,
	backend.KindEncryptedFile,
	backend.KindSecretService,
	backend.KindKeychain,
	backend.KindDPAPI,
	backend.KindEtcd,
}

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
	cmd := newCmdGroup(f)
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
			cmd := newCmdGroup(f)
			cmd.AddCommand(v.build(f))
			return cmd, true
		}
	}
	return nil, false
}

// newCmdGroup returns the "secrets" group without its verbs.
func newCmdGroup(f *cmdutil.Factory) *cobra.Command {
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
			if f.PalyraVault != "" && !slices.Contains(rustReadVerbs, cmd.Name()) {
				return cmdutil.WithHints(
					fmt.Errorf("%q cannot use the Rust Palyra's vault at %s: palyra reads it in place, read-only, with list, get, explain and verify", cmd.Name(), f.PalyraVault),
					fmt.Sprintf(`copy its secrets into palyra's own vault with "palyra secrets import-palyra --from %s", then work there`, f.PalyraVault))
			}
			if k := f.VaultConfig.Backend; k != "" && !slices.Contains(backendChoices, k) {
				return cmdutil.UsageErrorf("--backend: must be one of %s", choiceList())
			}
			// Flags win over the environment, field by field; the vault
			// itself reads no environment variable.
			f.VaultConfig = f.VaultConfig.WithEnv()
			// A vault shared on etcd is opened by palyra-extra, which
			// links the etcd client that this program leaves out for
			// start-up's sake: hand it the whole command line.
			kind := sharedKindOf(f.VaultConfig)
			if kind == "" {
				kind = sharedTargetOf(cmd, f.VaultConfig)
			}
			if kind != "" && !vault.Registered(kind) && f.Args != nil {
				return delegate.Exec(nil, f.Args)
			}
			timeout, err := lockTimeout(cmd, lockTimeoutFlag)
			if err != nil {
				return err
			}
			f.VaultConfig.LockTimeout = timeout
			f.VaultConfig.OnLockWait = lockWaitNotice(f.IOStreams.ErrOut, timeout)
			f.VaultConfig.OnTightened = tightenedNotice(f.IOStreams.ErrOut)
			f.VaultConfig.OnBackendNotice = backendNotice(f.IOStreams.ErrOut)
			// A passphrase vault asks for its passphrase only when a verb
			// needs its key (never to list); verbs that manage passphrases
			// set their own new passphrase. The key verbs still take the
			// old name of the flag (--passphrase-file).
			file, err := keyflags.VaultPassphraseFile(cmd.Flags(), f.IOStreams.ErrOut)
			if err != nil {
				return err
			}
			f.VaultConfig.Passphrase = keyflags.VaultPassphrase(f.IOStreams, file, "--"+keyflags.VaultPassphraseFileFlag)
			return nil
		},
	}
	pf := cmd.PersistentFlags()
	keyflags.AddVaultPassphraseFile(pf, &vaultPassphraseFile)
	pf.StringVar(&f.VaultConfig.Root, "vault-dir", "", fmt.Sprintf("vault root (default $%s, else <state root>/vault)", vault.EnvVaultDir))
	pf.StringVar(&f.VaultConfig.StateRoot, "state-root", "", fmt.Sprintf("state root holding the device key (default $%s, else the per-user state directory)", secret.EnvStateRoot))
	pf.StringVar(&f.PalyraVault, "palyra-vault", "", "read the vault the Rust Palyra wrote in this directory, in place and read-only (list, get, explain, verify)")
	pf.StringVar(&f.PalyraIdentityStore, "palyra-identity-store", "", `the Rust Palyra's identity store for --palyra-vault (default "identity" beside it)`)
	pf.DurationVar(&lockTimeoutFlag, "lock-timeout", DefaultLockTimeout, fmt.Sprintf("how long a write waits for another palyra process to release the vault's writer lock, or configure for palyra.toml's lock (default $%s, else %s; 0 waits as long as it takes)", EnvLockTimeout, DefaultLockTimeout))
	pf.StringVar((*string)(&f.VaultConfig.Backend), "backend", "", fmt.Sprintf("backend of a new vault: %s (default $%s, else auto); an existing vault keeps its own unless it holds no secret", choiceList(), vault.EnvBackend))
	_ = cmd.RegisterFlagCompletionFunc("backend", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, k := range backendChoices {
			out = append(out, string(k))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// sharedKindOf returns the shared backend (etcd) that the vault cfg
// describes uses, or would use once created, or "": one small file read
// (backend.kind), so local vaults pay nothing for it.
func sharedKindOf(cfg vault.Config) backend.Kind {
	kind := cfg.Backend
	if m, err := vault.MarkerOf(cfg); err == nil && m != "" {
		kind = m
	}
	if vault.IsShared(kind) {
		return kind
	}
	return ""
}

// sharedTargetOf returns the shared backend that cmd, on the local vault
// cfg describes, moves it to (migrate --to etcd) or finishes moving it
// off (a migrate.from record naming etcd), or "": those migrations are
// palyra-extra's too.
func sharedTargetOf(cmd *cobra.Command, cfg vault.Config) backend.Kind {
	if cmd.Name() != "migrate" {
		return ""
	}
	if fl := cmd.Flags().Lookup("to"); fl != nil && vault.IsShared(backend.Kind(fl.Value.String())) {
		return backend.Kind(fl.Value.String())
	}
	if from := vault.MigratingFrom(cfg); vault.IsShared(from) {
		return from
	}
	return ""
}

func choiceList() string {
	names := make([]string, len(backendChoices))
	for i, k := range backendChoices {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
