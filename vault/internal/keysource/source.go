// Package keysource is where a vault's key-encryption key (KEK) comes
// from. Each kind of key is a Source in a file of its own (device.go,
// passphrase.go, oskey.go, member.go) listed by name in all; the key-source file
// keysource.json records which keys a vault has (state.go, specified in
// docs/FORMAT.md, "Key sources"); a Keyring holds the KEKs one vault handle
// knows and follows other processes' rotations (keyring.go); and a
// Rotation keeps the bookkeeping of a key rotation (rotation.go), whose
// rewrapping loop package vault drives. A new kind of key is a new file
// here and one line in all, not a branch in package vault.
//
// The package is internal: its API speaks of envelope.KEK, and package
// vault re-exports the names its callers need (vault.KeySourceDevice,
// vault.ErrWrongPassphrase, vault.DeviceKeyPath, ...). Errors wrap the
// vault's sentinels (package vaulterr), so errors.Is(err, vault.ErrCorrupt)
// holds for a damaged key-source file.
package keysource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/internal/errwrap"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// Source names, as keysource.json, vault.Config.KeySource and
// vault.Info.KeySource spell them.
const (
	// Device keeps the KEK as 32 random bytes in a file under the state
	// root, outside the vault root.
	Device = "device"
	// Passphrase derives the KEK from a passphrase with Argon2id.
	Passphrase = "passphrase"
	// OS keeps a random KEK in the host's secret store.
	OS = "os"
)

// all lists every source, the default first. Adding a source is adding it
// here.
var all = []Source{deviceSource{}, passphraseSource{}, osSource{}, memberSource{}}

// Names lists the source names, default first.
func Names() []string {
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name()
	}
	return names
}

// Lookup returns the source called name.
func Lookup(name string) (Source, bool) {
	for _, s := range all {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// Choose returns the source called name, or an error that lists the
// valid names.
func Choose(name string) (Source, error) {
	if s, ok := Lookup(name); ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown key source %q: choose one of %s", secret.Excerpt(name), strings.Join(Names(), ", "))
}

// Site says where one vault's keys live.
type Site struct {
	// StateRoot holds device keys (<StateRoot>/keys) and, on Windows, the
	// DPAPI-protected files of os keys (<StateRoot>/keys/os).
	StateRoot string
	// VaultID is the vault's id (32 lowercase hex digits); it names the
	// vault's OS-store items.
	VaultID string
	// SessionBus is the D-Bus session bus address through which the
	// Secret Service holds os keys; "" when there is none.
	SessionBus string
	// CheapKDF makes new passphrase keys use the cheapest Argon2id
	// parameters (tests only: see vault.ConfigFromEnv).
	CheapKDF bool
}

// A Source makes, stores, loads and deletes one kind of KEK. Its methods
// wrap the vault's sentinels (vaulterr) in their errors: ErrPermission for
// unsafe key files, ErrCorrupt for damaged ones, ErrWrongKey for a key
// that is missing, ErrBackendUnavailable for a store this host lacks.
type Source interface {
	// Name is the source's name in keysource.json.
	Name() string
	// Interactive reports whether loading a key needs input from the user
	// (a passphrase), which a vault handle cannot ask for by itself when
	// another process rotated the vault.
	Interactive() bool
	// Backend returns the backend kind a vault keyed by this source may
	// use, given the preferred one: a kind, or "" or "auto" for automatic
	// choice. It returns pref itself when any backend fits, a kind when
	// automatic choice must not decide, and an error saying why when pref
	// does not fit the source.
	Backend(pref backend.Kind) (backend.Kind, error)
	// New makes a fresh key and the spec that names it. first says it is
	// the vault's first key: a device key is then the state root's shared
	// device.key, created on first use. pass supplies a new passphrase and
	// is called at most once. Apart from the shared device key, the key is
	// not stored yet: see Store.
	New(ctx context.Context, site Site, first bool, pass func() ([]byte, error)) (*envelope.KEK, Spec, error)
	// Store puts kek where spec says the source keeps it, unless it is
	// there already; it never replaces other key material (an error).
	Store(ctx context.Context, site Site, spec *Spec, kek *envelope.KEK) error
	// Load returns spec's key, deriving a passphrase key from what pass
	// returns (called at most once; nil fails with ErrPassphraseRequired).
	// A key whose id is not spec's is returned too, with an error wrapping
	// ErrKeyMismatch.
	Load(ctx context.Context, site Site, spec *Spec, pass func() ([]byte, error)) (*envelope.KEK, error)
	// Remove deletes the material of a key a rotation retired, keeping
	// what other vaults share. Material already gone is not an error.
	Remove(ctx context.Context, site Site, spec *Spec) error
	// Check validates the source's own fields of a spec read from
	// keysource.json; field names the spec ("active") in its errors.
	Check(field string, spec *Spec) error
	// Files lists the files under site that hold spec's key, for
	// permission checks.
	Files(site Site, spec *Spec) []string
	// HostStore reports whether the source works on this host: an error
	// saying why not, or the backend kind of the store it keeps keys in
	// ("" when it needs none), which only works if that store does.
	HostStore() (backend.Kind, error)
}

// Errors of the key sources; package vault re-exports them.
var (
	// ErrWrongPassphrase means the passphrase given for a passphrase vault
	// does not derive the vault's key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrPassphraseRequired means a passphrase is needed and no function
	// to ask for it was given.
	ErrPassphraseRequired = errors.New("passphrase required")
	// ErrKeyRotated means another process rotated the vault's key to one
	// this handle cannot load by itself (a new passphrase).
	ErrKeyRotated = errors.New("vault key was rotated")
	// ErrRotationPending means an interrupted rotation must finish before
	// another can start.
	ErrRotationPending = errors.New("an interrupted key rotation must finish first")
	// ErrKeyMismatch marks a key that its source returned but whose id is
	// not the one the vault records (a replaced device key file). A
	// Keyring keeps such a key for reading headers; sealing under it is
	// refused, and envelopes fail to open with ErrWrongKey.
	ErrKeyMismatch = errwrap.Detail(vaulterr.ErrWrongKey, "the key source holds another key")
)
