package keysource

import (
	"context"
	"fmt"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// A Rotation is the bookkeeping of one key rotation (docs/FORMAT.md, "KEK
// rotation"), begun by Keyring.BeginRotation. The caller holds the vault's
// writer lock from BeginRotation to the last step and drives the steps in
// order: Store, rewrap every envelope under Next (the caller's loop),
// Switch, RemoveRetired, Forget. Each step records its progress in
// keysource.json before the next starts, so whatever instant the process
// dies at, the next BeginRotation resumes where it stopped.
type Rotation struct {
	kr   *Keyring
	st   State
	spec Spec // the new key's

	// Next is the new key, held by the ring.
	Next *envelope.KEK
	// From and To are the sources of the old and the new key; OldKeyID and
	// NewKeyID their ids in hex.
	From, To           string
	OldKeyID, NewKeyID string
	// Resumed reports that an interrupted rotation is being finished.
	Resumed bool
	// Started reports that BeginRotation recorded a new pending key.
	Started bool
	// Switched reports that the interrupted rotation had already made the
	// new key active: only RemoveRetired and Forget are left.
	Switched bool
}

// BeginRotation starts a rotation to a fresh key of source to ("" means
// the active key's source), for a vault on backend kind, asking pass for a
// new passphrase; or, when an earlier rotation was interrupted, resumes it
// (to must then be "" or its source, else ErrRotationPending). A new
// rotation's key is recorded as pending, sealed under the active key,
// before BeginRotation returns. It loads the ring first.
//
// A new member key is wrapped to members, or when members is nil to the
// active key's members (a member key) or to this host alone; its pending
// entry holds no copy sealed under the active key (see Pending.Wrapped).
func (kr *Keyring) BeginRotation(ctx context.Context, to string, pass func() ([]byte, error), kind backend.Kind, members []string) (*Rotation, error) {
	kr.mu.Lock()
	err := kr.load(ctx)
	if err == nil {
		err = kr.refresh(ctx)
	}
	st, active, activeErr := kr.state, kr.active, kr.activeErr
	kr.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if activeErr != nil {
		return nil, fmt.Errorf("rotating the vault key: %w", activeErr)
	}
	r := &Rotation{kr: kr, st: st, From: st.Active.Source, OldKeyID: st.Active.KEKID}

	if st.Retired != nil {
		// Interrupted after the switch: only the old key's cleanup is left.
		if to != "" && to != st.Active.Source {
			return nil, fmt.Errorf("%w: the rotation to a %s key was interrupted after the switch; run the rotation again with that source (or none) to finish it", ErrRotationPending, st.Active.Source)
		}
		r.From, r.OldKeyID = st.Retired.Source, st.Retired.KEKID
		r.To, r.NewKeyID, r.Resumed, r.Switched = st.Active.Source, st.Active.KEKID, true, true
		r.spec, r.Next = st.Active, active
		return r, nil
	}

	if p := st.Pending; p != nil {
		if to != "" && to != p.Source {
			return nil, fmt.Errorf("%w: a rotation to a %s key (id %s) was interrupted; run the rotation again with that source (or none) to finish it", ErrRotationPending, p.Source, p.KEKID[:8])
		}
		kr.mu.Lock()
		r.Next = kr.held(p.KEKID)
		kr.mu.Unlock()
		if r.Next == nil && len(p.Wrapped) == 0 {
			kek, err := mustLookup(p.Source).Load(ctx, kr.site, &p.Spec, nil)
			if err != nil {
				return nil, fmt.Errorf("resuming the rotation to a new %s key: %w", p.Source, err)
			}
			kr.mu.Lock()
			kr.hold(kek)
			r.Next = kr.held(p.KEKID)
			kr.mu.Unlock()
		}
		if r.Next == nil {
			if _, err := unwrapPending(active, p, st.VaultID); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: the pending key could not be loaded", vaulterr.ErrCorrupt) // unreachable: refresh loaded it
		}
		r.spec, r.Resumed = p.Spec, true
	} else {
		name := to
		if name == "" {
			name = st.Active.Source
		}
		src, err := Choose(name)
		if err != nil {
			return nil, err
		}
		if _, err := src.Backend(kind); err != nil {
			return nil, err
		}
		var (
			next    *envelope.KEK
			spec    Spec
			wrapped []byte
		)
		if name == Member {
			if members == nil && st.Active.Source == Member {
				for _, m := range st.Active.Members {
					members = append(members, m.Recipient)
				}
			}
			if members == nil {
				self, err := HostRecipient(kr.site.StateRoot)
				if err != nil {
					return nil, err
				}
				members = []string{self}
			}
			next, spec, err = newMemberKey(members)
		} else {
			next, spec, err = src.New(ctx, kr.site, false, pass)
			if err == nil {
				if wrapped, err = wrapPending(active, next, st.VaultID); err != nil {
					clear(next[:])
				}
			}
		}
		if err != nil {
			return nil, err
		}
		st.Pending = &Pending{Spec: spec, Wrapped: wrapped}
		if err := kr.writeState(ctx, &st); err != nil {
			clear(next[:])
			return nil, err
		}
		kr.mu.Lock()
		kr.state = st
		kr.hold(next)
		r.Next = kr.held(spec.KEKID)
		kr.mu.Unlock()
		r.st, r.spec, r.Started = st, spec, true
	}
	r.To, r.NewKeyID = r.spec.Source, r.spec.KEKID
	return r, nil
}

// Store puts the new key where its source keeps it (a new device key file,
// the OS store; a passphrase key needs nothing).
func (r *Rotation) Store(ctx context.Context) error {
	if err := mustLookup(r.spec.Source).Store(ctx, r.kr.site, &r.spec, r.Next); err != nil {
		return fmt.Errorf("storing the new key (the rotation stays pending; run it again): %w", err)
	}
	return nil
}

// Switch makes the new key active, keeping the old one as retired. Every
// envelope must be under the new key by then.
func (r *Rotation) Switch() error {
	old := r.st.Active
	st := State{VaultID: r.st.VaultID, Active: r.spec, Retired: &old}
	if err := r.kr.writeState(context.Background(), &st); err != nil {
		return err
	}
	r.st = st
	kr := r.kr
	kr.mu.Lock()
	kr.state, kr.active, kr.activeErr = st, r.Next, nil
	kr.mu.Unlock()
	return nil
}

// RemoveRetired deletes the retired key's material (never what other
// vaults share, such as the state root's device.key).
func (r *Rotation) RemoveRetired(ctx context.Context) error {
	old := r.st.Retired
	if old.KEKID == r.st.Active.KEKID {
		return nil
	}
	if err := mustLookup(old.Source).Remove(ctx, r.kr.site, old); err != nil {
		return fmt.Errorf("the vault now uses its new key, but the old one could not be deleted (run the rotation again to retry): %w", err)
	}
	return nil
}

// Forget drops the retired key's entry from keysource.json, which ends the
// rotation.
func (r *Rotation) Forget() error {
	next := State{VaultID: r.st.VaultID, Active: r.st.Active}
	if err := r.kr.writeState(context.Background(), &next); err != nil {
		return err
	}
	r.st = next
	r.kr.mu.Lock()
	r.kr.state = next
	r.kr.mu.Unlock()
	return nil
}
