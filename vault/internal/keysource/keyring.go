package keysource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// A Keyring holds every KEK a vault handle knows: the active one, which
// seals new envelopes, and during or just after a rotation the pending or
// retired one, so that envelopes under either stay readable. It follows
// the key-source file, which other processes may rewrite (a rotation), and
// loads keys that need no user input (device and os keys, and a pending
// key sealed under a key it holds) when it meets an envelope under a key
// id it does not hold. It is safe for concurrent use.
//
// A Keyring made by NewKeyring holds no key until one is needed: Load, the
// first KEKFor or Sealing, or a rotation loads the active key, asking for
// a passphrase then, so that listing a vault never does.
type Keyring struct {
	root string // the vault root, which holds keysource.json
	// shared, when not nil, holds the key-source state instead of the
	// file (a vault that many hosts share); rev is the revision of the
	// record that state was read from, guarded by mu.
	shared backend.Shared
	rev    int64
	site   Site
	// pass asks for the passphrase of a passphrase vault when its key is
	// first needed.
	pass func() ([]byte, error)

	mu        sync.Mutex
	state     State
	loaded    bool  // the active key was loaded
	askErr    error // why asking the user for the key failed: not asked again
	keys      map[[envelope.KEKIDSize]byte]*envelope.KEK
	active    *envelope.KEK
	activeErr error // why the active key is unusable for sealing, if it is

	// stateStamp names the key-source file that state was last checked
	// against (see fsutil.PathStamp).
	stateStamp fsutil.PathStamp
}

// NewKeyring returns a ring for the vault at root whose key-source file
// holds st. It loads no key; pass will be asked for the passphrase of a
// passphrase key, at most once per successful load. When st is what
// ReadState returned, the ring reads the file again only once it has
// changed (see fsutil.PathStamp): a vault opened for one Get reads it
// once.
func NewKeyring(root string, site Site, st *State, pass func() ([]byte, error)) *Keyring {
	kr := &Keyring{root: root, site: site, pass: pass, state: *st, keys: map[[envelope.KEKIDSize]byte]*envelope.KEK{}}
	if st.stamp != nil {
		kr.stateStamp.Remember(st.stamp)
		kr.state.stamp = nil
	}
	return kr
}

// NewSharedKeyring is NewKeyring for a vault whose key-source state is the
// record of shared, read at revision rev.
func NewSharedKeyring(root string, shared backend.Shared, rev int64, site Site, st *State, pass func() ([]byte, error)) *Keyring {
	kr := NewKeyring(root, site, st, pass)
	kr.shared, kr.rev = shared, rev
	return kr
}

// Create keys a vault that has no key-source file: it makes the vault's
// first key from src (asking pass for a new passphrase), stores it, and
// writes keysource.json. The caller holds the writer lock and has checked
// that the vault has no key-source file. The ring it returns holds the key.
//
// With shared not nil the state is the shared record, created only if no
// other host created it first: then Create fails with an error wrapping
// backend.ErrConflict, and the caller reads the record instead.
func Create(ctx context.Context, root string, shared backend.Shared, site Site, src Source, pass func() ([]byte, error)) (*Keyring, error) {
	kek, spec, err := src.New(ctx, site, true, pass)
	if err != nil {
		return nil, err
	}
	if err := src.Store(ctx, site, &spec, kek); err != nil {
		clear(kek[:])
		return nil, err
	}
	st := &State{VaultID: site.VaultID, Active: spec}
	rev, err := Write(ctx, root, shared, st, 0)
	if err != nil {
		clear(kek[:])
		return nil, err
	}
	kr := NewSharedKeyring(root, shared, rev, site, st, pass)
	kr.hold(kek)
	kr.active, kr.loaded = kek, true
	return kr, nil
}

// hold adds kek to the ring (the caller holds kr.mu or owns kr alone).
func (kr *Keyring) hold(kek *envelope.KEK) {
	id := kek.ID()
	if old := kr.keys[id]; old != nil && old != kek {
		clear(kek[:]) // same key loaded twice: keep the first copy
		return
	}
	kr.keys[id] = kek
}

