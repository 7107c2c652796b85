package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// ErrRotationPending means an earlier key rotation was interrupted and must
// be finished (RotateKey to the same source, or with an empty source)
// before a rotation to another source can start.
var ErrRotationPending = errors.New("an interrupted key rotation must finish first")

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
// It holds the writer lock throughout and keeps the vault whole whatever
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
	if to.Source != "" && !validSource(to.Source) {
		return rep, fmt.Errorf("unknown key source %q: choose one of %s", truncate(to.Source), strings.Join(KeySources(), ", "))
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer unlock()
	kr := v.keys

	kr.mu.Lock()
	err = kr.refresh(ctx)
	st, active, activeErr := kr.state, kr.active, kr.activeErr
	kr.mu.Unlock()
	if err != nil {
		return rep, err
	}
	if activeErr != nil {
		return rep, fmt.Errorf("rotating the vault key: %w", activeErr)
	}
	rep.From, rep.OldKeyID = st.Active.Source, st.Active.KEKID

	if st.Retired != nil {
		// Interrupted after the switch: only the old key's cleanup is left.
		if to.Source != "" && to.Source != st.Active.Source {
			return rep, fmt.Errorf("%w: the rotation to a %s key was interrupted after the switch; run the rotation again with that source (or none) to finish it", ErrRotationPending, st.Active.Source)
		}
		rep.From, rep.OldKeyID = st.Retired.Source, st.Retired.KEKID
		rep.To, rep.NewKeyID, rep.Resumed = st.Active.Source, st.Active.KEKID, true
		return rep, v.dropRetired(ctx, &st)
	}

	var next *envelope.KEK
	var spec keySpec
	if p := st.Pending; p != nil {
		if to.Source != "" && to.Source != p.Source {
			return rep, fmt.Errorf("%w: a rotation to a %s key (id %s) was interrupted; run the rotation again with that source (or none) to finish it", ErrRotationPending, p.Source, p.KEKID[:8])
		}
		kr.mu.Lock()
		next = kr.held(p.KEKID)
		kr.mu.Unlock()
		if next == nil {
			if _, err := unwrapPending(active, p, st.VaultID); err != nil {
				return rep, err
			}
			return rep, fmt.Errorf("%w: the pending key could not be loaded", ErrCorrupt) // unreachable: refresh loaded it
		}
		spec, rep.Resumed = p.keySpec, true
	} else {
		src := to.Source
		if src == "" {
			src = st.Active.Source
		}
		if err := checkSourceForBackend(src, v.info.Backend); err != nil {
			return rep, err
		}
		switch src {
		case KeySourceDevice:
			next, spec, err = newDeviceKey()
		case KeySourcePassphrase:
			next, spec, err = newPassphraseKey(to.Passphrase)
		case KeySourceOS:
			next, spec, err = newOSKey(st.VaultID)
		}
		if err != nil {
			return rep, err
		}
		wrapped, err := wrapPending(active, next, st.VaultID)
		if err != nil {
			clear(next[:])
			return rep, err
		}
		st.Pending = &pendingKey{keySpec: spec, Wrapped: wrapped}
		if err := writeKeyState(v.info.Root, &st); err != nil {
			clear(next[:])
			return rep, err
		}
		kr.mu.Lock()
		kr.state = st
		kr.hold(next)
		next = kr.held(spec.KEKID)
		kr.mu.Unlock()
		rotateStep("pending")
	}
	rep.To, rep.NewKeyID = spec.Source, spec.KEKID

	if err := storeKeyMaterial(ctx, v.info.StateRoot, &spec, next); err != nil {
		return rep, fmt.Errorf("storing the new key (the rotation stays pending; run it again): %w", err)
	}
	rotateStep("stored")

	if err := v.rewrapAll(ctx, next, &rep); err != nil {
		return rep, err
	}

	old := st.Active
	st = keyState{VaultID: st.VaultID, Active: spec, Retired: &old}
	if err := writeKeyState(v.info.Root, &st); err != nil {
		return rep, err
	}
	kr.mu.Lock()
	kr.state, kr.active, kr.activeErr = st, next, nil
	kr.mu.Unlock()
	rotateStep("switched")
	return rep, v.dropRetired(ctx, &st)
}

