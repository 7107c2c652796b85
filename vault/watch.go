package vault

import (
	"context"
	"errors"
	"time"
)

// ErrNotWatchable is returned at once by Watch when the vault's backend
// cannot report changes made by others (every backend but etcd: a local
// vault has no other writers worth following).
var ErrNotWatchable = errors.New("this vault's backend cannot be watched for changes (only a shared vault on etcd can)")

// ChangeKind says what a Change reports.
type ChangeKind int

const (
	// ChangeSecret: one secret was stored or deleted (Change.Ref,
	// Change.Deleted), by this host or another.
	ChangeSecret ChangeKind = iota + 1
	// ChangeResync: changes may have been missed (the connection came
	// back, or the revision the watch stood at was compacted away) or the
	// vault's key state changed (a rotation, a member removed): whoever
	// holds values read from the vault reads every one of them again.
	ChangeResync
	// ChangeLost: the vault cannot be reached; values read before may be
	// stale from Change.Since on. Watch keeps trying (with backoff) and
	// reports ChangeResync when it is back.
	ChangeLost
)

// String names the kind: "secret", "resync" or "lost".
func (k ChangeKind) String() string {
	switch k {
	case ChangeSecret:
		return "secret"
	case ChangeResync:
		return "resync"
	case ChangeLost:
		return "lost"
	}
	return "unknown"
}

// Change is one report of Watch. It never holds a value.
type Change struct {
	Kind ChangeKind
	// Ref names the secret (ChangeSecret).
	Ref Ref
	// Deleted says the secret was deleted rather than stored
	// (ChangeSecret).
	Deleted bool
	// Revision is the backend's revision of the change, or of the state
	// a resync reads from (0 when unknown).
	Revision int64
	// Since is when the vault was last known to be reachable
	// (ChangeLost).
	Since time.Time
	// Reason says why (ChangeResync, ChangeLost), on one line, safe to log:
	// it names endpoints and revisions, never a value.
	Reason string
}

// Watch follows the vault's changes until ctx is done, calling fn for each
// change from one goroutine, in order, and returns ctx.Err() then. For a
// backend that cannot be watched it returns ErrNotWatchable at once.
//
// Its first report is ChangeResync, once it follows the backend (naming
// the revision it follows from), or ChangeLost when the backend cannot be
// reached: a caller that read values before calling Watch reads them again
// then, and misses no change made in between.
//
// Losing the backend is reported as ChangeLost and retried with backoff;
// getting it back as ChangeResync. A key-state change is followed (the
// vault reloads its keys, so Get opens what was sealed under the new key)
// and reported as ChangeResync.
func (v *Vault) Watch(ctx context.Context, fn func(Change)) error {
	return v.watch(ctx, fn)
}
