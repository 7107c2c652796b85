package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// ErrRotationPending means an earlier key rotation was interrupted and must
// be finished (RotateKey to the same source, or with an empty source)
// before a rotation to another source can start.
var ErrRotationPending = keysource.ErrRotationPending

// KeySourceSpec names the key a rotation moves the vault to.
type KeySourceSpec struct {
	// Source is "device", "passphrase" or "os"; empty means the vault's
	// current source (a fresh key of the same kind).
	Source string
	// Passphrase supplies the new passphrase when Source is "passphrase".
	// It is called at most once, and not at all when RotateKey finishes an
	// interrupted rotation; the returned slice is wiped after use. A new
	// passphrase must be MinPassphraseLen to MaxPassphraseLen bytes.
	Passphrase func() ([]byte, error)
}

// RotateReport says what RotateKey did.
type RotateReport struct {
	// From and To are the sources of the old and the new key.
	From string `json:"from"`
	To   string `json:"to"`
	// OldKeyID and NewKeyID are the keys' public ids (hex), as envelopes
	// carry them.
	OldKeyID string `json:"old_key_id"`
	NewKeyID string `json:"new_key_id"`
	// Rewrapped counts the envelopes this call rewrapped; Skipped those
	// already under the new key (rewrapped by an interrupted earlier call).
	Rewrapped int `json:"rewrapped"`
	Skipped   int `json:"skipped"`
	// Resumed reports that the call finished an interrupted rotation
	// instead of starting a new one.
	Resumed bool `json:"resumed"`
}

// rotateHook, when set by a test, is called at each step of a rotation
// ("pending", "stored", "rewrapped", "switched", "dropped"), so that a test
// can kill the process at a known point.
var rotateHook func(step string)

func rotateStep(step string) {
	if rotateHook != nil {
		rotateHook(step)
	}
}

