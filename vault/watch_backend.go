package vault

import (
	"context"
	"fmt"

	"github.com/palyra/palyra-vault/vault/backend"
)

// watch is Watch's body: it follows the backend's changes when the
// backend is a shared one that can report them (backend.Watcher), and
// turns each into a Change. The backend's events come from one goroutine,
// in order, and fn is called from that goroutine.
//
// A change of the key-source record (a rotation, a member added or
// removed) and every resync make the vault reread its key state before fn
// hears of it, so that a Get made from fn opens values sealed under the new
// key. Nothing here reads a value: a secret is named from its envelope
// header, which the backend keeps in the clear.
func (v *Vault) watch(ctx context.Context, fn func(Change)) error {
	if !v.Watchable() {
		return ErrNotWatchable
	}
	w := v.backend.(backend.Watcher)
	return w.Watch(ctx, 0, func(e backend.Event) {
		if c, ok := v.change(ctx, e); ok {
			fn(c)
		}
	})
}

// Watchable reports whether Watch can follow this vault: its backend is a
// shared one that reports changes (etcd). Watch returns ErrNotWatchable
// exactly when it is false.
func (v *Vault) Watchable() bool {
	_, ok := v.backend.(backend.Watcher)
	return ok && v.shared != nil
}

// change turns a backend event into a Change, following a key-state
// change first; ok is false for an event no watcher needs.
func (v *Vault) change(ctx context.Context, e backend.Event) (Change, bool) {
	switch e.Kind {
	case backend.EventObject:
		h, err := parseHeaderOf(e.ID, e.Header)
		if err != nil {
			// Not one of ours, or damaged: whoever follows cannot know
			// which secret changed, so it reads them all again.
			return Change{Kind: ChangeResync, Revision: e.Revision,
				Reason: fmt.Sprintf("object %s changed at revision %d, but its header names no secret: %v", e.ID, e.Revision, err)}, true
		}
		return Change{Kind: ChangeSecret, Ref: Ref{Scope: h.Scope, Key: h.Key}, Deleted: e.Deleted, Revision: e.Revision}, true
	case backend.EventRecord:
		reason := fmt.Sprintf("the vault's record %s changed at revision %d", e.Record, e.Revision)
		if e.Record == backend.RecordKeySource {
			reason = fmt.Sprintf("the vault's key state changed at revision %d (a key rotation or a member change)", e.Revision)
		}
		return Change{Kind: ChangeResync, Revision: e.Revision, Reason: v.followKeys(ctx, reason)}, true
	case backend.EventResync:
		return Change{Kind: ChangeResync, Revision: e.Revision, Reason: v.followKeys(ctx, e.Reason)}, true
	case backend.EventLost:
		return Change{Kind: ChangeLost, Revision: e.Revision, Since: e.Since, Reason: e.Reason}, true
	}
	return Change{}, false
}

// followKeys rereads the vault's key state after another host may have
// changed it, and returns reason, with why that failed when it did (the
// keys then follow at the next Get that needs a new key).
func (v *Vault) followKeys(ctx context.Context, reason string) string {
	if err := v.keys.Follow(ctx); err != nil {
		return fmt.Sprintf("%s; rereading the key state failed: %v", reason, err)
	}
	return reason
}
