package palyrars

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
)

// Limits on what is read from a Rust vault.
const (
	// MaxStoreSize is the crate's own cap on objects.store.json
	// (backend.rs MAX_OBJECTS_STORE_BYTES); metadata.json gets the same.
	MaxStoreSize = 32 << 20
	// maxObjectSize bounds one legacy object file, DPAPI file or keyring
	// item: the crate's values are at most 64 KiB by default
	// (api.rs DEFAULT_MAX_SECRET_BYTES), their envelopes about 4/3 of that.
	maxObjectSize = 8 << 20

	metadataVersion = 1 // metadata.rs METADATA_VERSION
)

// ErrNotFound means the Rust vault has no secret of that scope and key.
var ErrNotFound = errors.New("secret not found in the Rust vault")

// ErrNotVault means the directory holds no Rust vault.
var ErrNotVault = errors.New("not a Rust Palyra vault")

// Options say which Rust vault to open.
type Options struct {
	// Root is the vault root (the directory holding backend.kind and
	// metadata.json). Required.
	Root string
	// IdentityStore is the identity store directory; empty means the
	// vault root's sibling "identity" (IdentityStoreFor).
	IdentityStore string
	// SessionBus is the D-Bus session bus address for a vault on
	// linux_secret_service; empty means $DBUS_SESSION_BUS_ADDRESS.
	SessionBus string
	// SecurityPath is the macOS security tool for a vault on
	// macos_keychain; empty means /usr/bin/security.
	SecurityPath string
	// MetadataOnly skips deriving the vault key: Entries works (listing
	// needs no key), Value fails with ErrNoKey.
	MetadataOnly bool
}

// Entry describes one secret of a Rust vault, as its metadata.json says.
type Entry struct {
	// Scope is the scope in the crate's storage form (scope.rs
	// as_storage_str): "global", "principal:<id>", "channel:<name>:<id>"
	// or "skill:<id>".
	Scope string `json:"scope"`
	// Key is the secret's key as stored.
	Key string `json:"key"`
	// ObjectID names the object that holds the envelope.
	ObjectID string `json:"object_id"`
	// Created and Updated are the crate's times, to the millisecond, UTC.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Size is the value's length as metadata.json records it.
	Size int `json:"size"`
}

// Ref returns the entry's scope and key as a reference of this module.
func (e Entry) Ref() secret.Ref { return secret.Ref{Scope: e.Scope, Key: e.Key} }

// Vault is a Rust vault opened read-only. It holds the vault key; Close
// wipes it.
type Vault struct {
	root, identity string
	kind           backend.Kind
	kek            KEK
	keyed          bool
	entries        []Entry
	blobs          blobReader
	warnings       []string
}

// blobReader gets the stored payload (an envelope's JSON) of one object.
type blobReader interface {
	get(ctx context.Context, id string) ([]byte, error)
}

