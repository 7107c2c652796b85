package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

// idFile names the file in the vault root that holds the vault's ID.
const idFile = "vault.id"

// loadVaultID returns the vault's ID: 32 lowercase hex digits made at random
// when the vault is created and stored in <root>/vault.id (0600). Stores
// shared by every vault of a user (the Secret Service, the Keychain) file a
// vault's objects under it, so two vaults never see each other's objects.
// Creation never replaces an ID another process made first.
func loadVaultID(root string) (string, error) {
	path := filepath.Join(root, idFile)
	id, err := readVaultID(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("creating vault id: %w", err)
	}
	id = hex.EncodeToString(rnd[:])
	if err := fsutil.CreateFileExclusive(path, []byte(id+"\n"), 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readVaultID(path)
		}
		return "", fmt.Errorf("creating vault id: %w", err)
	}
	return id, nil
}

// sharedVaultID returns the id of a vault that many hosts share, from its
// backend's record backend.RecordVaultID, creating the record when no host
// has yet (the first one to write it wins; the others adopt its id).
func sharedVaultID(ctx context.Context, sh backend.Shared) (string, error) {
	for range 2 {
		data, _, err := sh.ReadRecord(ctx, backend.RecordVaultID)
		if err == nil {
			id := strings.TrimSpace(string(data))
			if !isVaultID(id) {
				return "", fmt.Errorf("%w: the shared vault id record does not hold 32 lowercase hex digits", ErrCorrupt)
			}
			return id, nil
		}
		if !errors.Is(err, backend.ErrNotFound) {
			return "", fmt.Errorf("reading the shared vault id: %w", translate(err))
		}
		var rnd [16]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", fmt.Errorf("creating vault id: %w", err)
		}
		id := hex.EncodeToString(rnd[:])
		if _, err := sh.WriteRecord(ctx, backend.RecordVaultID, []byte(id+"\n"), 0); err == nil {
			return id, nil
		} else if !errors.Is(err, backend.ErrConflict) {
			return "", fmt.Errorf("creating the shared vault id: %w", translate(err))
		}
	}
	return "", fmt.Errorf("%w: the shared vault id record changed while it was read", ErrCorrupt)
}

// isVaultID reports whether id is 32 lowercase hex digits.
func isVaultID(id string) bool {
	return len(id) == 32 && strings.Trim(id, "0123456789abcdef") == ""
}

func readVaultID(path string) (string, error) {
	data, err := fsutil.ReadFileLimited(path, 128)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("reading vault id: %w", err)
	}
	id := strings.TrimSpace(string(data))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: %s does not hold 32 lowercase hex digits; restore it from a backup (the vault's objects in shared stores are filed under it)", ErrCorrupt, path)
	}
	return id, nil
}