// storeKeyMaterial puts a new key where its source keeps it.
func storeKeyMaterial(ctx context.Context, stateRoot string, spec *keySpec, kek *envelope.KEK) error {
	switch spec.Source {
	case KeySourceDevice:
		return storeDeviceKey(stateRoot, spec, kek)
	case KeySourceOS:
		return storeOSKey(ctx, stateRoot, spec, kek)
	}
	return nil // a passphrase key is derived, never stored
}

// rewrapAll rewraps every envelope not yet under next. The caller holds the
// writer lock.
func (v *Vault) rewrapAll(ctx context.Context, next *envelope.KEK, rep *RotateReport) error {
	ids, err := v.backend.List(ctx)
	if err != nil {
		return fmt.Errorf("listing objects: %w", translate(err))
	}
	nextID := next.ID()
	var stuck []string
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("rotation interrupted (it stays pending; run it again): %w", err)
		}
		blob, err := v.backend.Get(ctx, id)
		if errors.Is(err, backend.ErrNotFound) {
			continue // deleted since List
		}
		if err != nil {
			return fmt.Errorf("reading object %s (the rotation stays pending; run it again): %w", id, translate(err))
		}
		e, err := envelope.Parse(blob)
		if err != nil {
			stuck = append(stuck, fmt.Sprintf("object %s: %v", id, err))
			continue
		}
		name := Ref{Scope: e.Header.Scope, Key: e.Header.Key}.String()
		if e.KEKID == nextID {
			rep.Skipped++
			continue
		}
		v.keys.mu.Lock()
		old := v.keys.keys[e.KEKID]
		v.keys.mu.Unlock()
		if old == nil {
			stuck = append(stuck, fmt.Sprintf("%s (object %s): sealed under key %x, which this vault does not hold", name, id, e.KEKID[:4]))
			continue
		}
		if envelope.ObjectID(e.Header.Scope, e.Header.Key) != id {
			stuck = append(stuck, fmt.Sprintf("object %s: its header names %s, another secret", id, name))
			continue
		}
		nb, err := envelope.Rewrap(old, next, blob, nil)
		if err != nil {
			stuck = append(stuck, fmt.Sprintf("%s (object %s): %v", name, id, err))
			continue
		}
		if err := v.backend.Put(ctx, id, nb); err != nil {
			return fmt.Errorf("storing rewrapped %s (the rotation stays pending; run it again): %w", name, translate(err))
		}
		rep.Rewrapped++
		rotateStep("rewrapped")
	}
	if len(stuck) > 0 {
		return fmt.Errorf("%w: %d objects cannot be rewrapped, so the rotation stays pending (every other secret stays readable): %s; run palyra secrets verify, then delete or restore them and run the rotation again",
			ErrCorrupt, len(stuck), strings.Join(stuck, "; "))
	}
	return nil
}

// dropRetired deletes the retired key's material and then its entry. The
// caller holds the writer lock.
func (v *Vault) dropRetired(ctx context.Context, st *keyState) error {
	r := st.Retired
	if r.KEKID != st.Active.KEKID {
		var err error
		switch r.Source {
		case KeySourceDevice:
			err = removeDeviceKey(v.info.StateRoot, r)
		case KeySourceOS:
			err = removeOSKey(ctx, v.info.StateRoot, r)
		}
		if err != nil {
			return fmt.Errorf("the vault now uses its new key, but the old one could not be deleted (run the rotation again to retry): %w", err)
		}
	}
	rotateStep("dropped")
	next := keyState{VaultID: st.VaultID, Active: st.Active}
	if err := writeKeyState(v.info.Root, &next); err != nil {
		return err
	}
	v.keys.mu.Lock()
	v.keys.state = next
	v.keys.mu.Unlock()
	return nil
}

// PendingRotation reports whether an interrupted key rotation is waiting
// to be finished, and to which key source. It reads the key-source file.
func (v *Vault) PendingRotation() (source string, pending bool, err error) {
	st, err := readKeyState(v.info.Root)
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
