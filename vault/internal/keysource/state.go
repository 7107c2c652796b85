package keysource

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// The key-source file records where a vault's KEK comes from. It lives in
// the vault root as keysource.json (mode 0600, replaced atomically) and is
// specified in docs/FORMAT.md, "Key sources". It holds no secret: only the
// key's source, its public key id, where a device or OS key is kept, the
// Argon2id parameters and salt of a passphrase key, and, during a rotation,
// the next KEK sealed under the current one.
const (
	// FileName is the key-source file's name in the vault root.
	FileName = "keysource.json"
	format   = "palyra-vault keysource v1"
	// maxFileSize bounds what is read from the file or the shared record:
	// a real one is under 1 KiB, or about 0.5 KiB per member of a member
	// key (twice that during a rotation), at most MaxMembers of them.
	maxFileSize = 512 << 10
)

// State is the content of keysource.json.
type State struct {
	Format string `json:"format"`
	// VaultID is the vault's id (vault.id), copied here when the file is
	// made; it names the vault's OS-store items so two vaults never share
	// one, and binds the file to its vault.
	VaultID string `json:"vault_id"`
	// Active is the KEK that seals new envelopes.
	Active Spec `json:"active"`
	// Pending is the KEK an unfinished rotation is moving the vault to.
	Pending *Pending `json:"pending,omitempty"`
	// Retired is the KEK a finished rotation replaced, while its key
	// material is being deleted.
	Retired *Spec `json:"retired,omitempty"`

	// stamp is the file info of keysource.json taken by ReadState just
	// before it read the file: a Keyring made from this state remembers
	// it, and need not read the file again while it is unchanged.
	stamp fs.FileInfo
}

// Spec says where one KEK comes from. Exactly the fields of its source are
// set.
type Spec struct {
	Source string `json:"source"`
	// KEKID is the key's envelope.KEK.ID in hex: the id that envelopes
	// sealed under it carry, and the check that a key loaded from its
	// source (or derived from a passphrase) is the right one.
	KEKID string `json:"kek_id"`
	// File is the device key's file name in <state root>/keys.
	File string `json:"file,omitempty"`
	// KDF holds the passphrase key's Argon2id parameters and salt.
	KDF *KDFParams `json:"kdf,omitempty"`
	// Store and Item say which OS store holds the key, under which name.
	Store backend.Kind     `json:"store,omitempty"`
	Item  backend.ObjectID `json:"item,omitempty"`
	// Members holds a member key's copies, one per member host.
	Members []MemberWrap `json:"members,omitempty"`
}

// Pending is the target of an unfinished rotation: its spec, and the key
// itself sealed under the active KEK, so that any process holding the
// active KEK can read envelopes already rewrapped, and finish the rotation,
// without the new key's passphrase or store.
type Pending struct {
	Spec
	// Wrapped is nonce (12 bytes) || AES-256-GCM(active KEK, nonce, pending
	// KEK, AAD = pendingAAD) (48 bytes). A pending member key has none:
	// the rotation that removes a member must not hand its new key to the
	// removed host, which holds the active one; the members' own copies
	// (Spec.Members) carry it instead.
	Wrapped []byte `json:"wrapped,omitempty"`
}

// PendingSpec returns the pending key's spec, or nil.
func (s *State) PendingSpec() *Spec {
	if s.Pending == nil {
		return nil
	}
	return &s.Pending.Spec
}

// isHex32 reports whether s is 32 lowercase hex digits.
func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// KEKIDHex returns the hex form of kek's id, as Spec.KEKID holds it.
func KEKIDHex(kek *envelope.KEK) string {
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
func (k *Spec) check(field string) error {
	src, ok := Lookup(k.Source)
	if !ok {
		return fmt.Errorf("%s.source %q is not one of %s", field, secret.Excerpt(k.Source), strings.Join(Names(), ", "))
	}
	if !isHex32(k.KEKID) {
		return fmt.Errorf("%s.kek_id %q must be 32 lowercase hex digits", field, secret.Excerpt(k.KEKID))
	}
	return src.Check(field, k)
}

func (s *State) check() error {
	if s.Format != format {
		return fmt.Errorf("format %q is not %q (written by a newer palyra?)", secret.Excerpt(s.Format), format)
	}
	if !isHex32(s.VaultID) {
		return fmt.Errorf("vault_id %q must be 32 lowercase hex digits", secret.Excerpt(s.VaultID))
	}
	if err := s.Active.check("active"); err != nil {
		return err
	}
	if s.Pending != nil {
		if err := s.Pending.check("pending"); err != nil {
			return err
		}
		if s.Pending.Source == Member {
			if len(s.Pending.Wrapped) != 0 {
				return errors.New("pending.wrapped must be absent for a member key")
			}
		} else if len(s.Pending.Wrapped) != envelope.NonceSize+32+envelope.TagSize {
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

// Path returns the key-source file of the vault at root.
func Path(root string) string { return filepath.Join(root, FileName) }

// ReadState reads and validates the key-source file of the vault at root.
// It returns nil and no error when there is none (a vault made before key
// sources existed, or not keyed yet). A file that is unsafe, too large or
// invalid is an error wrapping ErrPermission or ErrCorrupt that names the
// file.
func ReadState(root string) (*State, error) {
	path := Path(root)
	if err := fsutil.CheckPrivateFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, vaulterr.Permission("key source file", err)
	}
	var ps fsutil.PathStamp
	stamp, _ := ps.Current(path) // before reading: a change after it is seen later
	data, err := fsutil.ReadFileLimited(path, maxFileSize)
	if err != nil {
		if errors.Is(err, fsutil.ErrTooLarge) {
			return nil, fmt.Errorf("%w: key source file %s: %w", vaulterr.ErrCorrupt, path, err)
		}
		return nil, fmt.Errorf("reading key source file: %w", err)
	}
	st, err := parseState(data, "key source file "+path)
	if err != nil {
		return nil, err
	}
	st.stamp = stamp
	return st, nil
}

// parseState decodes and checks a key-source state read from where.
func parseState(data []byte, where string) (*State, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", vaulterr.ErrCorrupt, where, maxFileSize)
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not valid JSON of its format: %w", vaulterr.ErrCorrupt, where, err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", vaulterr.ErrCorrupt, where, err)
	}
	return st, nil
}

// Read reads the key-source state of the vault at root: the file
// keysource.json, or, when shared is not nil (a backend that many hosts
// share), its record backend.RecordKeySource, with the record's revision
// (0 for the file). Like ReadState, it returns nil and no error when there
// is none.
func Read(ctx context.Context, root string, shared backend.Shared) (*State, int64, error) {
	if shared == nil {
		st, err := ReadState(root)
		return st, 0, err
	}
	data, rev, err := shared.ReadRecord(ctx, backend.RecordKeySource)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading the shared key source record: %w", vaulterr.Translate(err))
	}
	st, err := parseState(data, "the shared key source record")
	return st, rev, err
}

