package keysource

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// A device key is 32 random bytes in a file under <state root>/keys. Every
// vault of a state root starts with the shared device.key; a rotation
// makes device-<key id>.key, which a later rotation deletes.
type deviceSource struct{}

// sharedDeviceKeyFile is the device key every vault of a state root starts
// with. Rotation never deletes it, since other vaults may use it.
const sharedDeviceKeyFile = "device.key"

// DeviceKeyPath returns where the shared device key of a state root lives.
// It is outside the vault root, so a copy of the vault directory alone (a
// backup, a sync folder) reveals nothing.
func DeviceKeyPath(stateRoot string) string {
	return deviceKeyFilePath(stateRoot, sharedDeviceKeyFile)
}

// deviceKeyFilePath returns the path of the device key file named name
// (device.key or device-<key id>.key) under the state root.
func deviceKeyFilePath(stateRoot, name string) string {
	return filepath.Join(stateRoot, "keys", name)
}

func (deviceSource) Name() string      { return Device }
func (deviceSource) Interactive() bool { return false }

func (deviceSource) Backend(pref backend.Kind) (backend.Kind, error) { return pref, nil }

func (deviceSource) HostStore() (backend.Kind, error) { return "", nil }

func (deviceSource) Files(site Site, spec *Spec) []string {
	return []string{deviceKeyFilePath(site.StateRoot, spec.File)}
}

// validDeviceFile reports whether name is device.key or
// device-<32 lowercase hex digits>.key.
func validDeviceFile(name string) bool {
	if name == sharedDeviceKeyFile {
		return true
	}
	id, ok := strings.CutPrefix(name, "device-")
	if !ok {
		return false
	}
	id, ok = strings.CutSuffix(id, ".key")
	return ok && isHex32(id)
}

func (deviceSource) Check(field string, k *Spec) error {
	if !validDeviceFile(k.File) {
		return fmt.Errorf("%s.file %q must be device.key or device-<32 hex digits>.key", field, secret.Excerpt(k.File))
	}
	if k.KDF != nil || k.Store != "" || k.Item != "" || k.Members != nil {
		return fmt.Errorf("%s: a device key has only a file", field)
	}
	return nil
}

// New returns the shared device key (made on first use) for a vault's
// first key, and otherwise a fresh random key whose file,
// device-<key id>.key, Store writes.
func (deviceSource) New(_ context.Context, site Site, first bool, _ func() ([]byte, error)) (*envelope.KEK, Spec, error) {
	if first {
		kek, err := loadSharedDeviceKey(site.StateRoot)
		if err != nil {
			return nil, Spec{}, err
		}
		return kek, Spec{Source: Device, KEKID: KEKIDHex(kek), File: sharedDeviceKeyFile}, nil
	}
	kek := new(envelope.KEK)
	if _, err := rand.Read(kek[:]); err != nil {
		return nil, Spec{}, fmt.Errorf("creating device key: %w", err)
	}
	id := KEKIDHex(kek)
	return kek, Spec{Source: Device, KEKID: id, File: "device-" + id + ".key"}, nil
}

// loadSharedDeviceKey reads the shared device key, creating it (32 random
// bytes, 0600) on first use. Creation never replaces a key another process
// made first: the new key is linked into place, which fails if a key
// already exists.
func loadSharedDeviceKey(stateRoot string) (*envelope.KEK, error) {
	path := DeviceKeyPath(stateRoot)
	if err := fsutil.EnsurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, vaulterr.Permission("device key directory", err)
	}
	kek, err := readDeviceKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return kek, err
	}
	kek = new(envelope.KEK)
	if _, err := rand.Read(kek[:]); err != nil {
		return nil, fmt.Errorf("creating device key: %w", err)
	}
	if err := fsutil.CreateFileExclusive(path, kek[:], 0o600); err != nil {
		clear(kek[:])
		if errors.Is(err, fs.ErrExist) {
			return readDeviceKey(path) // another process made it first
		}
		return nil, fmt.Errorf("creating device key %s: %w", path, err)
	}
	return kek, nil
}

// Store writes kek to spec's file unless it is already there. It never
// replaces a file: one that holds another key is an error.
func (deviceSource) Store(_ context.Context, site Site, spec *Spec, kek *envelope.KEK) error {
	path := deviceKeyFilePath(site.StateRoot, spec.File)
	if err := fsutil.EnsurePrivateDir(filepath.Dir(path)); err != nil {
		return vaulterr.Permission("device key directory", err)
	}
	err := fsutil.CreateFileExclusive(path, kek[:], 0o600)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating device key %s: %w", path, err)
	}
	have, err := readDeviceKey(path)
	if err != nil {
		return err
	}
	defer clear(have[:])
	if *have != *kek {
		return fmt.Errorf("%w: device key %s already exists and holds another key", vaulterr.ErrCorrupt, path)
	}
	return nil
}

// Load reads the device key of spec. A missing file is an error that says
// what it means; a key of another id is returned with ErrKeyMismatch, so
// the vault can still list (and report) its secrets.
func (deviceSource) Load(_ context.Context, site Site, spec *Spec, _ func() ([]byte, error)) (*envelope.KEK, error) {
	path := deviceKeyFilePath(site.StateRoot, spec.File)
	kek, err := readDeviceKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: device key %s is missing: restore it from a backup (without it the vault's secrets cannot be opened)", vaulterr.ErrWrongKey, path)
	}
	if err != nil {
		return nil, err
	}
	if got := KEKIDHex(kek); got != spec.KEKID {
		return kek, fmt.Errorf("%w: device key %s has key id %s but this vault's key is %s; was it replaced?", ErrKeyMismatch, path, got[:8], spec.KEKID[:8])
	}
	return kek, nil
}

// Remove deletes a rotated-away device key file, never the shared
// device.key. A file already gone is not an error.
func (deviceSource) Remove(_ context.Context, site Site, spec *Spec) error {
	if spec.File == sharedDeviceKeyFile {
		return nil
	}
	path := deviceKeyFilePath(site.StateRoot, spec.File)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing old device key: %w", err)
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("removing old device key: %w", err)
	}
	return nil
}

func readDeviceKey(path string) (*envelope.KEK, error) {
	if err := fsutil.CheckPrivateFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, vaulterr.Permission("device key", err)
	}
	data, err := fsutil.ReadFileLimited(path, 64)
	if err != nil {
		return nil, fmt.Errorf("reading device key: %w", err)
	}
	defer clear(data)
	if len(data) != len(envelope.KEK{}) {
		return nil, fmt.Errorf("%w: device key %s is %d bytes, expected %d; it was damaged: restore it from a backup (without it the vault's secrets cannot be opened)",
			vaulterr.ErrCorrupt, path, len(data), len(envelope.KEK{}))
	}
	kek := new(envelope.KEK)
	copy(kek[:], data)
	return kek, nil
}