// RotateKey replaces the vault's key-encryption key with a new one from
// to.Source and rewraps every envelope's 32-byte data key under it; the
// secrets' ciphertext is copied unchanged (docs/FORMAT.md, "KEK
// rotation"). Changing the passphrase of a passphrase vault is a rotation
// to a new passphrase key.
//
// It holds the writer lock throughout (on a vault that many hosts share,
// also the backend's key-state lock: backend.Locker) and keeps the vault whole whatever
// instant the process dies at:
//
//  1. record the new key as pending in keysource.json, together with a
//     copy sealed under the current key, so every process holding the
//     current key can open envelopes already rewrapped;
//  2. store the new key in its source (a new device key file, the OS
//     store; a passphrase key needs nothing);
//  3. rewrap each envelope still under an old key, one atomic backend Put
//     each;
//  4. make the new key active, keeping the old one as retired;
//  5. delete the old key's material (a rotated device key file, an OS
//     store item; the shared device.key is never deleted, other vaults of
//     the state root may use it) and forget it.
//
// When an earlier call was interrupted, RotateKey finishes that rotation
// and returns with Resumed set, without starting another; to.Source must
// then be empty or name the interrupted rotation's source, or it fails
// with ErrRotationPending. It fails, leaving the rotation pending and
// every secret readable, when an object cannot be rewrapped (damaged, or
// under a key the vault does not hold): the error names each one. Handles
// opened before a rotation follow it: they load a new device or OS key by
// themselves, while a new passphrase key makes their writes fail with
// ErrKeyRotated until the vault is opened again.
func (v *Vault) RotateKey(ctx context.Context, to KeySourceSpec) (RotateReport, error) {
	var rep RotateReport
	if to.Source != "" {
		if _, err := keysource.Choose(to.Source); err != nil {
			return rep, err
		}
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer unlock()
	ctx, release, err := v.lockKeyState(ctx)
	if err != nil {
		return rep, err
	}
	defer release()
	return v.rotateLocked(ctx, to, nil)
}

// rotateLocked is RotateKey with the writer lock held; members, when not
// nil, are the recipients a new member key is wrapped to (RemoveMember).
func (v *Vault) rotateLocked(ctx context.Context, to KeySourceSpec, members []string) (RotateReport, error) {
	var rep RotateReport
	r, err := v.keys.BeginRotation(ctx, to.Source, to.Passphrase, v.info.Backend, members)
	if err != nil {
		return rep, err
	}
	rep.From, rep.OldKeyID, rep.To, rep.NewKeyID, rep.Resumed = r.From, r.OldKeyID, r.To, r.NewKeyID, r.Resumed
	if r.Switched {
		return rep, v.dropRetired(ctx, r)
	}
	if r.Started {
		rotateStep("pending")
	}
	if err := r.Store(ctx); err != nil {
		return rep, err
	}
	rotateStep("stored")
	if err := v.rewrapAll(ctx, r.Next, &rep); err != nil {
		return rep, err
	}
	if err := r.Switch(); err != nil {
		return rep, err
	}
	rotateStep("switched")
	return rep, v.dropRetired(ctx, r)
}

// dropRetired deletes the retired key's material and then its entry. The
// caller holds the writer lock.
func (v *Vault) dropRetired(ctx context.Context, r *keysource.Rotation) error {
	if err := r.RemoveRetired(ctx); err != nil {
		return err
	}
	rotateStep("dropped")
	return r.Forget()
}

// rewrapAll rewraps every envelope not yet under next. The caller holds the
// writer lock.
func (v *Vault) rewrapAll(ctx context.Context, next *envelope.KEK, rep *RotateReport) error {
	ids, err := v.backend.List(ctx)
	if err != nil {
		return fmt.Errorf("listing objects: %w", translate(err))
	}
	var stuck []string
	for _, id := range ids {
		if ctx.Err() != nil {
			return fmt.Errorf("rotation interrupted (it stays pending; run it again): %w", context.Cause(ctx))
		}
		if err := v.rewrapObject(ctx, id, next, rep, &stuck); err != nil {
			return err
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("%w: %d objects cannot be rewrapped, so the rotation stays pending (every other secret stays readable): %s; run palyra secrets verify, then delete or restore them and run the rotation again",
			ErrCorrupt, len(stuck), strings.Join(stuck, "; "))
	}
	return nil
}

// errObjectChanged means another process stored an object between a
// rewrap's read and its write.
var errObjectChanged = errors.New("the object changed while it was rewrapped")

// rewrapObjectAttempts bounds how often a rewrap reads an object again
// after a racing write changed it.
const rewrapObjectAttempts = 3

// rewrapObject rewraps object id under next unless it is under next
// already (counted as skipped), or names it in stuck when it cannot be
// rewrapped. On a backend that can guard a write by the object's revision,
// a write that changed the object since the rewrap read it is never
// overwritten: the rewrap reads the object again. The caller holds the
// writer lock.
func (v *Vault) rewrapObject(ctx context.Context, id backend.ObjectID, next *envelope.KEK, rep *RotateReport, stuck *[]string) error {
	nextID := next.ID()
	for attempt := 1; ; attempt++ {
		blob, objRev, err := v.getForRewrap(ctx, id)
		if errors.Is(err, backend.ErrNotFound) {
			return nil // deleted since List
		}
		if err != nil {
			return fmt.Errorf("reading object %s (the rotation stays pending; run it again): %w", id, translate(err))
		}
		e, err := envelope.Parse(blob)
		if err != nil {
			*stuck = append(*stuck, fmt.Sprintf("object %s: %v", id, err))
			return nil
		}
		name := Ref{Scope: e.Header.Scope, Key: e.Header.Key}.String()
		if e.KEKID == nextID {
			rep.Skipped++
			return nil
		}
		old := v.keys.Held(e.KEKID)
		if old == nil {
			*stuck = append(*stuck, fmt.Sprintf("%s (object %s): sealed under key %x, which this vault does not hold", name, id, e.KEKID[:4]))
			return nil
		}
		if envelope.ObjectID(e.Header.Scope, e.Header.Key) != id {
			*stuck = append(*stuck, fmt.Sprintf("object %s: its header names %s, another secret", id, name))
			return nil
		}
		nb, err := envelope.Rewrap(old, next, blob, nil)
		if err != nil {
			*stuck = append(*stuck, fmt.Sprintf("%s (object %s): %v", name, id, err))
			return nil
		}
		err = v.putRewrapped(ctx, id, nb, objRev)
		if errors.Is(err, errObjectChanged) && attempt < rewrapObjectAttempts {
			continue
		}
		if err != nil {
			return fmt.Errorf("storing rewrapped %s (the rotation stays pending; run it again): %w", name, translate(err))
		}
		rep.Rewrapped++
		rotateStep("rewrapped")
		return nil
	}
}

// getForRewrap reads object id, with its revision when the backend can
// guard a write by it (0 otherwise).
func (v *Vault) getForRewrap(ctx context.Context, id backend.ObjectID) ([]byte, int64, error) {
	if og, ok := v.backend.(backend.ObjectGuarded); ok && v.shared != nil {
		return og.GetRev(ctx, id)
	}
	blob, err := v.backend.Get(ctx, id)
	return blob, 0, err
}

// putRewrapped stores a rewrapped envelope. On a vault that many hosts
// share, the write is guarded by the revision of the key state this
// rotation wrote, so that nothing is stored once another host changed the
// key state, and, when the backend can (backend.ObjectGuarded), by the
// object's revision objRev as the rewrap read it: a racing write is never
// overwritten with the older value (errObjectChanged).
func (v *Vault) putRewrapped(ctx context.Context, id backend.ObjectID, blob []byte, objRev int64) error {
	if v.shared == nil {
		return v.backend.Put(ctx, id, blob)
	}
	og, ok := v.backend.(backend.ObjectGuarded)
	if !ok {
		return v.shared.PutGuarded(ctx, id, blob, backend.RecordKeySource, v.keys.Revision())
	}
	_, _, curRev, err := og.PutIfAt(ctx, id, blob, backend.RecordKeySource, v.keys.Revision(), objRev, 0)
	if errors.Is(err, backend.ErrConflict) && curRev != objRev {
		return fmt.Errorf("%w: %w", errObjectChanged, err)
	}
	return err
}

// PendingRotation reports whether an interrupted key rotation is waiting
// to be finished, and to which key source. It reads the key-source file.
func (v *Vault) PendingRotation() (source string, pending bool, err error) {
	st, _, err := keysource.Read(context.Background(), v.info.Root, v.shared)
	if err != nil || st == nil {
		return "", false, err
	}
	switch {
	case st.Pending != nil:
		return st.Pending.Source, true, nil
	case st.Retired != nil:
		return st.Active.Source, true, nil
	}
	return "", false, nil
}

// errKeyStateLockLost ends a rotation whose key-state lock was lost.
var errKeyStateLockLost = errors.New("the vault's key-state lock was lost (its lease expired: the cluster was out of reach too long); the rotation stays pending: run it again")

// lockKeyState takes, on a vault that many hosts share whose backend can
// lock (backend.Locker), the lock that makes a change of the key state
// exclusive across hosts, waiting for it as for the writer lock
// (Config.LockTimeout): a wait that times out fails with an error wrapping
// ErrLockTimeout naming the holder. It returns a context that ends when
// the lock is lost, and the release. On any other vault it does nothing.
// The caller holds the writer lock.
func (v *Vault) lockKeyState(ctx context.Context) (context.Context, func(), error) {
	lk, ok := v.backend.(backend.Locker)
	if !ok || v.shared == nil {
		return ctx, func() {}, nil
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if v.lockWait.Timeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, v.lockWait.Timeout)
	}
	held, err := lk.Lock(wctx, backend.LockKeyState)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, nil, fmt.Errorf("%w: another host is changing the vault's key: %w", ErrLockTimeout, err)
		}
		return nil, nil, fmt.Errorf("taking the vault's key-state lock: %w", translate(err))
	}
	lctx, lcancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-held.Lost():
			lcancel(errKeyStateLockLost)
		case <-lctx.Done():
		}
	}()
	return lctx, func() {
		lcancel(nil)
		_ = held.Unlock(context.WithoutCancel(ctx)) // best effort: the lease expires anyway
	}, nil
}
