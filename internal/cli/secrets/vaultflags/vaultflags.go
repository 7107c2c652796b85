// Package vaultflags turns the persistent flags of "palyra secrets" (which
// vault, its passphrase file, the writer lock's timeout) and the
// environment into the Factory's vault configuration, before any verb
// opens the vault: the work of the group's pre-run, which the cobra
// command (package secrets) and the lean front of palyra (package lean)
// share. It links no command-line library.
package vaultflags

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
)

// EnvLockTimeout sets --lock-timeout when the flag is not given.
const EnvLockTimeout = "PALYRA_VAULT_LOCK_TIMEOUT"

// DefaultLockTimeout is how long a write waits for the writer lock that
// another palyra process holds, unless --lock-timeout or $EnvLockTimeout
// says otherwise. A write holds the lock for about a millisecond, so this
// is only reached when the other process is stuck or slow (a migration).
const DefaultLockTimeout = 30 * time.Second

// BackendChoices are the values --backend accepts.
var BackendChoices = []backend.Kind{
	backend.KindAuto,
	backend.KindEncryptedFile,
	backend.KindSecretService,
	backend.KindKeychain,
	backend.KindDPAPI,
	backend.KindEtcd,
}

// ChoiceList returns BackendChoices joined by ", ", for help and errors.
func ChoiceList() string {
	names := make([]string, len(BackendChoices))
	for i, k := range BackendChoices {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// rustReadVerbs are the verbs that read a Rust Palyra vault in place
// (--palyra-vault, or a vault root holding one); every other verb refuses
// it, naming import-palyra.
var rustReadVerbs = []string{"list", "get", "explain", "verify"}

// Options are what Prepare needs beside the Factory, whose VaultConfig
// (Root, StateRoot, Backend) and PalyraVault the flags --vault-dir,
// --state-root, --backend and --palyra-vault have already filled in.
type Options struct {
	// Verb is the name of the verb that runs ("delete", not its alias "rm").
	Verb string
	// LockTimeout is --lock-timeout, and LockTimeoutSet whether it was given.
	LockTimeout    time.Duration
	LockTimeoutSet bool
	// MigrateTo is migrate's --to ("" for other verbs).
	MigrateTo backend.Kind
	// PassphraseFile returns the file the passphrase flags name ("" for
	// none; keyflags.VaultPassphraseFile), or a usage error. Nil means none.
	PassphraseFile func() (string, error)
}

// Prepare checks the persistent flags, fills the fields of f.VaultConfig
// they left empty from the environment (vault.Config.WithEnv: the vault
// itself reads no environment variable), and sets the lock timeout, the
// notices the vault prints on f.IOStreams.ErrOut and the passphrase
// source. A vault shared on etcd is opened by palyra-extra, which links
// the etcd client that palyra leaves out for start-up's sake: for one,
// Prepare hands the whole command line (f.Args) to palyra-extra and
// returns only if that fails.
func Prepare(f *factory.Factory, o Options) error {
	if f.PalyraVault != "" && !slices.Contains(rustReadVerbs, o.Verb) {
		return clierr.WithHints(
			fmt.Errorf("%q cannot use the Rust Palyra's vault at %s: palyra reads it in place, read-only, with list, get, explain and verify", o.Verb, f.PalyraVault),
			fmt.Sprintf(`copy its secrets into palyra's own vault with "palyra secrets import-palyra --from %s", then work there`, f.PalyraVault))
	}
	if k := f.VaultConfig.Backend; k != "" && !slices.Contains(BackendChoices, k) {
		return clierr.UsageErrorf("--backend: must be one of %s", ChoiceList())
	}
	// Flags win over the environment, field by field.
	f.VaultConfig = f.VaultConfig.WithEnv()
	kind := sharedKindOf(f.VaultConfig)
	if kind == "" {
		kind = sharedTargetOf(o, f.VaultConfig)
	}
	if kind != "" && !vault.Registered(kind) && f.Args != nil {
		return delegate.Exec(nil, f.Args)
	}
	timeout, err := lockTimeout(o)
	if err != nil {
		return err
	}
	f.VaultConfig.LockTimeout = timeout
	f.VaultConfig.OnLockWait = lockWaitNotice(f.IOStreams.ErrOut, timeout)
	f.VaultConfig.OnTightened = tightenedNotice(f.IOStreams.ErrOut)
	f.VaultConfig.OnBackendNotice = backendNotice(f.IOStreams.ErrOut)
	// A passphrase vault asks for its passphrase only when a verb needs
	// its key (never to list); verbs that manage passphrases set their own
	// new passphrase.
	file := ""
	if o.PassphraseFile != nil {
		if file, err = o.PassphraseFile(); err != nil {
			return err
		}
	}
	f.VaultConfig.Passphrase = keyflags.VaultPassphrase(f.IOStreams, file, "--"+keyflags.VaultPassphraseFileFlag)
	return nil
}

// lockTimeout returns the writer lock timeout: the flag when it was given,
// else $EnvLockTimeout, else DefaultLockTimeout. Zero means no bound.
func lockTimeout(o Options) (time.Duration, error) {
	if o.LockTimeoutSet {
		if o.LockTimeout < 0 {
			return 0, clierr.UsageErrorf("--lock-timeout must not be negative (0 waits as long as it takes)")
		}
		return o.LockTimeout, nil
	}
	s := os.Getenv(EnvLockTimeout)
	if s == "" {
		return DefaultLockTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, clierr.UsageErrorf("$%s must be a duration such as 30s or 2m (0 waits as long as it takes)", EnvLockTimeout)
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

// sharedTargetOf returns the shared backend that the verb of o, on the
// local vault cfg describes, moves it to (migrate --to etcd) or finishes moving it
// off (a migrate.from record naming etcd), or "": those migrations are
// palyra-extra's too.
func sharedTargetOf(o Options, cfg vault.Config) backend.Kind {
	if o.Verb != "migrate" {
		return ""
	}
	if vault.IsShared(o.MigrateTo) {
		return o.MigrateTo
	}
	if from := vault.MigratingFrom(cfg); vault.IsShared(from) {
		return from
	}
	return ""
}