func (kr *Keyring) held(idHex string) *envelope.KEK {
	return kr.keys[parseKEKID(idHex)]
}

// Held returns the held key of id, or nil.
func (kr *Keyring) Held(id [envelope.KEKIDSize]byte) *envelope.KEK {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.keys[id]
}

// Load loads the active key, unless it is loaded already, and then, best
// effort, the pending and retired ones. It rereads the key-source file
// first, unless the path still names the file the ring's state was read
// from (see NewKeyring), so that a rotation by another process since the
// ring was made is followed. A missing key file or an unreachable store is its error, and
// the next call tries again; a key that needs the user (a passphrase) is
// asked for once: a wrong or missing passphrase stays the ring's error.
func (kr *Keyring) Load(ctx context.Context) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.load(ctx)
}

// load is Load with kr.mu held.
func (kr *Keyring) load(ctx context.Context) error {
	if kr.loaded || kr.askErr != nil {
		return kr.askErr
	}
	var (
		fi   fs.FileInfo
		same bool
		st   *State
		rev  int64
		err  error
	)
	if kr.shared == nil {
		fi, same = kr.stateStamp.Current(Path(kr.root))
	}
	if same { // the file the ring's state was read from: no need to read it again
		cur := kr.state
		st, rev = &cur, kr.rev
	} else if st, rev, err = kr.reread(ctx); err != nil {
		return err
	}
	src := mustLookup(st.Active.Source)
	kek, err := src.Load(ctx, kr.site, &st.Active, kr.pass)
	if err != nil && !errors.Is(err, ErrKeyMismatch) {
		if src.Interactive() {
			kr.askErr = err
		}
		return err
	}
	kr.state, kr.rev = *st, rev
	if fi != nil {
		kr.stateStamp.Remember(fi)
	}
	kr.hold(kek)
	kr.active, kr.activeErr, kr.loaded = kr.keys[kek.ID()], err, true
	kr.loadOthers(ctx)
	return nil
}

// reread reads the key-source file, which must still exist and name the
// same vault.
func (kr *Keyring) reread(ctx context.Context) (*State, int64, error) {
	st, rev, err := Read(ctx, kr.root, kr.shared)
	if err != nil {
		return nil, 0, err
	}
	where := Where(kr.root, kr.shared)
	if st == nil {
		return nil, 0, fmt.Errorf("%w: %s disappeared: restore it from a backup", vaulterr.ErrCorrupt, where)
	}
	if st.VaultID != kr.state.VaultID {
		return nil, 0, fmt.Errorf("%w: %s now names another vault (id %s, was %s): restore the original", vaulterr.ErrCorrupt, where, st.VaultID[:8], kr.state.VaultID[:8])
	}
	return st, rev, nil
}

// mustLookup returns the source of a spec that passed check.
func mustLookup(name string) Source {
	s, ok := Lookup(name)
	if !ok {
		panic("keysource: unknown source " + name) // unreachable: checked on read
	}
	return s
}

// loadOthers loads, when it can without user input, the pending key (from
// its copy sealed under the active key) and the retired key (from its
// source). Failures are ignored: envelopes under a key that cannot be
// loaded fail to open with ErrWrongKey, which names the problem.
func (kr *Keyring) loadOthers(ctx context.Context) {
	st := &kr.state
	if p := st.Pending; p != nil && kr.held(p.KEKID) == nil {
		if len(p.Wrapped) == 0 { // a member key: this host's own copy, if it has one
			if kek, err := mustLookup(p.Source).Load(ctx, kr.site, &p.Spec, nil); err == nil {
				kr.hold(kek)
			}
		} else if a := kr.held(st.Active.KEKID); a != nil {
			if kek, err := unwrapPending(a, p, st.VaultID); err == nil {
				kr.hold(kek)
			}
		}
	}
	if r := st.Retired; r != nil && kr.held(r.KEKID) == nil {
		if src := mustLookup(r.Source); !src.Interactive() {
			if kek, err := src.Load(ctx, kr.site, r, nil); err == nil {
				kr.hold(kek)
			} else if kek != nil {
				clear(kek[:])
			}
		}
	}
}

