package keysource

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/dpapi"
	"github.com/palyra/palyra-vault/vault/backend/keychain"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// An "os" key is 32 random bytes kept by the host's secret store, stored
// through that store's backend under an object id derived from the vault id
// and the key id (OSKeyItem), so two vaults, or the two keys of one vault
// during a rotation, never share an item. The vault's envelopes stay in
// encrypted_file: only the 32-byte key goes to the store, which removes the
// stores' size limits from the secrets.
type osSource struct{}

const osKeyDomain = "palyra-vault os-kek v1\x00"

// OSKeyItem returns the object id of the OS-store item that holds KEK
// kekID of vault vaultID: "obj_" and the hex SHA-256 of
// "palyra-vault os-kek v1" || 0x00 || vaultID || 0x00 || kekID (both ids in
// lowercase hex).
func OSKeyItem(vaultID, kekID string) backend.ObjectID {
	sum := sha256.Sum256([]byte(osKeyDomain + vaultID + "\x00" + kekID))
	return backend.ObjectID(envelope.ObjectIDPrefix + hex.EncodeToString(sum[:]))
}

// osKeyStores holds the openers of the secret stores this build can keep
// KEKs in, by the kind this host has (OSStoreKind). Files that import a
// store's package register it in init.
var osKeyStores = map[backend.Kind]func(ctx context.Context, site Site) (backend.Backend, error){
	backend.KindDPAPI: func(_ context.Context, site Site) (backend.Backend, error) {
		return dpapi.New(filepath.Join(site.StateRoot, "keys", "os"), dpapi.Options{})
	},
	backend.KindKeychain: func(context.Context, Site) (backend.Backend, error) {
		return keychain.New(keychain.Options{Service: osKeyKeychainService})
	},
}

// osKeyKeychainService is the keychain service attribute of KEK items, apart
// from the objects' service so the two never mix.
const osKeyKeychainService = "dev.palyra.vault.kek"

// osStoreKinds are the store kinds a spec may name (every backend kind, as
// docs/FORMAT.md says).
var osStoreKinds = []backend.Kind{backend.KindEncryptedFile, backend.KindSecretService, backend.KindKeychain, backend.KindDPAPI}

// OSStoreKind names the secret store of this host, "" when none is
// supported: the Secret Service on Linux and other Unix systems, the login
// keychain on macOS, DPAPI on Windows.
func OSStoreKind() backend.Kind {
	var k backend.Kind
	switch runtime.GOOS {
	case "windows":
		k = backend.KindDPAPI
	case "darwin":
		k = backend.KindKeychain
	case "ios", "android", "js", "wasip1", "plan9":
		return ""
	default:
		k = backend.KindSecretService
	}
	if osKeyStores[k] == nil {
		return ""
	}
	return k
}

func errNoOSStore() error {
	return fmt.Errorf("%w: key source os is not supported on %s yet; use device or passphrase", vaulterr.ErrBackendUnavailable, runtime.GOOS)
}

func (osSource) Name() string      { return OS }
func (osSource) Interactive() bool { return false }

// Backend keeps an os-key vault's objects in encrypted_file: the OS store
// holds the key, files hold the objects. Another backend would keep the key
// in the same store as the objects, where it would show up among them.
func (osSource) Backend(pref backend.Kind) (backend.Kind, error) {
	switch pref {
	case "", backend.KindAuto, backend.KindEncryptedFile:
		return backend.KindEncryptedFile, nil
	}
	return "", fmt.Errorf("key source os needs the encrypted_file backend, this vault uses %s (whose store already protects the objects); choose key source device or passphrase", pref)
}

func (osSource) HostStore() (backend.Kind, error) {
	kind := OSStoreKind()
	if kind == "" {
		return "", fmt.Errorf("no supported secret store on %s", runtime.GOOS)
	}
	return kind, nil
}

func (osSource) Files(Site, *Spec) []string { return nil }

func (osSource) Check(field string, k *Spec) error {
	known := false
	for _, s := range osStoreKinds {
		known = known || s == k.Store
	}
	if !known {
		return fmt.Errorf("%s.store %q is not a known store", field, secret.Excerpt(string(k.Store)))
	}
	if !k.Item.Valid() {
		return fmt.Errorf("%s.item %q must be obj_ followed by 64 lowercase hex digits", field, secret.Excerpt(string(k.Item)))
	}
	if k.File != "" || k.KDF != nil || k.Members != nil {
		return fmt.Errorf("%s: an os key has only a store and an item", field)
	}
	return nil
}

// openOSKeyStore opens the host's secret store for KEKs: the Secret Service
// default collection, the login keychain under service
// dev.palyra.vault.kek, or DPAPI-protected files under
// <state root>/keys/os on Windows.
func openOSKeyStore(ctx context.Context, site Site) (backend.Backend, error) {
	open := osKeyStores[OSStoreKind()]
	if open == nil {
		return nil, errNoOSStore()
	}
	b, err := open(ctx, site)
	if err != nil {
		return nil, osStoreError(err)
	}
	return b, nil
}

