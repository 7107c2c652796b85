package palyrars

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"golang.org/x/crypto/chacha20poly1305"
)

// The identity store and key derivation constants, as the crates name them.
const (
	storeMagic = "IDS1" // palyra-identity store.rs SECRET_STORE_ENCRYPTION_MAGIC

	// palyra-vault crypto.rs: IDENTITY_STATE_BUNDLE_KEY, LEGACY_CA_STATE_KEY,
	// KEY_DERIVATION_SALT, KEY_DERIVATION_INFO.
	bundleEntry = "identity/state.v1.json"
	caEntry     = "identity/ca/state.json"
	kekSalt     = "palyra.vault.kek.v1"
	kekInfo     = "envelope:kek"

	// maxIdentityEntry bounds an identity store file this package reads:
	// the CA state is a certificate and a key, a few kilobytes; the state
	// bundle grows with paired devices.
	maxIdentityEntry = 16 << 20
)

// ErrNoKey means the vault's key could not be derived from the identity
// store: the store, its key file or the CA private key is missing, damaged
// or belongs to another store. Nothing was read from the vault.
var ErrNoKey = errors.New("cannot derive the Rust vault's key")

// KEK is the 32-byte key-encryption key of a Rust vault.
type KEK [32]byte

// DeriveKEK derives the vault key from the identity store at dir exactly as
// the crate does (palyra-vault crypto.rs derive_device_kek), reading the
// store key file and at most two entries and changing nothing: where the
// crate creates a missing key file or a missing CA, it fails with an error
// wrapping ErrNoKey.
func DeriveKEK(dir string) (KEK, error) {
	var kek KEK
	key, err := readStoreKey(dir)
	if err != nil {
		return kek, err
	}
	defer clear(key[:])
	seed, err := kekSeed(dir, &key)
	if err != nil {
		return kek, err
	}
	defer clear(seed)
	return kekFromSeed(seed), nil
}

// kekFromSeed is crypto.rs derive_kek_from_seed_material: HKDF-SHA256 with
// the salt and info above over SHA-256 of the seed, 32 bytes out.
func kekFromSeed(seed []byte) KEK {
	var kek KEK
	ikm := sha256.Sum256(seed)
	out, err := hkdf.Key(sha256.New, ikm[:], []byte(kekSalt), kekInfo, len(kek))
	clear(ikm[:])
	if err != nil { // only for a length over 255*32
		panic("palyrars: hkdf: " + err.Error())
	}
	copy(kek[:], out)
	clear(out)
	return kek
}

// readStoreKey reads the identity store's encryption key
// (store.rs read_store_encryption_key): 32 raw bytes, DPAPI-protected on
// Windows.
func readStoreKey(dir string) ([32]byte, error) {
	var key [32]byte
	path := filepath.Join(dir, storeKeyFile)
	raw, err := fsutil.ReadFileLimited(path, 4096)
	if err != nil {
		return key, fmt.Errorf("%w: reading the identity store key %s: %w; point --identity-store at the Rust Palyra's identity directory", ErrNoKey, path, err)
	}
	defer clear(raw)
	plain, err := unwrapStoreKey(raw)
	if err != nil {
		return key, fmt.Errorf("%w: unwrapping the identity store key %s: %w", ErrNoKey, path, err)
	}
	defer clear(plain)
	if len(plain) != len(key) {
		return key, fmt.Errorf("%w: the identity store key %s is %d bytes, not %d: it is damaged", ErrNoKey, path, len(plain), len(key))
	}
	copy(key[:], plain)
	return key, nil
}

// readEntry reads and decrypts one identity store entry
// (store.rs key_path and decrypt_secret_payload): the file named by the
// hex of the entry's name; content "IDS1" || nonce(12) || ciphertext ||
// tag(16) under the store key with empty additional data, or plaintext when
// it does not start with "IDS1".
func readEntry(dir, name string, key *[32]byte) ([]byte, error) {
	b, err := fsutil.ReadFileLimited(filepath.Join(dir, hex.EncodeToString([]byte(name))), maxIdentityEntry)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte(storeMagic)) {
		return b, nil
	}
	defer clear(b)
	if len(b) < len(storeMagic)+chacha20poly1305.NonceSize {
		return nil, errors.New("identity store payload header is truncated")
	}
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		return nil, err
	}
	nonce := b[len(storeMagic) : len(storeMagic)+chacha20poly1305.NonceSize]
	plain, err := aead.Open(nil, nonce, b[len(storeMagic)+chacha20poly1305.NonceSize:], nil)
	if err != nil {
		return nil, errors.New("identity store entry does not decrypt with the store's key (another store's key file, or a damaged entry)")
	}
	return plain, nil
}

// kekSeed returns the KEK's seed material (crypto.rs
// load_kek_seed_material): the CA private key PEM from the state bundle
// when it holds one, else from the CA state. Like the crate, any failure to
// read or use the bundle falls through to the CA state.
func kekSeed(dir string, key *[32]byte) ([]byte, error) {
	if b, err := readEntry(dir, bundleEntry, key); err == nil {
		seed, err := seedFromState(b)
		clear(b)
		if err == nil {
			return seed, nil
		}
	}
	b, err := readEntry(dir, caEntry, key)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the identity CA state in %s: %w", ErrNoKey, dir, err)
	}
	defer clear(b)
	seed, err := seedFromState(b)
	if err != nil {
		return nil, fmt.Errorf("%w: identity CA state in %s: %w", ErrNoKey, dir, err)
	}
	return seed, nil
}

// seedFromState is crypto.rs extract_kek_seed_material: the bytes of the
// string at /ca/private_key_pem, else at /private_key_pem; one that is
// empty or white space is an error.
func seedFromState(b []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("parsing identity state: %w", err)
	}
	// serde_json's pointer and get match names exactly; encoding/json's
	// struct fields would not, so the maps are read by hand.
	var pem *string
	var ca map[string]json.RawMessage
	if json.Unmarshal(top["ca"], &ca) == nil {
		pem = jsonString(ca["private_key_pem"])
	}
	if pem == nil {
		pem = jsonString(top["private_key_pem"])
	}
	if pem == nil {
		return nil, errors.New("identity state has no CA private key (ca.private_key_pem or private_key_pem)")
	}
	if strings.TrimSpace(*pem) == "" {
		return nil, errors.New("identity state holds an empty CA private key")
	}
	return []byte(*pem), nil
}

// jsonString returns the string raw holds, or nil when it holds none.
func jsonString(raw json.RawMessage) *string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return &s
}
