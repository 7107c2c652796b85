package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/dpapi"
	"github.com/palyra/palyra-vault/vault/backend/keychain"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// An "os" key is 32 random bytes kept by the host's secret store, stored
// through that store's backend under an object id derived from the vault id
// and the key id (osKeyItem), so two vaults, or the two keys of one vault
// during a rotation, never share an item. The vault's envelopes stay in
// encrypted_file: only the 32-byte key goes to the store, which removes the
// stores' size limits from the secrets.

const osKeyDomain = "palyra-vault os-kek v1\x00"

// osKeyItem returns the object id of the OS-store item that holds KEK
// kekID of vault vaultID: "obj_" and the hex SHA-256 of
// "palyra-vault os-kek v1" || 0x00 || vaultID || 0x00 || kekID (both ids in
// lowercase hex).
func osKeyItem(vaultID, kekID string) backend.ObjectID {
	sum := sha256.Sum256([]byte(osKeyDomain + vaultID + "\x00" + kekID))
	return backend.ObjectID(envelope.ObjectIDPrefix + hex.EncodeToString(sum[:]))
}

// osKeyStores holds the openers of the secret stores this build can keep
// KEKs in, by the kind this host has (osKeyStoreKind). Files that import a
// store's package register it in init.
var osKeyStores = map[backend.Kind]func(ctx context.Context, stateRoot string) (backend.Backend, error){
	backend.KindDPAPI: func(_ context.Context, stateRoot string) (backend.Backend, error) {
		return dpapi.New(filepath.Join(stateRoot, "keys", "os"), dpapi.Options{})
	},
	backend.KindKeychain: func(context.Context, string) (backend.Backend, error) {
		return keychain.New(keychain.Options{Service: osKeyKeychainService})
	},
}

// osKeyKeychainService is the keychain service attribute of KEK items, apart
// from the objects' service so the two never mix.
const osKeyKeychainService = "dev.palyra.vault.kek"

// osKeyStoreKind names the secret store of this host, "" when none is
// supported: the Secret Service on Linux and other Unix systems, the login
// keychain on macOS, DPAPI on Windows.
func osKeyStoreKind() backend.Kind {
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

// openOSKeyStore opens the host's secret store for KEKs: the Secret Service
// default collection (through $DBUS_SESSION_BUS_ADDRESS), the login keychain
// under service dev.palyra.vault.kek, or DPAPI-protected files under
// <state root>/keys/os on Windows.
func openOSKeyStore(ctx context.Context, stateRoot string) (backend.Backend, error) {
	open := osKeyStores[osKeyStoreKind()]
	if open == nil {
		return nil, fmt.Errorf("%w: key source os is not supported on %s yet; use device or passphrase", ErrBackendUnavailable, runtime.GOOS)
	}
	b, err := open(ctx, stateRoot)
	if err != nil {
		return nil, osStoreError(err)
	}
	return b, nil
}

// osStoreError names the store in err and keeps its hint, if any.
func osStoreError(err error) error {
	err = fmt.Errorf("opening the OS secret store for the vault key: %w", translate(err))
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
func openOSKeyStoreFor(ctx context.Context, stateRoot string, spec *keySpec) (backend.Backend, error) {
	if have := osKeyStoreKind(); have != spec.Store {
		return nil, fmt.Errorf("%w: the vault's key is held by %s, which this host does not have (it has %q)", ErrBackendUnavailable, spec.Store, have)
	}
	return openOSKeyStore(ctx, stateRoot)
}

// newOSKey makes a fresh random key for vault vaultID to keep in this
// host's secret store; storeOSKey writes it there.
func newOSKey(vaultID string) (*envelope.KEK, keySpec, error) {
	kind := osKeyStoreKind()
	if kind == "" {
		return nil, keySpec{}, fmt.Errorf("%w: key source os is not supported on %s yet; use device or passphrase", ErrBackendUnavailable, runtime.GOOS)
	}
	kek := new(envelope.KEK)
	if _, err := rand.Read(kek[:]); err != nil {
		return nil, keySpec{}, fmt.Errorf("creating key: %w", err)
	}
	id := kekIDHex(kek)
	return kek, keySpec{Source: KeySourceOS, KEKID: id, Store: kind, Item: osKeyItem(vaultID, id)}, nil
}

// storeOSKey puts kek into spec's item unless it already holds it, then
// reads it back. An item that holds another key is an error.
func storeOSKey(ctx context.Context, stateRoot string, spec *keySpec, kek *envelope.KEK) error {
	s, err := openOSKeyStoreFor(ctx, stateRoot, spec)
	if err != nil {
		return err
	}
	defer s.Close()
	have, err := s.Get(ctx, spec.Item)
	switch {
	case err == nil:
		defer clear(have)
		if len(have) != len(kek) || [32]byte(have) != *kek {
			return fmt.Errorf("%w: OS store item %s already holds another key", ErrCorrupt, spec.Item)
		}
		return nil
	case !errors.Is(err, backend.ErrNotFound):
		return fmt.Errorf("storing the vault key in %s: %w", spec.Store, translate(err))
	}
	if err := s.Put(ctx, spec.Item, kek[:]); err != nil {
		return fmt.Errorf("storing the vault key in %s: %w", spec.Store, translate(err))
	}
	back, err := s.Get(ctx, spec.Item)
	if err != nil {
		return fmt.Errorf("reading back the vault key from %s: %w", spec.Store, translate(err))
	}
	defer clear(back)
	if len(back) != len(kek) || [32]byte(back) != *kek {
		return fmt.Errorf("%w: %s returned another key than was stored in item %s", ErrCorrupt, spec.Store, spec.Item)
	}
	return nil
}

// loadOSKey reads spec's key from the host's secret store.
func loadOSKey(ctx context.Context, stateRoot string, spec *keySpec) (*envelope.KEK, error) {
	s, err := openOSKeyStoreFor(ctx, stateRoot, spec)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	b, err := s.Get(ctx, spec.Item)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, fmt.Errorf("%w: the vault key (item %s) is missing from %s: it was deleted, or this is another user or host", ErrWrongKey, spec.Item, spec.Store)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the vault key from %s: %w", spec.Store, translate(err))
	}
	defer clear(b)
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: the vault key item %s in %s holds %d bytes, want 32", ErrCorrupt, spec.Item, spec.Store, len(b))
	}
	kek := new(envelope.KEK)
	copy(kek[:], b)
	if kekIDHex(kek) != spec.KEKID {
		return kek, fmt.Errorf("%w: the vault key item %s in %s holds key id %s, this vault's key is %s", errKeyMismatch, spec.Item, spec.Store, kekIDHex(kek)[:8], spec.KEKID[:8])
	}
	return kek, nil
}

// removeOSKey deletes spec's item. One already gone is not an error.
func removeOSKey(ctx context.Context, stateRoot string, spec *keySpec) error {
	s, err := openOSKeyStoreFor(ctx, stateRoot, spec)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Delete(ctx, spec.Item); err != nil {
		return fmt.Errorf("removing the old vault key from %s: %w", spec.Store, translate(err))
	}
	return nil
}
