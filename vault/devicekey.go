package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
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
