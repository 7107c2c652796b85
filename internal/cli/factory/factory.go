// Package factory holds the Factory that hands palyra's commands their
// streams and a lazily opened vault (palyra's own, or a Rust Palyra vault
// read in place). It links no command-line library: the cobra command tree
// (cmdutil.Factory is this type) and the lean front of palyra (package
// lean) open vaults through the same code.
package factory

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/errwrap"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
)

// Factory gives commands their dependencies. Commands copy what they need
// into their options struct when they run, so tests can replace any part.
type Factory struct {
	// IOStreams are the command's standard streams.
	IOStreams *iostreams.IOStreams
	// VaultConfig is filled in by the persistent flags of "palyra secrets"
	// and "palyra daemon" (--vault-dir, --state-root, --backend), then, in
	// their pre-run, the fields left empty from the environment
	// (vault.Config.WithEnv): vault.Open itself reads no environment.
	VaultConfig vault.Config
	// Vault opens the vault described by VaultConfig on first call and
	// returns the same one afterwards, creating it if it does not exist.
	// Main closes it when the command ends.
	Vault func(ctx context.Context) (*vault.Vault, error)
	// ExistingVault is Vault for commands that only read or remove: when no
	// vault exists yet it creates nothing and fails with an error wrapping
	// ErrNoVault (and vault.ErrNotFound).
	ExistingVault func(ctx context.Context) (*vault.Vault, error)
	// Extra builds the commands that only palyra-extra links (see package
	// delegate), by their path below "palyra": "daemon", "secrets export",
	// "secrets import". It holds a map[string]func(*Factory)
	// *cobra.Command, read with cmdutil.ExtraCommand (this package links no
	// cobra). The in-process tree of tests leaves it nil and builds stubs
	// that hand those commands to palyra-extra; palyra-extra fills it in.
	Extra any
	// PalyraVault and PalyraIdentityStore are the --palyra-vault and
	// --palyra-identity-store flags of "palyra secrets": a vault the Rust
	// Palyra wrote, to read in place, and the identity store its key comes
	// from ("" means the directory "identity" beside it).
	PalyraVault, PalyraIdentityStore string
	// Args is the command line without the program name, as Main got it,
	// for handing the whole of it to palyra-extra (an etcd vault); nil
	// when the command runs some other way.
	Args []string

	mu        sync.Mutex
	opened    *vault.Vault
	rust      *palyrars.Vault
	rustKeyed bool
}

// RustRoot returns the root of the Rust Palyra vault that the read verbs
// (list, get, explain, verify) read in place instead of palyra's own: the
// one --palyra-vault names, else the vault root itself when it holds a
// Rust vault (palyrars.IsVault); "" when palyra's own vault is meant.
func (f *Factory) RustRoot() string {
	if f.PalyraVault != "" {
		return f.PalyraVault
	}
	if r := f.VaultConfig.Root; r != "" && palyrars.IsVault(r) {
		return r
	}
	return ""
}

// RustVault opens, read-only, the Rust vault RustRoot names (nil, nil when
// it names none); needKey derives its key from the identity store, which
// listing does not need. Close closes it.
func (f *Factory) RustVault(ctx context.Context, needKey bool) (*palyrars.Vault, error) {
	root := f.RustRoot()
	if root == "" {
		return nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rust != nil {
		if f.rustKeyed || !needKey {
			return f.rust, nil
		}
		f.rust.Close()
		f.rust = nil
	}
	rv, err := palyrars.Open(ctx, palyrars.Options{Root: root, IdentityStore: f.PalyraIdentityStore, SessionBus: f.VaultConfig.SessionBus, MetadataOnly: !needKey})
	if err != nil {
		hint := "--palyra-vault names the Rust Palyra's vault directory (holding backend.kind and metadata.json); --palyra-identity-store its identity store"
		return nil, clierr.WithHints(err, hint)
	}
	for _, w := range rv.Warnings() {
		fmt.Fprintf(f.IOStreams.ErrOut, "palyra: warning: %s\n", w)
	}
	f.rust, f.rustKeyed = rv, needKey
	return rv, nil
}

// RustGet reads one secret of a Rust vault in place, as vault.Vault.Get
// reads one of palyra's: a missing secret wraps vault.ErrNotFound.
func RustGet(ctx context.Context, rv *palyrars.Vault, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
	value, e, err := rv.Get(ctx, scope, key)
	if err != nil {
		return value, vault.Metadata{}, rustNotFound(rv, scope, key, err)
	}
	return value, RustMetadata(e), nil
}

// RustStat returns the metadata of one secret of a Rust vault, as
// vault.Vault.Stat does; it needs no key.
func RustStat(rv *palyrars.Vault, scope, key string) (vault.Metadata, error) {
	e, err := rv.Lookup(scope, key)
	if err != nil {
		return vault.Metadata{}, rustNotFound(rv, scope, key, err)
	}
	return RustMetadata(e), nil
}

func rustNotFound(rv *palyrars.Vault, scope, key string, err error) error {
	if errors.Is(err, palyrars.ErrNotFound) {
		return fmt.Errorf("%w: %s in the Rust Palyra's vault at %s", vault.ErrNotFound, secret.Ref{Scope: scope, Key: key}, rv.Root())
	}
	return err
}

// RustMetadata converts a Rust vault's entry to palyra's metadata: the
// scope in palyra's canonical form when palyra's grammar takes it, else as
// stored.
func RustMetadata(e palyrars.Entry) vault.Metadata {
	scope := e.Scope
	if s, err := secret.ParseScope(e.Scope); err == nil {
		scope = s
	}
	return vault.Metadata{Scope: scope, Key: e.Key, Created: e.Created, Updated: e.Updated, Size: e.Size}
}

// New returns a Factory whose Vault opens f.VaultConfig lazily, so
// commands that fail on their arguments never touch the disk.
func New(ios *iostreams.IOStreams) *Factory {
	f := &Factory{IOStreams: ios}
	f.Vault = f.openVault
	f.ExistingVault = f.openExistingVault
	return f
}

// ErrNoVault means the command needs a vault and none has been created at
// the vault root yet. It wraps vault.ErrNotFound, so it exits like a missing
// secret.
var ErrNoVault = errwrap.New("no vault here yet", vault.ErrNotFound)

// NoVaultAt returns the error of a command, or of a reference, that needs
// the vault at root where none has been created: it wraps ErrNoVault (and
// so vault.ErrNotFound), names root and says how to make one.
func NoVaultAt(root string) error {
	return clierr.WithHints(fmt.Errorf("%w (looked in %s)", ErrNoVault, root),
		`store a secret with "palyra secrets set" to create the vault, or point --vault-dir / $PALYRA_VAULT_DIR at an existing one`)
}

func (f *Factory) openExistingVault(ctx context.Context) (*vault.Vault, error) {
	exists, root, err := vault.Exists(f.VaultConfig)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, NoVaultAt(root)
	}
	return f.openVault(ctx)
}

func (f *Factory) openVault(ctx context.Context) (*vault.Vault, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opened != nil {
		return f.opened, nil
	}
	v, err := vault.Open(ctx, f.VaultConfig)
	if err != nil {
		return nil, err
	}
	f.opened = v
	return v, nil
}

// Close closes the vault if Vault opened one. It is safe to call more than
// once.
func (f *Factory) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rust != nil {
		f.rust.Close()
		f.rust = nil
	}
	if f.opened == nil {
		return nil
	}
	err := f.opened.Close()
	f.opened = nil
	return err
}
