// Package vault stores secrets (API keys, tokens, encryption keys) addressed
// by a scope and a key, sealed so that the store that holds them learns
// nothing but their size.
//
// Each secret is sealed in an envelope (docs/FORMAT.md) under a fresh data key
// that is itself wrapped by the vault's key-encryption key (KEK), and handed
// to a backend under an object ID that hides the scope and key. The envelope's
// header (scope, key, times, size) is readable without the KEK, so List never
// decrypts a value, and it is authenticated, so a moved or edited object fails
// to open instead of yielding the wrong secret.
//
// Writers in every process serialise on an advisory file lock in the vault
// root that the kernel releases when a process dies; readers take no lock,
// because backends replace objects atomically. Each Put, Get and Delete costs
// a constant number of backend operations, whatever the number of secrets.
package vault

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
	"github.com/palyra/palyra-vault/vault/palyrars"
)

// DefaultMaxSecretSize is the largest value Put accepts unless the Config
// says otherwise: 64 KiB.
const DefaultMaxSecretSize = 64 << 10

// Names of the files in the vault root.
const (
	markerFile = "backend.kind"
	lockFile   = "lock"
)

// Config says where a vault lives and how to open it. The zero Config opens
// the default vault of the current user with the automatically chosen
// backend. Open takes everything from its Config and reads no environment
// variable; ConfigFromEnv builds a Config from the environment.
type Config struct {
	// Root is the vault root. Empty means <StateRoot>/vault.
	Root string
	// StateRoot holds the device key and, by default, the vault root. Empty
	// means the platform's per-user state directory
	// (secret.DefaultStateRoot).
	StateRoot string
	// Backend is the backend a new vault uses. Empty means "auto". For an
	// existing vault whose backend.kind marker names another backend,
	// "auto" and empty leave the marker alone; a named backend re-creates
	// the vault on it when the vault provably holds no secret (its backend
	// lists no object: a store that cannot list, such as a locked Secret
	// Service, proves nothing), rewriting the marker atomically and
	// reporting it to OnBackendNotice. Otherwise Open fails with an error
	// wrapping ErrBackendUnavailable that points at Migrate, and changes
	// nothing.
	Backend backend.Kind
	// MaxSecretSize is the largest value Put accepts, in bytes. Zero means
	// DefaultMaxSecretSize.
	MaxSecretSize int
	// KeySource chooses where a new vault's key-encryption key comes from.
	// Empty means "device". An existing vault keeps the key source it was
	// created with.
	KeySource string
	// Passphrase supplies the passphrase when the key source is
	// "passphrase". Open does not call it (except to key a new passphrase
	// vault): the first operation that needs the key does (Get, Put,
	// Delete, Verify, Export, RotateKey, or Unlock), at most once per
	// Vault. List and Stat never need it. The vault wipes the returned slice after use.
	Passphrase func() ([]byte, error)
	// SessionBus is the D-Bus address of the session bus, through which
	// the linux_secret_service backend and the os key source reach the
	// Secret Service. Empty means there is none: that backend and key
	// source are unavailable. ConfigFromEnv finds it in the environment.
	SessionBus string
	// LockTimeout bounds how long a write (and the creation of a new
	// vault) waits for the writer lock while another process holds it;
	// then it fails with an error wrapping ErrLockTimeout. Zero means no
	// bound but the context's. A vault write holds the lock for about a
	// millisecond, so a long wait means another process is stuck or slow
	// (a migration, a prompt) while holding it.
	LockTimeout time.Duration
	// OnLockWait, when set, is called once per write, with the lock file's
	// path, when the write has waited LockWaitNotice for the writer lock
	// that another process holds; the write goes on waiting. The vault
	// itself never writes to the user: the palyra CLI prints one line on
	// stderr from here.
	OnLockWait func(lockPath string)
	// OnTightened, when set, is called for every file or directory of the
	// vault or its key store whose mode Open (or a later read of an
	// object file) tightened because others could read it: path had mode
	// from and now has to (0700 or 0600). See docs/SECURITY.md for the
	// rule. It may be called from several goroutines at once. The palyra
	// CLI prints one line on stderr from here.
	OnTightened func(path string, from, to fs.FileMode)
	// OnBackendNotice, when set, is called once when Open creates a vault
	// whose auto selection skipped a backend this host has but cannot use
	// now (a locked Secret Service that needs a prompt), and when Open
	// re-creates an empty vault on the backend Config.Backend names. The
	// palyra CLI prints it on stderr.
	OnBackendNotice func(BackendNotice)

	// cheapKDF makes new passphrase keys and backups use the cheapest KDF
	// settings; only ConfigFromEnv sets it, inside test binaries.
	cheapKDF bool
}