// Where names where the key-source state lives, for messages.
func Where(root string, shared backend.Shared) string {
	if shared != nil {
		return "the shared key source record"
	}
	return "key source file " + Path(root)
}

// WriteState replaces the key-source file of the vault at root atomically
// and durably. The caller holds the vault's writer lock.
func WriteState(root string, st *State) error {
	data, err := encodeState(st)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(Path(root), data, 0o600); err != nil {
		return fmt.Errorf("writing key source file: %w", err)
	}
	return nil
}

func encodeState(st *State) ([]byte, error) {
	st.Format = format
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("writing key source file: %w", err) // a bug, never user input
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing key source file: %w", err)
	}
	return append(data, '\n'), nil
}

// Write stores st: in the file (rev is ignored and 0 returned), or, when
// shared is not nil, in the shared record if its revision is still rev (0:
// if there is none), returning the new revision; otherwise it fails with
// an error wrapping backend.ErrConflict and stores nothing.
func Write(ctx context.Context, root string, shared backend.Shared, st *State, rev int64) (int64, error) {
	if shared == nil {
		return 0, WriteState(root, st)
	}
	data, err := encodeState(st)
	if err != nil {
		return 0, err
	}
	nrev, err := shared.WriteRecord(ctx, backend.RecordKeySource, data, rev)
	if err != nil {
		if errors.Is(err, backend.ErrConflict) {
			return 0, fmt.Errorf("writing the shared key source record: another host changed it meanwhile; run the command again: %w", err)
		}
		return 0, fmt.Errorf("writing the shared key source record: %w", vaulterr.Translate(err))
	}
	return nrev, nil
}

const pendingDomain = "palyra-vault pending-kek v1\x00"

// pendingAAD binds a wrapped pending key to its vault and its id.
func pendingAAD(vaultID, kekID string) []byte {
	return []byte(pendingDomain + vaultID + "\x00" + kekID)
}

func kekAEAD(kek *envelope.KEK) cipher.AEAD {
	block, err := aes.NewCipher(kek[:])
	if err != nil {
		panic("keysource: " + err.Error()) // unreachable: a KEK is 32 bytes
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic("keysource: " + err.Error())
	}
	return g
}

// wrapPending seals next under active for the pending entry of vaultID.
func wrapPending(active, next *envelope.KEK, vaultID string) ([]byte, error) {
	nonce := make([]byte, envelope.NonceSize, envelope.NonceSize+32+envelope.TagSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("wrapping the new key: %w", err)
	}
	return kekAEAD(active).Seal(nonce, nonce, next[:], pendingAAD(vaultID, KEKIDHex(next))), nil
}

// unwrapPending opens a pending entry with active. It fails with ErrCorrupt
// when the entry does not authenticate or holds a key of another id.
func unwrapPending(active *envelope.KEK, p *Pending, vaultID string) (*envelope.KEK, error) {
	w := p.Wrapped
	plain, err := kekAEAD(active).Open(nil, w[:envelope.NonceSize], w[envelope.NonceSize:], pendingAAD(vaultID, p.KEKID))
	if err != nil {
		return nil, fmt.Errorf("%w: the pending key in the key source file does not authenticate under the active key", vaulterr.ErrCorrupt)
	}
	defer clear(plain)
	kek := new(envelope.KEK)
	copy(kek[:], plain)
	if KEKIDHex(kek) != p.KEKID {
		clear(kek[:])
		return nil, fmt.Errorf("%w: the pending key in the key source file does not match its id", vaulterr.ErrCorrupt)
	}
	return kek, nil
}