// osStoreError names the store in err and keeps its hint, if any.
func osStoreError(err error) error {
	err = fmt.Errorf("opening the OS secret store for the vault key: %w", vaulterr.Translate(err))
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		return &hintError{err: err, hint: h.Hint()}
	}
	return err
}

// hintError carries a hint for the user next to an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// Hint returns advice for the user on one line.
func (e *hintError) Hint() string { return e.hint }

// openOSKeyStoreFor opens the store that holds spec's key, refusing a
// vault whose key lives in another kind of store than this host has.
func openOSKeyStoreFor(ctx context.Context, site Site, spec *Spec) (backend.Backend, error) {
	if have := OSStoreKind(); have != spec.Store {
		return nil, fmt.Errorf("%w: the vault's key is held by %s, which this host does not have (it has %q)", vaulterr.ErrBackendUnavailable, spec.Store, have)
	}
	return openOSKeyStore(ctx, site)
}

// New makes a fresh random key for the vault to keep in this host's secret
// store; Store writes it there.
func (osSource) New(_ context.Context, site Site, _ bool, _ func() ([]byte, error)) (*envelope.KEK, Spec, error) {
	kind := OSStoreKind()
	if kind == "" {
		return nil, Spec{}, errNoOSStore()
	}
	kek := new(envelope.KEK)
	if _, err := rand.Read(kek[:]); err != nil {
		return nil, Spec{}, fmt.Errorf("creating key: %w", err)
	}
	id := KEKIDHex(kek)
	return kek, Spec{Source: OS, KEKID: id, Store: kind, Item: OSKeyItem(site.VaultID, id)}, nil
}

// Store puts kek into spec's item unless it already holds it, then reads
// it back. An item that holds another key is an error.
func (osSource) Store(ctx context.Context, site Site, spec *Spec, kek *envelope.KEK) error {
	s, err := openOSKeyStoreFor(ctx, site, spec)
	if err != nil {
		return err
	}
	defer s.Close()
	have, err := s.Get(ctx, spec.Item)
	switch {
	case err == nil:
		defer clear(have)
		if len(have) != len(kek) || [32]byte(have) != *kek {
			return fmt.Errorf("%w: OS store item %s already holds another key", vaulterr.ErrCorrupt, spec.Item)
		}
		return nil
	case !errors.Is(err, backend.ErrNotFound):
		return fmt.Errorf("storing the vault key in %s: %w", spec.Store, vaulterr.Translate(err))
	}
	if err := s.Put(ctx, spec.Item, kek[:]); err != nil {
		return fmt.Errorf("storing the vault key in %s: %w", spec.Store, vaulterr.Translate(err))
	}
	back, err := s.Get(ctx, spec.Item)
	if err != nil {
		return fmt.Errorf("reading back the vault key from %s: %w", spec.Store, vaulterr.Translate(err))
	}
	defer clear(back)
	if len(back) != len(kek) || [32]byte(back) != *kek {
		return fmt.Errorf("%w: %s returned another key than was stored in item %s", vaulterr.ErrCorrupt, spec.Store, spec.Item)
	}
	return nil
}

// Load reads spec's key from the host's secret store.
func (osSource) Load(ctx context.Context, site Site, spec *Spec, _ func() ([]byte, error)) (*envelope.KEK, error) {
	s, err := openOSKeyStoreFor(ctx, site, spec)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	b, err := s.Get(ctx, spec.Item)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("%w: the vault key (item %s) is missing from %s: it was deleted, or this is another user or host", vaulterr.ErrWrongKey, spec.Item, spec.Store)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the vault key from %s: %w", spec.Store, vaulterr.Translate(err))
	}
	defer clear(b)
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: the vault key item %s in %s holds %d bytes, want 32", vaulterr.ErrCorrupt, spec.Item, spec.Store, len(b))
	}
	kek := new(envelope.KEK)
	copy(kek[:], b)
	if KEKIDHex(kek) != spec.KEKID {
		return kek, fmt.Errorf("%w: the vault key item %s in %s holds key id %s, this vault's key is %s", ErrKeyMismatch, spec.Item, spec.Store, KEKIDHex(kek)[:8], spec.KEKID[:8])
	}
	return kek, nil
}

// Remove deletes spec's item. One already gone is not an error.
func (osSource) Remove(ctx context.Context, site Site, spec *Spec) error {
	s, err := openOSKeyStoreFor(ctx, site, spec)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Delete(ctx, spec.Item); err != nil {
		return fmt.Errorf("removing the old vault key from %s: %w", spec.Store, vaulterr.Translate(err))
	}
	return nil
}