// Metadata describes one secret. It never holds the value.
type Metadata struct {
	Scope   string    `json:"scope"`
	Key     string    `json:"key"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Size is the value's length in bytes.
	Size int `json:"size"`
}

// Ref returns the metadata's scope and key as a reference.
func (m Metadata) Ref() Ref { return Ref{Scope: m.Scope, Key: m.Key} }

// Info describes an open vault.
type Info struct {
	// ID is the vault's random identifier (32 hex digits), made at creation.
	ID        string       `json:"vault_id"`
	Root      string       `json:"vault_root"`
	StateRoot string       `json:"state_root"`
	Backend   backend.Kind `json:"backend"`
	KeySource string       `json:"key_source"`
	// MaxSecretSize is the largest value this vault accepts.
	MaxSecretSize int `json:"max_secret_size"`
	// BackendDetail says where and how the backend stores objects, when the
	// backend can tell (for the Secret Service: collection and transport).
	BackendDetail string `json:"backend_detail,omitempty"`
	// BackendMaxBlobSize is the largest sealed object the backend accepts;
	// a value's limit is this minus the envelope's overhead.
	BackendMaxBlobSize int `json:"backend_max_object_size"`
}

// Vault is an open vault. It is safe for concurrent use by multiple
// goroutines and, through its file lock, by multiple processes.
type Vault struct {
	info    Info
	backend backend.Backend
	// shared is the backend when many hosts share it (etcd): it holds the
	// vault id and the key-source state, and Put's writes are guarded by
	// the state's revision. Nil for a local vault.
	shared   backend.Shared
	keys     *keysource.Keyring // every KEK this handle holds (see keysource.go)
	bus      string             // Config.SessionBus
	cheapKDF bool               // Config.cheapKDF
	mu       sync.Mutex         // serialises writers inside this process
	cleaned  bool               // stale temp files were removed by this process
	// uncachedList makes List read every object, never the header cache
	// (set by tests that compare the two).
	uncachedList bool
	// writerLock is the lock file, kept open between writes (see
	// fsutil.HeldLock); made by the first write, guarded by mu.
	writerLock *fsutil.HeldLock
	// lockWait is how every write waits for the writer lock
	// (Config.LockTimeout and OnLockWait).
	lockWait fsutil.LockWait
	// onTightened reports a tightened mode to Config.OnTightened; nil
	// when that is nil.
	onTightened func(fsutil.Tightening)

	// markerStamp and markerKind cache the backend.kind marker last read
	// under the writer lock (see currentMarker); guarded by mu.
	markerStamp fsutil.PathStamp
	markerKind  backend.Kind
	// guesses holds, on a shared backend that can guard a write by the
	// object's revision, what this handle stored last (putGuessing);
	// guarded by mu.
	guesses map[backend.ObjectID]objectGuess
	now     func() time.Time
}

// Open opens the vault the config describes, creating it on first use.
// Every time, it holds the vault root, its files (backend.kind, vault.id,
// keysource.json, lock, migrate.from), objects/, and the state root's
// keys/ directory and key files to fsutil.Secure's rule: a symlink, a path
// another user owns or one others can write is refused with an error
// wrapping ErrPermission that says how to fix it, and nothing is changed;
// one others can only read is tightened to 0700 or 0600 and reported to
// Config.OnTightened. It also refuses a backend.kind marker that names a
// backend this host cannot open.
func Open(ctx context.Context, cfg Config) (*Vault, error) {
	stateRoot, root, err := resolvePaths(cfg)
	if err != nil {
		return nil, err
	}
	maxSize := cfg.MaxSecretSize
	if maxSize == 0 {
		maxSize = DefaultMaxSecretSize
	}
	if maxSize < 0 {
		return nil, fmt.Errorf("opening vault: max secret size %d must not be negative", maxSize)
	}
	var onTightened func(fsutil.Tightening)
	if cfg.OnTightened != nil {
		onTightened = func(t fsutil.Tightening) { cfg.OnTightened(t.Path, t.From, t.To) }
	}
	// Before anything that could create or tighten a file: a directory
	// the Rust Palyra's vault holds is never ours (see ErrRustVault).
	if palyrars.IsVault(root) {
		return nil, rustVaultError(root)
	}
	if err := securePaths(stateRoot, root, onTightened); err != nil {
		return nil, err
	}
	kind, legacyMarker, err := readMarkerForm(root)
	if err != nil {
		return nil, err
	}
	// A vault that many hosts share keeps its id in its backend, read
	// once the backend is open (sharedVaultID).
	id := ""
	if !sharedKind(kind) && (kind != "" || !sharedKind(cfg.Backend)) {
		if id, err = loadVaultID(root); err != nil {
			return nil, err
		}
	}
	if legacyMarker {
		// Best effort: a vault on a read-only file system still opens,
		// and the next Open tries again.
		_ = upgradeMarker(ctx, root)
	}
	v := &Vault{
		info:        Info{ID: id, Root: root, StateRoot: stateRoot, MaxSecretSize: maxSize},
		bus:         cfg.SessionBus,
		cheapKDF:    cfg.cheapKDF,
		lockWait:    fsutil.LockWait{Timeout: cfg.LockTimeout, NoticeAfter: LockWaitNotice, Notice: cfg.OnLockWait},
		onTightened: onTightened,
		now:         func() time.Time { return time.Now().UTC() },
		guesses:     map[backend.ObjectID]objectGuess{},
	}
	if kind != "" && cfg.Backend != "" && cfg.Backend != backend.KindAuto && cfg.Backend != kind {
		if sharedKind(kind) || sharedKind(cfg.Backend) {
			return nil, fmt.Errorf("%w: the vault at %s uses backend %s; a vault moves to or from a shared backend (%s) with palyra secrets migrate --to %s (docs/CLI.md)", ErrBackendUnavailable, root, kind, cfg.Backend, cfg.Backend)
		}
		if kind, err = v.recreate(ctx, cfg); err != nil {
			return nil, err
		}
	}
	createdHere := false
	if kind == "" {
		kind, err = v.create(ctx, cfg)
		if err != nil {
			return nil, err
		}
		createdHere = v.backend != nil // false when another process created it first
	}
	v.info.Backend = kind
	if v.backend == nil {
		if v.backend, err = openBackend(ctx, kind, v.site()); err != nil {
			return nil, err
		}
	}
	if sh, ok := v.backend.(backend.Shared); ok && sharedKind(kind) {
		v.shared = sh
		if v.info.ID, err = sharedVaultID(ctx, sh); err != nil {
			v.backend.Close()
			return nil, err
		}
	}
	v.describeBackend()
	if err = v.loadKeys(ctx, cfg); err != nil {
		if createdHere {
			v.undoCreate(ctx)
		}
		v.backend.Close()
		return nil, err
	}
	return v, nil
}

// undoCreate removes the backend marker this Open just wrote when keying
// the new vault failed (say, a refused passphrase), so that a failed first
// Open leaves no choice of backend behind. It does nothing once the vault
// has a key or an object, and it is best effort: the marker is harmless,
// since the next Open keys a vault that has none.
func (v *Vault) undoCreate(ctx context.Context) {
	unlock, err := fsutil.LockExclusiveWait(ctx, filepath.Join(v.info.Root, lockFile), v.lockWait)
	if err != nil {
		return
	}
	defer unlock()
	if _, err := os.Lstat(filepath.Join(v.info.Root, keySourceFile)); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if ids, err := v.backend.List(ctx); err != nil || len(ids) > 0 {
		return
	}
	if os.Remove(filepath.Join(v.info.Root, markerFile)) == nil {
		_ = fsutil.SyncDir(v.info.Root)
	}
}

// create chooses the backend for a new vault and writes its marker under the
// writer lock. When another process won the race it adopts that process's
// marker instead.
func (v *Vault) create(ctx context.Context, cfg Config) (backend.Kind, error) {
	unlock, err := fsutil.LockExclusiveWait(ctx, filepath.Join(v.info.Root, lockFile), v.lockWait)
	if err != nil {
		return "", fmt.Errorf("locking vault: %w", err)
	}
	defer unlock()
	if kind, err := readMarker(v.info.Root); err != nil || kind != "" {
		return kind, err
	}
	pref := cfg.Backend
	// Check the key source before anything is written, so that a refused
	// combination leaves no marker behind.
	src, err := desiredKeySource(cfg)
	if err != nil {
		return "", err
	}
	if pref, err = src.Backend(pref); err != nil {
		return "", err
	}
	if src.Interactive() && cfg.Passphrase == nil {
		return "", fmt.Errorf("%w: a new vault with key source %s needs one, and Config.Passphrase is nil", ErrPassphraseRequired, src.Name())
	}
	b, skipped, err := chooseBackend(ctx, pref, v.site())
	if err != nil {
		return "", err
	}
	if err := writeMarker(v.info.Root, b.Kind()); err != nil {
		b.Close()
		return "", err
	}
	v.backend = b
	if len(skipped) > 0 && cfg.OnBackendNotice != nil {
		cfg.OnBackendNotice(BackendNotice{Root: v.info.Root, Chosen: b.Kind(), Skipped: skipped})
	}
	return b.Kind(), nil
}

// writeMarker replaces the vault's backend.kind marker atomically and
// durably (fsutil.WriteFileAtomic), in the current form (backend.Marker),
// which the Rust Palyra refuses.
func writeMarker(root string, k backend.Kind) error {
	if err := fsutil.WriteFileAtomic(filepath.Join(root, markerFile), backend.Marker(k), 0o600); err != nil {
		return fmt.Errorf("writing backend marker: %w", err)
	}
	return nil
}

// readMarker returns the kind named by the vault's backend.kind marker, or ""
// when there is none yet.
func readMarker(root string) (backend.Kind, error) {
	k, _, err := readMarkerForm(root)
	return k, err
}

// readMarkerForm is readMarker, also saying whether the marker is in the
// legacy form (a bare kind name, which the Rust Palyra would accept).
func readMarkerForm(root string) (backend.Kind, bool, error) {
	path := filepath.Join(root, markerFile)
	data, err := fsutil.ReadFileLimited(path, 256)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading backend marker: %w", err)
	}
	kind, legacy := backend.ParseMarker(data)
	if !knownKind(kind) {
		return "", false, fmt.Errorf("%w: %s names backend %q, which this build does not know (known: %s); restore the vault's original marker or open it with a newer palyra",
			ErrBackendUnavailable, path, truncate(string(kind)), strings.Join(kindNames(), ", "))
	}
	return kind, legacy, nil
}

// markerUpgradeWait bounds how long Open waits for the writer lock to
// rewrite a legacy marker; past it, the next Open tries again.
const markerUpgradeWait = 200 * time.Millisecond

// upgradeMarker rewrites a legacy backend.kind marker (a bare kind name)
// in the current form, once, atomically, under the writer lock, so that
// the Rust Palyra refuses the directory instead of adopting it and
// merging our objects into its own store (docs/FORMAT.md, "On-disk layout
// of a vault"). The kind is unchanged.
func upgradeMarker(ctx context.Context, root string) error {
	unlock, err := fsutil.LockExclusiveWait(ctx, filepath.Join(root, lockFile), fsutil.LockWait{Timeout: markerUpgradeWait})
	if err != nil {
		return err
	}
	defer unlock()
	kind, legacy, err := readMarkerForm(root)
	if err != nil || !legacy || kind == "" {
		return err
	}
	return writeMarker(root, kind)
}

// rustVaultError says that root holds a vault the Rust Palyra wrote, and
// what to do instead.
func rustVaultError(root string) error {
	return fmt.Errorf("%w at %s: palyra never writes there; read it in place with \"palyra secrets list --palyra-vault %s\" (get, explain and verify too), copy it into a vault of palyra's with \"palyra secrets import-palyra --from %s\", and give palyra's own vault another directory with --vault-dir or $%s",
		ErrRustVault, root, root, root, EnvVaultDir)
}

// Info describes the open vault. KeySource follows rotations made through
// this handle.
func (v *Vault) Info() Info {
	info := v.info
	if v.keys != nil {
		info.KeySource = v.keys.Source()
	}
	return info
}

// describeBackend fills in the Info fields that come from the backend.
func (v *Vault) describeBackend() {
	v.info.BackendDetail = ""
	if d, ok := v.backend.(backend.Describer); ok {
		v.info.BackendDetail = d.Describe()
	}
	v.info.BackendMaxBlobSize = v.backend.MaxBlobSize()
}

// Close releases the backend and the lock file. The vault is unusable
// afterwards.
func (v *Vault) Close() error {
	err := v.backend.Close()
	v.mu.Lock()
	if v.writerLock != nil {
		_ = v.writerLock.Close()
	}
	v.mu.Unlock()
	v.keys.Wipe()
	return err
}

// Put stores value under scope and key, replacing any previous value and
// keeping its creation time. It returns the new metadata. It fails with
// ErrInvalidScope or ErrInvalidKey for bad names and ErrTooLarge (before
// anything is written) when the value exceeds the vault's or the backend's
// limit. Put does not keep value.
func (v *Vault) Put(ctx context.Context, scope, key string, value []byte) (Metadata, error) {
	if err := (Ref{Scope: scope, Key: key}).Validate(); err != nil {
		return Metadata{}, err
	}
	if len(value) > v.info.MaxSecretSize {
		return Metadata{}, fmt.Errorf("%w: value is %d bytes, the vault's limit is %d", ErrTooLarge, len(value), v.info.MaxSecretSize)
	}
	if max := v.maxValueSize(scope, key); len(value) > max {
		return Metadata{}, fmt.Errorf("%w: value is %d bytes, the %s backend holds at most %d for this scope and key", ErrTooLarge, len(value), v.info.Backend, max)
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return Metadata{}, err
	}
	defer unlock()

	id := envelope.ObjectID(scope, key)
	now := v.now()
	if meta, done, err := v.putGuessing(ctx, id, scope, key, value, now); done {
		return meta, err
	}
	created := now
	if old, err := v.header(ctx, id); err == nil && old.Scope == scope && old.Key == key {
		created = old.Created
	}
	h := envelope.Header{Scope: scope, Key: key, Created: created, Updated: now}
	if err := v.store(ctx, h, value); err != nil {
		return Metadata{}, fmt.Errorf("storing %s: %w", Ref{Scope: scope, Key: key}, err)
	}
	return Metadata{Scope: scope, Key: key, Created: created, Updated: now, Size: len(value)}, nil
}

// store seals value with header h under the active key and stores it
// under the object id of h's scope and key: on a vault that many hosts
// share, with a write guarded by the key state's revision (putShared). It
// is the one way every write of a new value (Put, the imports) reaches the
// backend; the caller holds the writer lock. Errors are translated.
func (v *Vault) store(ctx context.Context, h envelope.Header, value []byte) error {
	id := envelope.ObjectID(h.Scope, h.Key)
	if v.shared != nil {
		return translate(v.putShared(ctx, id, h, value))
	}
	blob, err := v.seal(ctx, h, value)
	if err != nil {
		return err
	}
	return translate(v.backend.Put(ctx, id, blob))
}

// objectGuess is what a handle knows of an object it stored on a shared
// backend: the revision its write gave the object, and the creation time
// it wrote. It is only a guess: a write on it compares the revision.
type objectGuess struct {
	rev     int64
	created time.Time
}

// maxObjectGuesses bounds Vault.guesses; a full map is emptied.
const maxObjectGuesses = 4096

// putGuessing is Put's fast way on a shared backend that can guard a write
// by the object's revision too (backend.ObjectGuarded): it stores on the
// guess that the object is as this handle last stored it (or absent), in
// one round trip, and when the guess was wrong, takes the creation time
// and revision the failed write read and tries once more. It reports done
// false, having stored nothing, when Put must take the usual way (no such
// backend, or the key state changed). The caller holds the writer lock.
func (v *Vault) putGuessing(ctx context.Context, id backend.ObjectID, scope, key string, value []byte, now time.Time) (Metadata, bool, error) {
	og, ok := v.backend.(backend.ObjectGuarded)
	if !ok || v.shared == nil {
		return Metadata{}, false, nil
	}
	g, known := v.guesses[id]
	if !known {
		g = objectGuess{created: now}
	}
	for attempt := 0; attempt < 2; attempt++ {
		kek, rev, err := v.keys.SealingGuard(ctx)
		if err != nil {
			return Metadata{}, true, fmt.Errorf("storing %s: %w", Ref{Scope: scope, Key: key}, err)
		}
		h := envelope.Header{Scope: scope, Key: key, Created: g.created, Updated: now}
		blob, err := envelope.Sealer{KEK: kek}.Seal(h, value)
		if err != nil {
			return Metadata{}, true, fmt.Errorf("storing %s: %w", Ref{Scope: scope, Key: key}, err)
		}
		newRev, cur, curRev, err := og.PutIfAt(ctx, id, blob, backend.RecordKeySource, rev, g.rev, envelope.MaxHeaderSize)
		if err == nil {
			if len(v.guesses) >= maxObjectGuesses {
				clear(v.guesses)
			}
			v.guesses[id] = objectGuess{rev: newRev, created: g.created}
			return Metadata{Scope: scope, Key: key, Created: g.created, Updated: now, Size: len(value)}, true, nil
		}
		delete(v.guesses, id)
		if !errors.Is(err, backend.ErrConflict) {
			return Metadata{}, true, fmt.Errorf("storing %s: %w", Ref{Scope: scope, Key: key}, translate(err))
		}
		if curRev == g.rev {
			return Metadata{}, false, nil // the key state changed: the usual way rereads it
		}
		g = objectGuess{rev: curRev, created: now}
		if curRev != 0 {
			old, err := parseHeaderOf(id, cur)
			if err != nil || old.Scope != scope || old.Key != key {
				return Metadata{}, false, nil
			}
			g.created = old.Created
		}
	}
	return Metadata{}, false, nil
}

// sharedPutAttempts bounds how often Put seals a value again after another
// host changed the vault's key state between sealing and storing.
const sharedPutAttempts = 5

// putShared seals value under the active key and stores it with a write
// guarded by the revision of the key-state record that key was read from:
// when another host changed the key state meanwhile (a rotation), the write
// stores nothing, and putShared rereads the state and seals again, so an
// envelope never lands under a key the vault no longer uses.
func (v *Vault) putShared(ctx context.Context, id backend.ObjectID, h envelope.Header, value []byte) error {
	for attempt := 1; ; attempt++ {
		kek, rev, err := v.keys.SealingGuard(ctx)
		if err != nil {
			return err
		}
		blob, err := envelope.Sealer{KEK: kek}.Seal(h, value)
		if err != nil {
			return err
		}
		err = v.shared.PutGuarded(ctx, id, blob, backend.RecordKeySource, rev)
		if !errors.Is(err, backend.ErrConflict) || attempt == sharedPutAttempts {
			return err
		}
		if err := v.keys.Refresh(ctx); err != nil {
			return err
		}
	}
}

// maxValueSize is the largest value the backend can hold for scope and key.
func (v *Vault) maxValueSize(scope, key string) int {
	hdr := envelope.Header{Scope: scope, Key: key}.Size()
	return v.backend.MaxBlobSize() - hdr - envelope.Overhead
}

// lock takes the in-process mutex and the cross-process file lock, checks
// that no other process migrated the vault to another backend since it was
// opened, and on the first write of this Vault removes temp files that a
// crashed writer left behind.
func (v *Vault) lock(ctx context.Context) (func(), error) {
	v.mu.Lock()
	if v.writerLock == nil {
		v.writerLock = fsutil.NewHeldLock(filepath.Join(v.info.Root, lockFile))
	}
	unlock, err := v.writerLock.AcquireWait(ctx, v.lockWait)
	if err != nil {
		v.mu.Unlock()
		return nil, fmt.Errorf("locking vault: %w", err)
	}
	if kind, err := v.currentMarker(); err != nil || kind != v.info.Backend {
		unlock()
		v.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: the vault moved from %s to %s since it was opened (a migration); open it again", ErrBackendUnavailable, v.info.Backend, kind)
		}
		return nil, err
	}
	if !v.cleaned {
		if c, ok := v.backend.(interface{ RemoveStaleTemps() (int, error) }); ok {
			_, _ = c.RemoveStaleTemps() // best effort: readers ignore temps anyway
		}
		v.cleaned = true
	}
	return func() { unlock(); v.mu.Unlock() }, nil
}

// currentMarker returns the kind the backend.kind marker names now,
// reading the marker only when it was replaced since the last call (see
// fsutil.PathStamp).
func (v *Vault) currentMarker() (backend.Kind, error) {
	fi, same := v.markerStamp.Current(filepath.Join(v.info.Root, markerFile))
	if same {
		return v.markerKind, nil
	}
	kind, err := readMarker(v.info.Root)
	if err != nil {
		return "", err
	}
	if fi != nil {
		v.markerStamp.Remember(fi)
		v.markerKind = kind
	}
	return kind, nil
}

// header reads and parses the header of object id, reading only its first
// bytes when the backend allows it.
func (v *Vault) header(ctx context.Context, id backend.ObjectID) (envelope.Header, error) {
	var b []byte
	var err error
	if hr, ok := v.backend.(backend.HeaderReader); ok {
		b, err = hr.GetPrefix(ctx, id, envelope.MaxHeaderSize)
	} else {
		b, err = v.backend.Get(ctx, id)
	}
	if err != nil {
		return envelope.Header{}, translate(err)
	}
	return parseHeaderOf(id, b)
}

// parseHeaderOf parses the header at the start of b, the blob (or its
// prefix) stored under id, and checks that it names the scope and key id
// is derived from. This is all List ever checks of a header: the KEK
// authenticates it only when the value is opened.
func parseHeaderOf(id backend.ObjectID, b []byte) (envelope.Header, error) {
	h, _, err := envelope.ParseHeader(b)
	if err != nil {
		return envelope.Header{}, translate(fmt.Errorf("object %s: %w", id, err))
	}
	if envelope.ObjectID(h.Scope, h.Key) != id {
		return envelope.Header{}, translate(fmt.Errorf("object %s: %w: header names another scope or key", id, envelope.ErrAuthentication))
	}
	return h, nil
}

// headerLen is PrefixQuery.Keep for List: the length of the envelope
// header b starts with, or all of b when it is malformed (so a cached
// prefix fails to parse exactly as the object would).
func headerLen(b []byte) int {
	if _, n, err := envelope.ParseHeader(b); err == nil {
		return n
	}
	return len(b)
}

// listCacheKey returns the key of the backend's header cache
// (backend.PrefixQuery.CacheKey): SHA-256 of a domain string and the vault
// ID. It is no secret, and it needs no KEK, so that List works (and stays
// fast) on a vault whose key is not loaded: the cache lives in the
// owner-only vault root beside the objects whose headers List reads without
// a key anyway, so whoever could forge a cache could forge those headers
// too, and Get opens every value under the KEK whatever List showed. The MAC
// under this key detects a damaged or truncated cache and one copied from
// another vault (another vault ID). Nil (no cache) when the handle was told
// to list from the objects alone.
func (v *Vault) listCacheKey() []byte {
	if v.uncachedList {
		return nil
	}
	k := sha256.Sum256([]byte(listCacheDomain + v.info.ID))
	return k[:]
}

// listCacheDomain makes the header cache's key (docs/FORMAT.md, "The header
// cache") differ from any other hash of the vault ID.
const listCacheDomain = "palyra-vault header-cache v1\x00"

// Get returns the value stored under scope and key. It fails with
// ErrNotFound when there is none, ErrWrongKey when the object was sealed
// under another KEK, and ErrCorrupt when the object was damaged or moved.
// The caller should Wipe the result when done.
func (v *Vault) Get(ctx context.Context, scope, key string) (SensitiveBytes, Metadata, error) {
	ref := Ref{Scope: scope, Key: key}
	if err := ref.Validate(); err != nil {
		return SensitiveBytes{}, Metadata{}, err
	}
	blob, err := v.backend.Get(ctx, envelope.ObjectID(scope, key))
	if err != nil {
		return SensitiveBytes{}, Metadata{}, fmt.Errorf("reading %s: %w", ref, translate(err))
	}
	kek, err := v.keys.KEKFor(ctx, blob)
	if err != nil {
		return SensitiveBytes{}, Metadata{}, fmt.Errorf("opening %s: %w", ref, err)
	}
	h, value, err := envelope.Open(kek, scope, key, blob)
	if err != nil {
		if errors.Is(err, envelope.ErrWrongKey) {
			return SensitiveBytes{}, Metadata{}, fmt.Errorf("opening %s: %w: it was sealed under a different key-encryption key than this vault's %s key", ref, ErrWrongKey, v.info.KeySource)
		}
		return SensitiveBytes{}, Metadata{}, fmt.Errorf("opening %s: %w", ref, translate(err))
	}
	return secret.NewSensitiveBytes(value), metadataOf(h), nil
}

// Stat returns the metadata of the secret under scope and key without
// decrypting its value.
func (v *Vault) Stat(ctx context.Context, scope, key string) (Metadata, error) {
	ref := Ref{Scope: scope, Key: key}
	if err := ref.Validate(); err != nil {
		return Metadata{}, err
	}
	h, err := v.header(ctx, envelope.ObjectID(scope, key))
	if err != nil {
		return Metadata{}, fmt.Errorf("reading %s: %w", ref, err)
	}
	return metadataOf(h), nil
}

func metadataOf(h envelope.Header) Metadata {
	return Metadata{Scope: h.Scope, Key: h.Key, Created: h.Created, Updated: h.Updated, Size: int(h.ValueSize)}
}

// List returns the metadata of every secret in scope, or in every scope when
// scope is "", sorted by scope then key. It reads only headers, never a
// value. Objects whose header is damaged are left out of the result and
// reported together in an error wrapping ErrCorrupt, returned alongside the
// secrets that could be read.
func (v *Vault) List(ctx context.Context, scope string) ([]Metadata, error) {
	if scope != "" {
		if err := secret.ValidateScope(scope); err != nil {
			return nil, err
		}
	}
	prefixes, err := v.listPrefixes(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing objects: %w", translate(err))
	}
	var out []Metadata
	var errs []error
	for _, p := range prefixes {
		var h envelope.Header
		err := p.Err
		if err != nil {
			err = translate(err)
		} else {
			h, err = parseHeaderOf(p.ID, p.Data)
		}
		if errors.Is(err, ErrNotFound) {
			continue // deleted since List
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if scope == "" || h.Scope == scope {
			out = append(out, metadataOf(h))
		}
	}
	slices.SortFunc(out, func(a, b Metadata) int {
		if c := strings.Compare(a.Scope, b.Scope); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, errors.Join(errs...)
}

// listPrefixes returns the header-sized prefix of every object, through the
// backend's HeaderLister (and its header cache) when it has one.
func (v *Vault) listPrefixes(ctx context.Context) ([]backend.Prefix, error) {
	if hl, ok := v.backend.(backend.HeaderLister); ok {
		return hl.ListPrefixes(ctx, backend.PrefixQuery{Max: envelope.MaxHeaderSize, Keep: headerLen, CacheKey: v.listCacheKey()})
	}
	ids, err := v.backend.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]backend.Prefix, len(ids))
	for i, id := range ids {
		out[i].ID = id
		if hr, ok := v.backend.(backend.HeaderReader); ok {
			out[i].Data, out[i].Err = hr.GetPrefix(ctx, id, envelope.MaxHeaderSize)
		} else {
			out[i].Data, out[i].Err = v.backend.Get(ctx, id)
		}
	}
	return out, nil
}

// Delete removes the secret under scope and key and reports whether it
// existed. Deleting a missing secret is not an error. Like every write, it
// needs the vault's key (see Unlock): a wrong passphrase deletes nothing.
func (v *Vault) Delete(ctx context.Context, scope, key string) (bool, error) {
	ref := Ref{Scope: scope, Key: key}
	if err := ref.Validate(); err != nil {
		return false, err
	}
	if err := v.Unlock(ctx); err != nil {
		return false, err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	existed, err := v.backend.Delete(ctx, envelope.ObjectID(scope, key))
	if err != nil {
		return false, fmt.Errorf("deleting %s: %w", ref, translate(err))
	}
	return existed, nil
}
