// Package backend defines the contract between a vault and the store that
// holds its sealed envelopes.
//
// A Backend stores opaque blobs (sealed envelopes) under object IDs. It never
// sees a scope, a key or a plaintext value: the vault seals a secret before
// it reaches the backend and derives the object ID from scope and key with a
// one-way hash. Every implementation must pass the conformance suite in
// package backendtest.
//
// Error contract: implementations wrap exactly these sentinels so callers can
// use errors.Is:
//
//   - ErrNotFound from Get when no object has that ID;
//   - ErrUnavailable when the store cannot be reached or used at all
//     (service missing, collection locked, prompt dismissed, timeout);
//   - ErrTooLarge from Put when the blob exceeds MaxBlobSize;
//   - ErrPermission when the store exists but its permissions are unsafe or
//     deny access;
//   - ErrUnreachable (which wraps ErrUnavailable) when a networked store
//     did not answer within its deadline;
//   - ErrConflict from the writes of Shared when the guarding revision
//     changed.
//
// Errors never contain blob contents.
package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/errwrap"
)

// Kind names a backend. It is what the vault writes in its backend.kind
// marker, so the values are stable on-disk identifiers.
type Kind string

// The backend kinds this module knows.
const (
	// KindAuto is not a backend: it asks Open to choose the most secure
	// backend the host offers.
	KindAuto Kind = "auto"
	// KindEncryptedFile stores one file per object under the vault root.
	KindEncryptedFile Kind = "encrypted_file"
	// KindSecretService stores items in the freedesktop Secret Service over D-Bus.
	KindSecretService Kind = "linux_secret_service"
	// KindKeychain stores generic passwords in the macOS login keychain.
	KindKeychain Kind = "macos_keychain"
	// KindDPAPI stores CryptProtectData blobs as files on Windows.
	KindDPAPI Kind = "windows_dpapi"
	// KindEtcd stores objects in an etcd cluster that many hosts share
	// (package etcdstore, linked only into palyra-extra).
	KindEtcd Kind = "etcd"
)

// Sentinel errors of the backend contract.
var (
	// ErrNotFound means no object has the requested ID.
	ErrNotFound = errors.New("object not found")
	// ErrUnavailable means the backend cannot be used on this host right now.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrTooLarge means a blob exceeds the backend's MaxBlobSize.
	ErrTooLarge = errors.New("object too large for backend")
	// ErrPermission means unsafe or denied permissions on the backing store.
	ErrPermission = errors.New("permission problem")
	// ErrUnreachable means a networked store (an etcd cluster) did not
	// answer within the call's deadline. It wraps ErrUnavailable.
	ErrUnreachable = errwrap.New("store unreachable", ErrUnavailable)
	// ErrConflict means a guarded write of a Shared backend stored nothing
	// because the record guarding it changed since it was read.
	ErrConflict = errors.New("write conflict: the guarding record changed")
)

// ObjectID names one stored object: "obj_" followed by 64 lowercase hex
// digits (see docs/FORMAT.md for its derivation). It reveals neither the
// scope nor the key of the secret it holds.
type ObjectID string