// Open opens the Rust vault opts describe, read-only: it reads the marker
// and metadata.json, derives the vault key from the identity store
// (DeriveKEK) and prepares the backend the marker names; it creates,
// locks, merges and chmods nothing. Files whose modes the crate would
// tighten are reported by Warnings. It fails with ErrNotVault when the
// directory holds no Rust vault and with ErrNoKey when the key cannot be
// derived.
func Open(ctx context.Context, opts Options) (*Vault, error) {
	if opts.Root == "" {
		return nil, errors.New("opening a Rust vault: no vault root given")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	ident := opts.IdentityStore
	if ident == "" {
		ident = IdentityStoreFor(root)
	}
	if ident, err = filepath.Abs(ident); err != nil {
		return nil, err
	}
	v := &Vault{root: root, identity: ident}
	kind, _, err := readMarker(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no backend.kind marker; point --from at the Rust Palyra's vault directory", ErrNotVault, root)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the Rust vault at %s: reading its backend marker: %w", root, err)
	}
	if !slices.Contains(Kinds, kind) {
		return nil, fmt.Errorf("%w: %s names backend %q, which the Rust Palyra does not write", ErrNotVault, filepath.Join(root, markerFile), truncate(string(kind)))
	}
	v.kind = kind
	if v.entries, err = readMetadata(root); err != nil {
		return nil, err
	}
	v.checkModes()
	if !opts.MetadataOnly {
		if v.kek, err = DeriveKEK(ident); err != nil {
			return nil, err
		}
		v.keyed = true
	}
	switch kind {
	case backend.KindEncryptedFile:
		v.blobs, err = newFileBlobs(filepath.Join(root, objectsDir))
	case backend.KindSecretService:
		v.blobs = &secretServiceBlobs{address: opts.SessionBus}
	case backend.KindKeychain:
		v.blobs = &keychainBlobs{tool: opts.SecurityPath}
	case backend.KindDPAPI:
		v.blobs = &dpapiBlobs{dir: filepath.Join(root, dpapiDir)}
	}
	if err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// checkModes reports, without changing them, the paths the crate would
// make owner-only (filesystem.rs ensure_owner_only_dir and
// ensure_owner_only_file, store.rs FilesystemSecretStore::new) that are
// not: fsutil.Check's rule.
func (v *Vault) checkModes() {
	for _, p := range []struct {
		path string
		dir  bool
	}{
		{v.root, true},
		{filepath.Join(v.root, markerFile), false},
		{filepath.Join(v.root, metadataFile), false},
		{filepath.Join(v.root, objectsDir), true},
		{filepath.Join(v.root, objectsDir, storeFile), false},
		{v.identity, true},
		{filepath.Join(v.identity, storeKeyFile), false},
	} {
		if err := fsutil.Check(p.path, p.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			v.warnings = append(v.warnings, err.Error()+" (left as it is: this vault is read-only here)")
		}
	}
}

// Root returns the vault root.
func (v *Vault) Root() string { return v.root }

// IdentityStore returns the identity store the key came from.
func (v *Vault) IdentityStore() string { return v.identity }

// Kind returns the backend the vault's marker names.
func (v *Vault) Kind() backend.Kind { return v.kind }

// Warnings returns what Open found and left as it was: paths with
// modes looser than owner-only.
func (v *Vault) Warnings() []string { return slices.Clone(v.warnings) }

// Entries returns every secret metadata.json lists, sorted by scope then
// key.
func (v *Vault) Entries() []Entry { return slices.Clone(v.entries) }

// Close wipes the vault key. The Vault is unusable afterwards.
func (v *Vault) Close() { clear(v.kek[:]) }

// Lookup returns the entry for scope (in storage form, or as a user
// types it: it is canonicalized with secret.ParseScope) and key.
func (v *Vault) Lookup(scope, key string) (Entry, error) {
	want := scope
	if s, err := secret.ParseScope(scope); err == nil {
		want = s
	}
	for _, e := range v.entries {
		if (e.Scope == scope || canonical(e.Scope) == want) && e.Key == key {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, secret.Ref{Scope: scope, Key: key})
}

// canonical returns this module's canonical form of a stored scope, or the
// scope itself when this module's grammar refuses it.
func canonical(scope string) string {
	if s, err := secret.ParseScope(scope); err == nil {
		return s
	}
	return scope
}

// Get returns the value of the secret scope and key. The caller wipes it.
func (v *Vault) Get(ctx context.Context, scope, key string) (secret.SensitiveBytes, Entry, error) {
	e, err := v.Lookup(scope, key)
	if err != nil {
		return secret.SensitiveBytes{}, e, err
	}
	val, err := v.Value(ctx, e)
	return val, e, err
}

// Value opens the envelope of entry e (api.rs get_secret): the object
// metadata.json names, with the additional data of e's scope and key.
// It fails with ErrDamaged, ErrWrongKey or ErrNotFound (no object).
func (v *Vault) Value(ctx context.Context, e Entry) (secret.SensitiveBytes, error) {
	if !v.keyed {
		return secret.SensitiveBytes{}, fmt.Errorf("%w: the vault was opened for its metadata only", ErrNoKey)
	}
	payload, err := v.blobs.get(ctx, e.ObjectID)
	if err != nil {
		return secret.SensitiveBytes{}, fmt.Errorf("reading %s (object %s): %w", e.Ref(), e.ObjectID, err)
	}
	defer clear(payload)
	val, err := openEnvelope(payload, &v.kek, AAD(e.Scope, e.Key))
	if err != nil {
		return secret.SensitiveBytes{}, fmt.Errorf("opening %s: %w", e.Ref(), err)
	}
	return secret.NewSensitiveBytes(val), nil
}

// Record is one secret read by ReadAll: its entry, and its value or why
// it could not be read.
type Record struct {
	Entry Entry
	Value secret.SensitiveBytes
	Err   error
}

// ReadAll opens every secret. When there is at least one and none opens
// because its data key does not open under the vault key, the identity
// store is not this vault's: it wipes what it read and fails with an error
// wrapping ErrNoKey. Otherwise each record holds its value or its error.
// The caller wipes the values.
func (v *Vault) ReadAll(ctx context.Context) ([]Record, error) {
	recs := make([]Record, len(v.entries))
	wrong := 0
	for i, e := range v.entries {
		if err := ctx.Err(); err != nil {
			WipeRecords(recs)
			return nil, err
		}
		recs[i].Entry = e
		recs[i].Value, recs[i].Err = v.Value(ctx, e)
		if errors.Is(recs[i].Err, ErrWrongKey) {
			wrong++
		}
	}
	if len(recs) > 0 && wrong == len(recs) {
		WipeRecords(recs)
		return nil, fmt.Errorf("%w: the key derived from the identity store %s opens none of the %d secrets of %s: it is another installation's identity store; point --identity-store at this vault's", ErrNoKey, v.identity, len(recs), v.root)
	}
	return recs, nil
}

// WipeRecords wipes the values of recs.
func WipeRecords(recs []Record) {
	for i := range recs {
		recs[i].Value.Wipe()
	}
}

// metadataFileJSON is metadata.rs MetadataFile.
type metadataFileJSON struct {
	Version uint32 `json:"version"`
	Entries []struct {
		Scope     json.RawMessage `json:"scope"`
		Key       string          `json:"key"`
		ObjectID  string          `json:"object_id"`
		CreatedMS int64           `json:"created_at_unix_ms"`
		UpdatedMS int64           `json:"updated_at_unix_ms"`
		Size      int             `json:"value_bytes"`
	} `json:"entries"`
}

// readMetadata reads metadata.json (metadata.rs read_metadata).
func readMetadata(root string) ([]Entry, error) {
	path := filepath.Join(root, metadataFile)
	b, err := fsutil.ReadFileLimited(path, MaxStoreSize)
	if errors.Is(err, os.ErrNotExist) {
		// The crate writes metadata.json whenever it opens a vault
		// (api.rs:110, metadata.rs:67-75): without it, this is not one.
		return nil, fmt.Errorf("%w: %s has no metadata.json", ErrNotVault, root)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Rust vault's metadata %s: %w", path, err)
	}
	var m metadataFileJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing the Rust vault's metadata %s: %w", path, err)
	}
	if m.Version != metadataVersion {
		return nil, fmt.Errorf("the Rust vault's metadata %s has version %d, this build reads version %d", path, m.Version, metadataVersion)
	}
	out := make([]Entry, 0, len(m.Entries))
	for i, me := range m.Entries {
		scope, err := storageScope(me.Scope)
		if err != nil {
			return nil, fmt.Errorf("the Rust vault's metadata %s: entry %d: %w", path, i+1, err)
		}
		out = append(out, Entry{
			Scope: scope, Key: me.Key, ObjectID: me.ObjectID,
			Created: time.UnixMilli(me.CreatedMS).UTC(), Updated: time.UnixMilli(me.UpdatedMS).UTC(), Size: me.Size,
		})
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		if c := strings.Compare(a.Scope, b.Scope); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// storageScope turns the crate's serialized scope (scope.rs VaultScope,
// tagged by "kind") into its storage form (as_storage_str).
func storageScope(raw json.RawMessage) (string, error) {
	var s struct {
		Kind        string  `json:"kind"`
		PrincipalID *string `json:"principal_id"`
		ChannelName *string `json:"channel_name"`
		AccountID   *string `json:"account_id"`
		SkillID     *string `json:"skill_id"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("scope: %w", err)
	}
	need := func(p *string, field string) (string, error) {
		if p == nil {
			return "", fmt.Errorf("scope of kind %q has no %s", s.Kind, field)
		}
		return *p, nil
	}
	switch s.Kind {
	case "global":
		return "global", nil
	case "principal":
		id, err := need(s.PrincipalID, "principal_id")
		return "principal:" + id, err
	case "skill":
		id, err := need(s.SkillID, "skill_id")
		return "skill:" + id, err
	case "channel":
		name, err := need(s.ChannelName, "channel_name")
		if err != nil {
			return "", err
		}
		acct, err := need(s.AccountID, "account_id")
		return "channel:" + name + ":" + acct, err
	}
	return "", fmt.Errorf("scope kind %q is not one the crate writes (global, principal, channel, skill)", truncate(s.Kind))
}
