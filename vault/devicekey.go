package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// DeviceKeyPath returns where the device key of a state root lives. It is
// outside the vault root, so a copy of the vault directory alone (a backup,
// a sync folder) reveals nothing.
func DeviceKeyPath(stateRoot string) string {
	return filepath.Join(stateRoot, "keys", "device.key")
}

// loadDeviceKey reads the device key, creating it (32 random bytes, 0600) on
// first use. Creation never replaces a key another process made first: the
// new key is linked into place, which fails if a key already exists.
func loadDeviceKey(stateRoot string) (*envelope.KEK, error) {
	path := DeviceKeyPath(stateRoot)
	if err := fsutil.EnsurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, permissionError("device key directory", err)
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

// deviceKeyFilePath returns the path of the device key file named name
// (device.key or device-<key id>.key) under the state root.
func deviceKeyFilePath(stateRoot, name string) string {
	return filepath.Join(stateRoot, "keys", name)
}

// sharedDeviceKeyFile is the device key every vault of a state root starts
// with. Rotation never deletes it, since other vaults may use it.
const sharedDeviceKeyFile = "device.key"

// newDeviceKey makes a fresh random device key for a rotation. Its file,
// device-<key id>.key, is written by storeDeviceKey.
func newDeviceKey() (*envelope.KEK, keySpec, error) {
	kek := new(envelope.KEK)
	if _, err := rand.Read(kek[:]); err != nil {
		return nil, keySpec{}, fmt.Errorf("creating device key: %w", err)
	}
	id := kekIDHex(kek)
	return kek, keySpec{Source: KeySourceDevice, KEKID: id, File: "device-" + id + ".key"}, nil
}

// storeDeviceKey writes kek to spec's file unless it is already there. It
// never replaces a file: one that holds another key is an error.
func storeDeviceKey(stateRoot string, spec *keySpec, kek *envelope.KEK) error {
	path := deviceKeyFilePath(stateRoot, spec.File)
	if err := fsutil.EnsurePrivateDir(filepath.Dir(path)); err != nil {
		return permissionError("device key directory", err)
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
		return fmt.Errorf("%w: device key %s already exists and holds another key", ErrCorrupt, path)
	}
	return nil
}

// loadDeviceKeyFile reads the device key of spec. A missing file is an
// error that says what it means; a key of another id is returned with
// errKeyMismatch, so the vault can still list (and report) its secrets.
func loadDeviceKeyFile(stateRoot string, spec *keySpec) (*envelope.KEK, error) {
	path := deviceKeyFilePath(stateRoot, spec.File)
	kek, err := readDeviceKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: device key %s is missing: restore it from a backup (without it the vault's secrets cannot be opened)", ErrWrongKey, path)
	}
	if err != nil {
		return nil, err
	}
	if got := kekIDHex(kek); got != spec.KEKID {
		return kek, fmt.Errorf("%w: device key %s has key id %s but this vault's key is %s; was it replaced?", errKeyMismatch, path, got[:8], spec.KEKID[:8])
	}
	return kek, nil
}

// removeDeviceKey deletes a rotated-away device key file, never the shared
// device.key. A file already gone is not an error.
func removeDeviceKey(stateRoot string, spec *keySpec) error {
	if spec.File == sharedDeviceKeyFile {
		return nil
	}
	path := deviceKeyFilePath(stateRoot, spec.File)
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
		return nil, permissionError("device key", err)
	}
	data, err := fsutil.ReadFileLimited(path, 64)
	if err != nil {
		return nil, fmt.Errorf("reading device key: %w", err)
	}
	defer clear(data)
	if len(data) != len(envelope.KEK{}) {
		return nil, fmt.Errorf("%w: device key %s is %d bytes, expected %d; it was damaged: restore it from a backup (without it the vault's secrets cannot be opened)",
			ErrCorrupt, path, len(data), len(envelope.KEK{}))
	}
	kek := new(envelope.KEK)
	copy(kek[:], data)
	return kek, nil
}