// Valid reports whether id has the form obj_<64 lowercase hex digits>.
// Backends must refuse invalid IDs, since file backends use them as names.
// (A byte loop, not a regexp: a package-level regexp would be compiled at
// the start of every palyra command.)
func (id ObjectID) Valid() bool {
	const prefix = "obj_"
	s, ok := strings.CutPrefix(string(id), prefix)
	if !ok || len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckID returns an error naming the rule when id is not a valid ObjectID.
func CheckID(id ObjectID) error {
	if !id.Valid() {
		return fmt.Errorf("invalid object id %q: must be \"obj_\" followed by 64 lowercase hex digits", string(id))
	}
	return nil
}

// Backend stores sealed blobs by object ID. Implementations are safe for
// concurrent use by multiple goroutines. Cross-process writers are serialised
// by the vault's lock, not by the backend; still, every Put must be atomic
// (a reader sees the old blob or the new one, never a mix) and durable once
// it returns nil.
type Backend interface {
	// Kind reports which backend this is.
	Kind() Kind
	// MaxBlobSize is the largest blob Put accepts, in bytes.
	MaxBlobSize() int
	// Put stores blob under id, replacing any previous blob. It fails with
	// ErrTooLarge (before touching the store) when len(blob) > MaxBlobSize().
	Put(ctx context.Context, id ObjectID, blob []byte) error
	// Get returns the blob stored under id, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id ObjectID) ([]byte, error)
	// Delete removes the object. It reports whether an object existed;
	// deleting a missing object is not an error.
	Delete(ctx context.Context, id ObjectID) (existed bool, err error)
	// List returns the IDs of every stored object, in no particular order.
	List(ctx context.Context) ([]ObjectID, error)
	// Close releases connections and handles. The backend is unusable after.
	Close() error
}

// HeaderReader is implemented by backends that can return the first bytes of
// a blob more cheaply than the whole blob (for example by reading only the
// start of a file). The vault uses it to list secrets without reading
// ciphertext.
type HeaderReader interface {
	// GetPrefix returns at most n bytes from the start of the blob under id,
	// or an error wrapping ErrNotFound.
	GetPrefix(ctx context.Context, id ObjectID, n int) ([]byte, error)
}

// Describer is implemented by backends that can say, in one line, where and
// how they store objects (for example which collection and which transport
// the Secret Service uses). `palyra secrets backend` shows it.
type Describer interface {
	// Describe returns a one-line description; it never contains secrets.
	Describe() string
}

// Prefix is the start of one stored blob, as HeaderLister returns it.
type Prefix struct {
	ID ObjectID
	// Data is at most PrefixQuery.Max bytes from the start of the blob,
	// shortened to what PrefixQuery.Keep kept; nil when Err is set.
	Data []byte
	// Err says why the blob could not be read, as GetPrefix would have
	// failed (wrapping ErrNotFound when it vanished during the listing).
	Err error
}

// PrefixQuery says what HeaderLister.ListPrefixes returns.
type PrefixQuery struct {
	// Max is the most bytes returned from the start of each blob.
	Max int
	// Keep, when not nil, tells how many bytes of a blob's prefix (of at
	// most Max bytes) the caller needs, for example the length of the
	// envelope header it starts with; Data holds only those. A result out
	// of range keeps the whole prefix.
	Keep func(prefix []byte) int
	// CacheKey keys the MAC of any cache the backend keeps to answer
	// without reading every blob. It binds the cache to its store (the
	// vault derives it from the vault ID) and detects damage; it need not
	// be secret, since the cache is no more trusted than the blobs beside
	// it. A cache under another key, damaged or stale, is ignored and
	// rebuilt from the blobs. Nil means answer from the blobs only.
	CacheKey []byte
}

// HeaderLister is implemented by backends that can return the first bytes
// of every blob at once more cheaply than List and one GetPrefix per
// object, for example from a cache of them. The vault uses it for List.
// A cache is never the source of truth: a backend that keeps one checks it
// against the store and reads the blobs themselves when in doubt; its
// package documentation says what that check can and cannot see.
type HeaderLister interface {
	// ListPrefixes returns the prefixes of every stored object, in no
	// particular order. An object it could not read has Err set; the
	// error returned is for a failure to list at all.
	ListPrefixes(ctx context.Context, q PrefixQuery) ([]Prefix, error)
}

// HealthChecker is implemented by networked backends that can check, for
// "palyra secrets doctor", every server they would use and the permissions
// they need.
type HealthChecker interface {
	// Health returns nil when every server answers and the store may be
	// read and written; otherwise an error naming each failure.
	Health(ctx context.Context) error
}

// Record names of the vault's shared records (see Shared).
const (
	// RecordVaultID holds the vault id: 32 lowercase hex digits and a
	// newline, as vault.id does in a local vault root.
	RecordVaultID = "vault.id"
	// RecordKeySource holds the key-source state, as keysource.json does
	// in a local vault root (docs/FORMAT.md, "Key sources").
	RecordKeySource = "keysource.json"
)

// Shared is implemented by backends that many hosts use at once (etcd).
// Such a backend also keeps the vault's shared records, which a local vault
// keeps as files in its vault root (the vault id, the key-source state), so
// that every host sees one vault; and its writes can be guarded by the
// revision of a record, so that an envelope sealed under a key that another
// host has just replaced is refused instead of stored.
type Shared interface {
	// ReadRecord returns the record called name (RecordVaultID,
	// RecordKeySource) and its revision, a positive number that changes
	// with every write, or an error wrapping ErrNotFound.
	ReadRecord(ctx context.Context, name string) (data []byte, rev int64, err error)
	// WriteRecord stores data as record name when the record's revision
	// is still rev (0: when it does not exist) and returns the new
	// revision; otherwise it stores nothing and fails with an error
	// wrapping ErrConflict.
	WriteRecord(ctx context.Context, name string, data []byte, rev int64) (int64, error)
	// PutGuarded is Put, done only when record guard still has revision
	// rev; otherwise it stores nothing and fails with an error wrapping
	// ErrConflict.
	PutGuarded(ctx context.Context, id ObjectID, blob []byte, guard string, rev int64) error
}

// Lock names of a Locker.
const (
	// LockKeyState is held by whatever changes the vault's key state for
	// every host at once: a key rotation (and member changes).
	LockKeyState = "keystate"
)

// Locker is implemented by shared backends that can hold a lock for every
// host at once (etcd: a key bound to a lease). What a host's file lock
// cannot make exclusive across hosts (a key rotation) holds it.
type Locker interface {
	// Lock takes the exclusive lock called name (LockKeyState), waiting
	// while another holds it until ctx is done; it then fails with an
	// error wrapping ctx.Err() that names the holder. The lock lives on a
	// lease the backend keeps alive while the process runs: a holder that
	// dies (even by kill -9) loses it when the lease expires.
	Lock(ctx context.Context, name string) (HeldLock, error)
}

// HeldLock is a lock taken by Locker.Lock.
type HeldLock interface {
	// Lost is closed when the lock was lost before Unlock (its lease
	// expired: the cluster was out of reach for longer than the lease's
	// time to live); whatever the holder does under it must stop.
	Lost() <-chan struct{}
	// Holder names this holder as others waiting see it.
	Holder() string
	// Unlock releases the lock and its lease.
	Unlock(ctx context.Context) error
}

// ObjectGuarded is implemented by Shared backends whose guarded writes can
// also compare the object's own revision, and return the object as it is
// when that comparison fails, in the same round trip. A writer can then
// store on a guess (the object is absent, or unchanged since this writer
// stored it) and pay a second round trip only when the guess was wrong.
type ObjectGuarded interface {
	// PutIfAt stores blob under id when record guard is at revision rev
	// and the object at revision objRev (0: absent), and returns the
	// object's new revision. Otherwise it stores nothing and fails with an
	// error wrapping ErrConflict, returning at most n bytes from the start
	// of the object as it is now and its revision (nil and 0 when it is
	// absent), read in the same transaction.
	PutIfAt(ctx context.Context, id ObjectID, blob []byte, guard string, rev, objRev int64, n int) (newRev int64, cur []byte, curRev int64, err error)
	// GetRev is Get that also returns the object's revision, as PutIfAt
	// compares it.
	GetRev(ctx context.Context, id ObjectID) (blob []byte, rev int64, err error)
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	// EventObject: an object was stored or deleted (Event.ID,
	// Event.Header, Event.Deleted).
	EventObject EventKind = iota + 1
	// EventRecord: a shared record was written or deleted (Event.Record).
	EventRecord
	// EventResync: events may have been missed (the store is reachable
	// again, or the revision the watch stood at was compacted away); the
	// watcher now follows from Event.Revision, and whoever keeps state
	// read from the store reads it again.
	EventResync
	// EventLost: the store cannot be reached (Event.Since, Event.Reason);
	// the watcher keeps trying and reports EventResync when it is back.
	EventLost
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventObject:
		return "object"
	case EventRecord:
		return "record"
	case EventResync:
		return "resync"
	case EventLost:
		return "lost"
	}
	return "unknown"
}

