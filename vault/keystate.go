package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// The key-source file records where a vault's KEK comes from. It lives in
// the vault root as keysource.json (mode 0600, replaced atomically) and is
// specified in docs/FORMAT.md, "Key sources". It holds no secret: only the
// key's source, its public key id, where a device or OS key is kept, the
// Argon2id parameters and salt of a passphrase key, and, during a rotation,
// the next KEK sealed under the current one.
const (
	keySourceFile   = "keysource.json"
	keySourceFormat = "palyra-vault keysource v1"
	// maxKeySourceFileSize bounds what is read from the file: a real one is
	// under 1 KiB.
	maxKeySourceFileSize = 16 << 10
)

// Key source names, as Config.KeySource, KeySourceSpec.Source,
// $PALYRA_VAULT_KEY_SOURCE and Info.KeySource spell them.
const (
	// KeySourceDevice keeps the KEK as 32 random bytes in a file under the
	// state root, outside the vault root.
	KeySourceDevice = "device"
	// KeySourcePassphrase derives the KEK from a passphrase with Argon2id.
	KeySourcePassphrase = "passphrase"
	// KeySourceOS keeps a random KEK in the host's secret store: the Secret
	// Service on Linux, DPAPI on Windows (the macOS keychain is not built
	// yet).
	KeySourceOS = "os"
)

// EnvKeySource names the key source of a new vault when Config.KeySource is
// empty.
const EnvKeySource = "PALYRA_VAULT_KEY_SOURCE"

// KeySources lists the key source names, default first.
func KeySources() []string {
	return []string{KeySourceDevice, KeySourcePassphrase, KeySourceOS}
}

func validSource(s string) bool {
	return s == KeySourceDevice || s == KeySourcePassphrase || s == KeySourceOS
}

// keyState is the content of keysource.json.
type keyState struct {
	Format string `json:"format"`
	// VaultID is the vault's id (Info.ID, from vault.id), copied here when
	// the file is made; it names the vault's OS-store items so two vaults
	// never share one, and binds the file to its vault.
	VaultID string `json:"vault_id"`
	// Active is the KEK that seals new envelopes.
	Active keySpec `json:"active"`
	// Pending is the KEK an unfinished rotation is moving the vault to.
	Pending *pendingKey `json:"pending,omitempty"`
	// Retired is the KEK a finished rotation replaced, while its key
	// material is being deleted.
	Retired *keySpec `json:"retired,omitempty"`
}

// keySpec says where one KEK comes from. Exactly the fields of its source
// are set.
type keySpec struct {
	Source string `json:"source"`
	// KEKID is the key's envelope.KEK.ID in hex: the id that envelopes
	// sealed under it carry, and the check that a key loaded from its
	// source (or derived from a passphrase) is the right one.
	KEKID string `json:"kek_id"`
	// File is the device key's file name in <state root>/keys.
	File string `json:"file,omitempty"`
	// KDF holds the passphrase key's Argon2id parameters and salt.
	KDF *kdfParams `json:"kdf,omitempty"`
	// Store and Item say which OS store holds the key, under which name.
	Store backend.Kind     `json:"store,omitempty"`
	Item  backend.ObjectID `json:"item,omitempty"`
}

// pendingKey is the target of an unfinished rotation: its spec, and the key
// itself sealed under the active KEK, so that any process holding the
// active KEK can read envelopes already rewrapped, and finish the rotation,
// without the new key's passphrase or store.
type pendingKey struct {
	keySpec
	// Wrapped is nonce (12 bytes) || AES-256-GCM(active KEK, nonce, pending
	// KEK, AAD = pendingAAD) (48 bytes).
	Wrapped []byte `json:"wrapped"`
}

var (
	hex32Pattern      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	deviceFilePattern = regexp.MustCompile(`^device(-[0-9a-f]{32})?\.key$`)
)

// kekIDHex returns the hex form of kek's id.
func kekIDHex(kek *envelope.KEK) string {
	id := kek.ID()
	return hex.EncodeToString(id[:])
}

// parseKEKID decodes a validated hex key id.
func parseKEKID(s string) [envelope.KEKIDSize]byte {
	var id [envelope.KEKIDSize]byte
	_, _ = hex.Decode(id[:], []byte(s))
	return id
}

// check validates a spec read from the file.
func (k *keySpec) check(field string) error {
	if !validSource(k.Source) {
		return fmt.Errorf("%s.source %q is not one of device, passphrase, os", field, truncate(k.Source))
	}
	if !hex32Pattern.MatchString(k.KEKID) {
		return fmt.Errorf("%s.kek_id %q must be 32 lowercase hex digits", field, truncate(k.KEKID))
	}
	switch k.Source {
	case KeySourceDevice:
		if !deviceFilePattern.MatchString(k.File) {
			return fmt.Errorf("%s.file %q must be device.key or device-<32 hex digits>.key", field, truncate(k.File))
		}
		if k.KDF != nil || k.Store != "" || k.Item != "" {
			return fmt.Errorf("%s: a device key has only a file", field)
		}
	case KeySourcePassphrase:
		if k.KDF == nil {
			return fmt.Errorf("%s: a passphrase key needs kdf parameters", field)
		}
		if err := k.KDF.check(); err != nil {
			return fmt.Errorf("%s.kdf: %w", field, err)
		}
		if k.File != "" || k.Store != "" || k.Item != "" {
			return fmt.Errorf("%s: a passphrase key has only kdf parameters", field)
		}
	case KeySourceOS:
		if !knownKind(k.Store) {
			return fmt.Errorf("%s.store %q is not a known store", field, truncate(string(k.Store)))
		}
		if !k.Item.Valid() {
			return fmt.Errorf("%s.item %q must be obj_ followed by 64 lowercase hex digits", field, truncate(string(k.Item)))
		}
		if k.File != "" || k.KDF != nil {
			return fmt.Errorf("%s: an os key has only a store and an item", field)
		}
	}
	return nil
}

