package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// Key source names, as Config.KeySource, KeySourceSpec.Source,
// $PALYRA_VAULT_KEY_SOURCE and Info.KeySource spell them. The sources
// themselves live in package vault/internal/keysource, one file each;
// docs/FORMAT.md, "Key sources", specifies what keysource.json records.
const (
	// KeySourceDevice keeps the KEK as 32 random bytes in a file under the
	// state root, outside the vault root.
	KeySourceDevice = keysource.Device
	// KeySourcePassphrase derives the KEK from a passphrase with Argon2id.
	KeySourcePassphrase = keysource.Passphrase
	// KeySourceOS keeps a random KEK in the host's secret store: the Secret
	// Service on Linux, DPAPI on Windows (the macOS keychain is not built
	// yet).
	KeySourceOS = keysource.OS
)

// KeySources lists the key source names, default first.
func KeySources() []string { return keysource.Names() }

// Passphrase length limits, in bytes. The minimum applies to new
// passphrases only; any passphrase is accepted for opening.
const (
	MinPassphraseLen = keysource.MinPassphraseLen
	MaxPassphraseLen = keysource.MaxPassphraseLen
)

var (
	// ErrWrongPassphrase means the passphrase given for a passphrase vault
	// does not derive the vault's key. It is distinct from ErrCorrupt (a
	// damaged object) and ErrWrongKey (an object sealed under another key).
	ErrWrongPassphrase = keysource.ErrWrongPassphrase
	// ErrPassphraseRequired means the vault's key source is "passphrase"
	// and no passphrase function was given (Config.Passphrase or
	// KeySourceSpec.Passphrase is nil).
	ErrPassphraseRequired = keysource.ErrPassphraseRequired
	// ErrKeyRotated means another process rotated the vault's key since
	// this handle opened it, to a key this handle cannot load by itself (a
	// new passphrase). Open the vault again.
	ErrKeyRotated = keysource.ErrKeyRotated
)

// DeviceKeyPath returns where the device key of a state root lives. It is
// outside the vault root, so a copy of the vault directory alone (a backup,
// a sync folder) reveals nothing.
func DeviceKeyPath(stateRoot string) string { return keysource.DeviceKeyPath(stateRoot) }

// keySourceFile is the key-source file's name in the vault root.
const keySourceFile = keysource.FileName

// desiredKeySource returns the key source a new vault should use.
func desiredKeySource(cfg Config) (keysource.Source, error) {
	name := cfg.KeySource
	if name == "" {
		name = KeySourceDevice
	}
	return keysource.Choose(name)
}

// keySite says where the vault's keys live.
func (v *Vault) keySite() keysource.Site {
	return keysource.Site{StateRoot: v.info.StateRoot, VaultID: v.info.ID, SessionBus: v.bus, CheapKDF: v.cheapKDF}
}

// loadKeys reads the vault's key-source file, keying the vault first when
// it has none: a vault that already holds objects (made before key sources
// existed) records its device key; a new one makes a key of the configured
// source. It loads no key of a keyed vault: the first operation that needs
// one does (see Unlock). It sets v.keys and v.info.KeySource.
func (v *Vault) loadKeys(ctx context.Context, cfg Config) error {
	st, rev, err := keysource.Read(ctx, v.info.Root, v.shared)
	if err != nil {
		return err
	}
	if st == nil {
		if err := v.initKeys(ctx, cfg); err != nil {
			return err
		}
	} else {
		v.keys = keysource.NewSharedKeyring(v.info.Root, v.shared, rev, v.keySite(), st, cfg.Passphrase)
	}
	v.info.KeySource = v.keys.Source()
	return nil
}

// Unlock loads the vault's key-encryption key now, asking Config.Passphrase
// for the passphrase of a passphrase vault, instead of at the first Get,
// Put, Delete, Verify, Export or RotateKey that needs it. Open never loads the key,
// so that listing a vault never asks for a passphrase; a caller that wants
// a wrong passphrase reported up front (the daemon, at start) calls Unlock.
// It fails with ErrWrongPassphrase or ErrPassphraseRequired, or with
// ErrWrongKey, ErrCorrupt or ErrBackendUnavailable when a device key is
// missing or damaged or the OS store cannot be reached. A passphrase is
// asked for once per Vault: after a failure, Unlock returns the same error.
func (v *Vault) Unlock(ctx context.Context) error { return v.keys.Load(ctx) }

// seal seals value under h with the vault's current active key. The caller
// holds the writer lock.
func (v *Vault) seal(ctx context.Context, h envelope.Header, value []byte) ([]byte, error) {
	kek, err := v.keys.Sealing(ctx)
	if err != nil {
		return nil, err
	}
	return envelope.Sealer{KEK: kek}.Seal(h, value)
}

// initKeys keys a vault that has no key-source file, under the writer lock.
func (v *Vault) initKeys(ctx context.Context, cfg Config) error {
	unlock, err := v.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	st, rev, err := keysource.Read(ctx, v.info.Root, v.shared)
	if err != nil {
		return err
	}
	if st != nil { // another process keyed it first
		v.keys = keysource.NewSharedKeyring(v.info.Root, v.shared, rev, v.keySite(), st, cfg.Passphrase)
		return nil
	}
	src, err := desiredKeySource(cfg)
	if err != nil {
		return err
	}
	ids, err := v.backend.List(ctx)
	if err != nil {
		return fmt.Errorf("listing objects: %w", translate(err))
	}
	if len(ids) > 0 {
		src, _ = keysource.Lookup(KeySourceDevice) // made before key sources: its objects are under the device key
	}
	if _, err := src.Backend(v.info.Backend); err != nil {
		return err
	}
	kr, err := keysource.Create(ctx, v.info.Root, v.shared, v.keySite(), src, cfg.Passphrase)
	if errors.Is(err, backend.ErrConflict) {
		// Another host keyed the shared vault first: use its key.
		if st, rev, err = keysource.Read(ctx, v.info.Root, v.shared); err == nil && st != nil {
			v.keys = keysource.NewSharedKeyring(v.info.Root, v.shared, rev, v.keySite(), st, cfg.Passphrase)
			return nil
		}
	}
	if err != nil {
		return err
	}
	v.keys = kr
	return nil
}