// Event is one change a Watcher reports. It never holds a blob, only the
// header a blob starts with, which the store keeps in the clear anyway.
type Event struct {
	Kind EventKind
	// ID names the object (EventObject).
	ID ObjectID
	// Header is the start of the object's blob (at least its whole
	// envelope header when the blob is an envelope), as stored, or as it
	// was before a delete (EventObject). Nil when the store no longer
	// holds it; the vault then cannot name the secret.
	Header []byte
	// Deleted says the object or record was deleted rather than written.
	Deleted bool
	// Record names the shared record (EventRecord): RecordVaultID or
	// RecordKeySource.
	Record string
	// Revision is the store's revision of the change, or the revision a
	// resync follows from.
	Revision int64
	// Since is when the store last answered (EventLost).
	Since time.Time
	// Reason says why (EventResync, EventLost), on one line; it names
	// endpoints and revisions, never a value.
	Reason string
}

// Watcher is implemented by shared backends that can report the changes
// other hosts make (etcd).
type Watcher interface {
	// Watch reports, to fn from one goroutine and in the store's order,
	// every change of the vault's objects and shared records after
	// revision from (0: from now, and then its first report is
	// EventResync naming the revision it follows from, or EventLost),
	// until ctx is done; it then returns
	// ctx.Err(). It never returns otherwise: a store out of reach is
	// reported as EventLost and retried with backoff, and reported as
	// EventResync once back; so is a revision compacted away.
	Watch(ctx context.Context, from int64, fn func(Event)) error
}