// describe names the key for messages: its source and the start of its id.
func (k *keySpec) describe() string {
	return fmt.Sprintf("%s key %s", k.Source, k.KEKID[:8])
}

func (s *keyState) check() error {
	if s.Format != keySourceFormat {
		return fmt.Errorf("format %q is not %q (written by a newer palyra?)", truncate(s.Format), keySourceFormat)
	}
	if !hex32Pattern.MatchString(s.VaultID) {
		return fmt.Errorf("vault_id %q must be 32 lowercase hex digits", truncate(s.VaultID))
	}
	if err := s.Active.check("active"); err != nil {
		return err
	}
	if s.Pending != nil {
		if err := s.Pending.check("pending"); err != nil {
			return err
		}
		if len(s.Pending.Wrapped) != envelope.NonceSize+32+envelope.TagSize {
			return fmt.Errorf("pending.wrapped is %d bytes, want %d", len(s.Pending.Wrapped), envelope.NonceSize+32+envelope.TagSize)
		}
		if s.Pending.KEKID == s.Active.KEKID {
			return errors.New("pending.kek_id equals active.kek_id")
		}
	}
	if s.Retired != nil {
		if err := s.Retired.check("retired"); err != nil {
			return err
		}
	}
	return nil
}

// keySourcePath returns the key-source file of the vault at root.
func keySourcePath(root string) string { return filepath.Join(root, keySourceFile) }

// readKeyState reads and validates the key-source file. It returns nil and
// no error when there is none (a vault made before key sources existed, or
// not keyed yet). A file that is unsafe, too large or invalid is an error
// wrapping ErrPermission or ErrCorrupt that names the file.
func readKeyState(root string) (*keyState, error) {
	path := keySourcePath(root)
	if err := fsutil.CheckPrivateFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, permissionError("key source file", err)
	}
	data, err := fsutil.ReadFileLimited(path, maxKeySourceFileSize)
	if err != nil {
		if errors.Is(err, fsutil.ErrTooLarge) {
			return nil, fmt.Errorf("%w: key source file %s: %w", ErrCorrupt, path, err)
		}
		return nil, fmt.Errorf("reading key source file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st keyState
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: key source file %s is not valid: %w", ErrCorrupt, path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: key source file %s has data after its JSON object", ErrCorrupt, path)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("%w: key source file %s: %w", ErrCorrupt, path, err)
	}
	return &st, nil
}

// writeKeyState replaces the key-source file atomically and durably. The
// caller holds the writer lock.
func writeKeyState(root string, st *keyState) error {
	st.Format = keySourceFormat
	if err := st.check(); err != nil {
		return fmt.Errorf("writing key source file: %w", err) // a bug, never user input
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("writing key source file: %w", err)
	}
	if err := fsutil.WriteFileAtomic(keySourcePath(root), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing key source file: %w", err)
	}
	return nil
}

const pendingDomain = "palyra-vault pending-kek v1\x00"

// pendingAAD binds a wrapped pending key to its vault and its id.
func pendingAAD(vaultID, kekID string) []byte {
	return []byte(pendingDomain + vaultID + "\x00" + kekID)
}

func kekAEAD(kek *envelope.KEK) cipher.AEAD {
	block, err := aes.NewCipher(kek[:])
	if err != nil {
		panic("vault: " + err.Error()) // unreachable: a KEK is 32 bytes
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic("vault: " + err.Error())
	}
	return g
}

// wrapPending seals next under active for the pending entry of vaultID.
func wrapPending(active, next *envelope.KEK, vaultID string) ([]byte, error) {
	nonce := make([]byte, envelope.NonceSize, envelope.NonceSize+32+envelope.TagSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("wrapping the new key: %w", err)
	}
	return kekAEAD(active).Seal(nonce, nonce, next[:], pendingAAD(vaultID, kekIDHex(next))), nil
}

// unwrapPending opens a pending entry with active. It fails with ErrCorrupt
// when the entry does not authenticate or holds a key of another id.
func unwrapPending(active *envelope.KEK, p *pendingKey, vaultID string) (*envelope.KEK, error) {
	w := p.Wrapped
	plain, err := kekAEAD(active).Open(nil, w[:envelope.NonceSize], w[envelope.NonceSize:], pendingAAD(vaultID, p.KEKID))
	if err != nil {
		return nil, fmt.Errorf("%w: the pending key in the key source file does not authenticate under the active key", ErrCorrupt)
	}
	defer clear(plain)
	kek := new(envelope.KEK)
	copy(kek[:], plain)
	if kekIDHex(kek) != p.KEKID {
		clear(kek[:])
		return nil, fmt.Errorf("%w: the pending key in the key source file does not match its id", ErrCorrupt)
	}
	return kek, nil
}