// refresh rereads the key-source file after another process changed it and
// adopts it, loading what it can. It returns ErrKeyRotated when the new
// active key cannot be loaded without user input, leaving the ring as it
// was for reading. The caller holds kr.mu and has loaded the ring.
func (kr *Keyring) refresh(ctx context.Context) error {
	st, rev, err := kr.reread(ctx)
	if err != nil {
		return err
	}
	old, oldRev := kr.state, kr.rev
	kr.state, kr.rev = *st, rev
	kr.loadOthers(ctx) // a pending key sealed under our active key, first
	active := kr.held(st.Active.KEKID)
	activeErr := error(nil)
	if active == nil {
		kek, err := mustLookup(st.Active.Source).Load(ctx, kr.site, &st.Active, nil)
		switch {
		case err == nil:
			kr.hold(kek)
			active = kr.held(st.Active.KEKID)
		case errors.Is(err, ErrPassphraseRequired):
			kr.state, kr.rev = old, oldRev
			return fmt.Errorf("%w: another process changed the vault's key to a new passphrase since this handle opened it; open the vault again with the new passphrase", ErrKeyRotated)
		default:
			kr.state, kr.rev = old, oldRev
			if kek != nil {
				clear(kek[:])
			}
			return fmt.Errorf("%w: loading the vault's new key: %w", ErrKeyRotated, err)
		}
	} else if st.Active.KEKID == old.Active.KEKID {
		activeErr = kr.activeErr
	}
	kr.active, kr.activeErr = active, activeErr
	kr.loadOthers(ctx) // a retired key, now that the active one is known
	return nil
}

// KEKFor returns the key to open blob with: the held key whose id the
// envelope carries, after rereading the key-source file if no held key has
// it (another process may have rotated the vault); otherwise the active
// key, which then fails to open the envelope with a clear error. Its error
// is Load's, when the active key cannot be loaded.
func (kr *Keyring) KEKFor(ctx context.Context, blob []byte) (*envelope.KEK, error) {
	e, err := envelope.Parse(blob) // outside the lock: concurrent Gets need not queue
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if lerr := kr.load(ctx); lerr != nil {
		return nil, lerr
	}
	if err != nil {
		return kr.active, nil
	}
	if k := kr.keys[e.KEKID]; k != nil {
		return k, nil
	}
	_ = kr.refresh(ctx) // best effort: a failure leaves the active key, and Open says wrong key
	if k := kr.keys[e.KEKID]; k != nil {
		return k, nil
	}
	return kr.active, nil
}

// Sealing returns the key to seal a new envelope with: the active key of
// the key-source file as it is now, which the caller reads under the
// writer lock, so a rotation by another process is never undone by a
// handle that still holds the old key.
func (kr *Keyring) Sealing(ctx context.Context) (*envelope.KEK, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.load(ctx); err != nil {
		return nil, err
	}
	// A shared record is not reread here: guarded writes (SealingGuard)
	// compare its revision instead.
	if fi, same := kr.stateStamp.Current(Path(kr.root)); kr.shared == nil && !same {
		st, err := ReadState(kr.root)
		if err != nil {
			return nil, err
		}
		if st == nil || !sameKeys(st, &kr.state) {
			if err := kr.refresh(ctx); err != nil {
				return nil, err
			}
		}
		if fi != nil {
			kr.stateStamp.Remember(fi)
		}
	}
	if kr.activeErr != nil {
		return nil, fmt.Errorf("refusing to seal under a key the vault does not record: %w", kr.activeErr)
	}
	return kr.active, nil
}

