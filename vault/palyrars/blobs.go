package palyrars

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/readlimit"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
)

// normalizeObjectID is crypto.rs normalize_storage_object_id: "obj_" and
// 64 hex digits of either case, returned in lower case; ok is false for
// anything else.
func normalizeObjectID(s string) (string, bool) {
	d, ok := strings.CutPrefix(strings.TrimSpace(s), "obj_")
	if !ok || len(d) != 64 {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	return "obj_" + strings.ToLower(d), true
}

// fileBlobs reads backend encrypted_file: objects/objects.store.json (a
// JSON object from object ID to the payload's bytes as an array of
// numbers), and the older layout's objects/obj_* files, one payload each.
// The crate merges the old files into the store when it opens the vault,
// an entry of the store winning over a file of the same ID
// (backend.rs EncryptedFileBackend::new and read_legacy_store); this reader
// gives the same answer without merging.
type fileBlobs struct {
	dir    string
	legacy map[string]string // object ID → file name
	once   sync.Once
	store  map[string][]byte
	err    error
}

func newFileBlobs(dir string) (*fileBlobs, error) {
	f := &fileBlobs{dir: dir, legacy: map[string]string{}}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing the Rust vault's objects %s: %w", dir, err)
	}
	for _, e := range ents {
		// backend.rs read_legacy_store: regular files (no symlink) whose
		// name is an object ID; the store and its temporaries are not.
		if !e.Type().IsRegular() {
			continue
		}
		if id, ok := normalizeObjectID(e.Name()); ok {
			f.legacy[id] = e.Name()
		}
	}
	return f, nil
}

func (f *fileBlobs) loadStore() {
	path := filepath.Join(f.dir, storeFile)
	b, err := fsutil.ReadFileLimited(path, MaxStoreSize)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		f.err = fmt.Errorf("reading the Rust vault's object store %s: %w", path, err)
		return
	}
	defer clear(b)
	if err := json.Unmarshal(b, &f.store); err != nil {
		f.err = fmt.Errorf("parsing the Rust vault's object store %s: %w", path, err)
	}
}

func (f *fileBlobs) get(_ context.Context, id string) ([]byte, error) {
	f.once.Do(f.loadStore)
	if f.err != nil {
		return nil, f.err
	}
	key, ok := normalizeObjectID(id)
	if !ok {
		return nil, fmt.Errorf("%w: object id %q is not obj_ and 64 hex digits", ErrDamaged, truncate(id))
	}
	if p, ok := f.store[key]; ok {
		return bytes.Clone(p), nil
	}
	if name, ok := f.legacy[key]; ok {
		return fsutil.ReadFileLimited(filepath.Join(f.dir, name), maxObjectSize)
	}
	return nil, fmt.Errorf("%w: no object %s in %s", ErrNotFound, key, f.dir)
}

// The Secret Service and Keychain names the crate uses (backend.rs
// SECRET_TOOL_SERVICE_ATTR, SECRET_TOOL_SERVICE_NAME, SECRET_TOOL_KEY_ATTR,
// KEYCHAIN_SERVICE_NAME).
const (
	ServiceAttr = "service"
	ServiceName = "palyra.vault.v1"
	KeyAttr     = "key"
)

// decodeStored decodes what the crate stores in a keyring: the payload in
// unpadded standard base64, as text (backend.rs put_blob of
// LinuxSecretServiceBackend and MacosKeychainBackend); surrounding white
// space is dropped, as the crate's get_blob does.
func decodeStored(b []byte) ([]byte, error) {
	p, err := b64.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: keyring item is not unpadded base64", ErrDamaged)
	}
	return p, nil
}

// secretServiceBlobs reads backend linux_secret_service: items with the
// attributes service=palyra.vault.v1 and key=<object id>, which the crate
// writes with secret-tool. It searches once and keeps the payloads.
type secretServiceBlobs struct {
	address string
	once    sync.Once
	items   map[string][]byte
	err     error
}

func (s *secretServiceBlobs) load(ctx context.Context) {
	items, err := secretservice.Search(ctx, secretservice.Options{Address: s.address}, map[string]string{ServiceAttr: ServiceName})
	if err != nil {
		s.err = fmt.Errorf("reading the Rust vault's Secret Service items: %w", err)
		return
	}
	s.items = map[string][]byte{}
	for _, it := range items {
		if id, ok := normalizeObjectID(it.Attributes[KeyAttr]); ok && it.Attributes[KeyAttr] == id {
			s.items[id] = it.Secret
		} else {
			clear(it.Secret)
		}
	}
}

func (s *secretServiceBlobs) get(ctx context.Context, id string) ([]byte, error) {
	s.once.Do(func() { s.load(ctx) })
	if s.err != nil {
		return nil, s.err
	}
	b, ok := s.items[id]
	if !ok {
		return nil, fmt.Errorf("%w: no Secret Service item with %s=%s and %s=%s", ErrNotFound, ServiceAttr, ServiceName, KeyAttr, truncate(id))
	}
	return decodeStored(b)
}

// keychainBlobs reads backend macos_keychain: generic passwords with
// account <object id> and service palyra.vault.v1, read with
// `security find-generic-password -w -a <id> -s palyra.vault.v1` as the
// crate does (no secret is in argv: only the object ID).
type keychainBlobs struct{ tool string }

func (k *keychainBlobs) get(ctx context.Context, id string) ([]byte, error) {
	tool := k.tool
	if tool == "" {
		tool = "/usr/bin/security"
	}
	if _, ok := normalizeObjectID(id); !ok {
		return nil, fmt.Errorf("%w: object id %q is not obj_ and 64 hex digits", ErrDamaged, truncate(id))
	}
	cmd := exec.CommandContext(ctx, tool, "find-generic-password", "-w", "-a", id, "-s", ServiceName)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("reading the keychain item %s: %w", id, err)
	}
	b, rerr := readlimit.ReadAll(out, maxObjectSize, 0)
	defer clear(b)
	if rerr != nil {
		_ = cmd.Process.Kill()
	}
	err = cmd.Wait()
	if rerr != nil {
		return nil, fmt.Errorf("reading the keychain item %s: %w", id, rerr)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(strings.ToLower(msg), "could not be found") {
			return nil, fmt.Errorf("%w: no keychain item with account %s and service %s", ErrNotFound, id, ServiceName)
		}
		return nil, fmt.Errorf("reading the keychain item %s: %s: %w", id, truncate(msg), err)
	}
	return decodeStored(b)
}

// dpapiBlobs reads backend windows_dpapi: objects_dpapi/<object id>, each
// a DPAPI blob of the payload for the current user.
type dpapiBlobs struct{ dir string }

func (d *dpapiBlobs) get(_ context.Context, id string) ([]byte, error) {
	// backend.rs WindowsDpapiBackend::object_path: lowercase letters,
	// digits, '_' and '-'.
	if _, ok := normalizeObjectID(id); !ok || id != strings.ToLower(id) {
		return nil, fmt.Errorf("%w: object id %q is not obj_ and 64 lowercase hex digits", ErrDamaged, truncate(id))
	}
	b, err := fsutil.ReadFileLimited(filepath.Join(d.dir, id), maxObjectSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no DPAPI object %s in %s", ErrNotFound, id, d.dir)
	}
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return dpapiUnprotect(b)
}
