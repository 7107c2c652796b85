// Package hostkey is the public-key half of the member key source
// (docs/FLEET.md, "Member keys"): each host's own age X25519 identity,
// made on first use in <state root>/keys/host.agekey (mode 0600), and the
// wrapping of a shared vault's KEK to member hosts' recipients with
// filippo.io/age. It lives apart from package vault so that only the
// program that handles shared vaults (palyra-extra) links age: call
// Register from its main.
package hostkey

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// IdentityFile is the host identity's file name in <state root>/keys.
const IdentityFile = "host.agekey"

// maxIdentitySize bounds the identity file read: a real one is 75 bytes.
const maxIdentitySize = 4 << 10

// Register makes the member key source usable in this process.
func Register() { keysource.RegisterHostKeys(ageKeys{}) }

// IdentityPath returns the file of the host identity under stateRoot.
func IdentityPath(stateRoot string) string {
	return filepath.Join(stateRoot, "keys", IdentityFile)
}

type ageKeys struct{}

func (ageKeys) IdentityPath(stateRoot string) string { return IdentityPath(stateRoot) }

func (ageKeys) Recipient(stateRoot string) (string, error) {
	id, err := identity(stateRoot)
	if err != nil {
		return "", err
	}
	return id.Recipient().String(), nil
}

func (ageKeys) Wrap(kek *envelope.KEK, recipient string) ([]byte, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("recipient %q: %w", recipient, err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("wrapping the vault key to %s: %w", recipient, err)
	}
	if _, err := w.Write(kek[:]); err != nil {
		return nil, fmt.Errorf("wrapping the vault key to %s: %w", recipient, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("wrapping the vault key to %s: %w", recipient, err)
	}
	return buf.Bytes(), nil
}

func (ageKeys) Unwrap(stateRoot string, wrapped []byte) (*envelope.KEK, error) {
	id, err := identity(stateRoot)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(wrapped), id)
	if err != nil {
		return nil, err
	}
	var buf [33]byte
	n, err := io.ReadFull(r, buf[:])
	defer clear(buf[:])
	if err != io.ErrUnexpectedEOF || n != len(envelope.KEK{}) {
		return nil, fmt.Errorf("%w: a wrapped member key does not hold %d bytes", vaulterr.ErrCorrupt, len(envelope.KEK{}))
	}
	kek := new(envelope.KEK)
	copy(kek[:], buf[:n])
	return kek, nil
}

// identity reads the host identity under stateRoot, creating it on first
// use. Creation never replaces an identity another process made first.
func identity(stateRoot string) (*age.X25519Identity, error) {
	path := IdentityPath(stateRoot)
	if err := fsutil.EnsurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, vaulterr.Permission("host key directory", err)
	}
	id, err := readIdentity(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	id, err = age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("creating the host identity: %w", err)
	}
	data := []byte(id.String() + "\n")
	defer clear(data)
	if err := fsutil.CreateFileExclusive(path, data, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readIdentity(path) // another process made it first
		}
		return nil, fmt.Errorf("creating the host identity %s: %w", path, err)
	}
	return id, nil
}

func readIdentity(path string) (*age.X25519Identity, error) {
	if err := fsutil.CheckPrivateFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, vaulterr.Permission("host identity", err)
	}
	data, err := fsutil.ReadFileLimited(path, maxIdentitySize)
	if err != nil {
		return nil, fmt.Errorf("reading the host identity %s: %w", path, err)
	}
	defer clear(data)
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(data)))
	if err != nil {
		// age's error may quote the file's content: never repeat it.
		return nil, fmt.Errorf("%w: the host identity %s is damaged: remove it, and have a member remove and re-add this host (docs/FLEET.md)", vaulterr.ErrCorrupt, path)
	}
	return id, nil
}