// SealingGuard is Sealing for a vault whose state is a shared record: it
// returns the active key the ring holds and the revision of the record it
// was read from, without reading the record again. The caller stores what
// it seals with a write guarded by that revision (backend.Shared.PutGuarded),
// and on a conflict calls Refresh and seals again.
//
// While another host's rotation is pending it returns the pending key
// instead, which that rotation's rewrapping skips, so that a write racing
// the rotation is never left under the old key once it ends; a host that
// cannot load the pending key (a member being removed) cannot write.
func (kr *Keyring) SealingGuard(ctx context.Context) (*envelope.KEK, int64, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.load(ctx); err != nil {
		return nil, 0, err
	}
	if p := kr.state.Pending; p != nil {
		if k := kr.held(p.KEKID); k != nil {
			return k, kr.rev, nil
		}
		err := fmt.Errorf("%w: the pending key could not be loaded", vaulterr.ErrWrongKey)
		if len(p.Wrapped) == 0 {
			if kek, lerr := mustLookup(p.Source).Load(ctx, kr.site, &p.Spec, nil); lerr == nil {
				kr.hold(kek)
				return kr.held(p.KEKID), kr.rev, nil
			} else {
				err = lerr
			}
		}
		return nil, 0, fmt.Errorf("refusing to write during a key rotation whose new key this host cannot load: %w", err)
	}
	if kr.activeErr != nil {
		return nil, 0, fmt.Errorf("refusing to seal under a key the vault does not record: %w", kr.activeErr)
	}
	return kr.active, kr.rev, nil
}

// Revision returns the revision of the shared key-state record the ring
// last read or wrote (0 for a key-source file).
func (kr *Keyring) Revision() int64 {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.rev
}

// Refresh rereads the key-source state and adopts it (see refresh), after
// a guarded write found that another host changed it.
func (kr *Keyring) Refresh(ctx context.Context) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err := kr.load(ctx); err != nil {
		return err
	}
	return kr.refresh(ctx)
}

// Follow rereads the key-source state after another host may have changed
// it (a watch saw its record change, or may have missed a change) and
// adopts it, loading the new keys it can load without user input (see
// refresh). A ring that holds no key yet does nothing: its first load
// reads the state as it is then.
func (kr *Keyring) Follow(ctx context.Context) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if !kr.loaded {
		return nil
	}
	return kr.refresh(ctx)
}

// writeState stores st where the ring's state lives, guarded (for a shared
// record) by the revision the ring last read or wrote, and adopts the new
// revision.
func (kr *Keyring) writeState(ctx context.Context, st *State) error {
	kr.mu.Lock()
	rev := kr.rev
	kr.mu.Unlock()
	nrev, err := Write(ctx, kr.root, kr.shared, st, rev)
	if err != nil {
		return err
	}
	kr.mu.Lock()
	kr.rev = nrev
	kr.mu.Unlock()
	return nil
}

// sameKeys reports whether a and b name the same vault and the same active,
// pending and retired keys.
func sameKeys(a, b *State) bool {
	if a.VaultID != b.VaultID || a.Active.KEKID != b.Active.KEKID {
		return false
	}
	pa, pb := a.Pending, b.Pending
	if (pa == nil) != (pb == nil) || (pa != nil && pa.KEKID != pb.KEKID) {
		return false
	}
	ra, rb := a.Retired, b.Retired
	return (ra == nil) == (rb == nil) && (ra == nil || ra.KEKID == rb.KEKID)
}

// Source returns the active key's source name.
func (kr *Keyring) Source() string {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.state.Active.Source
}

// State returns the key-source file as the ring last read it.
func (kr *Keyring) State() State {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.state
}

// ActiveErr returns why the loaded active key cannot seal (it is not the
// key the vault records), or nil.
func (kr *Keyring) ActiveErr() error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.activeErr
}

// Site returns where the ring's keys live.
func (kr *Keyring) Site() Site { return kr.site }

// Wipe zeroes every held key. It is safe on a nil ring.
func (kr *Keyring) Wipe() {
	if kr == nil {
		return
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	for id, k := range kr.keys {
		clear(k[:])
		delete(kr.keys, id)
	}
	kr.active, kr.loaded = nil, false
}
