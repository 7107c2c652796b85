package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// ErrKeyRotated means another process rotated the vault's key since this
// handle opened it, to a key this handle cannot load by itself (a new
// passphrase). Open the vault again.
var ErrKeyRotated = errors.New("vault key was rotated")

// errKeyMismatch marks a key that its source returned but whose id is not
// the one the vault records (a replaced device key file). The handle keeps
// it so List and Stat still work; Get then fails with ErrWrongKey and Put
// with this error.
var errKeyMismatch = fmt.Errorf("%w: the key source holds another key", ErrWrongKey)

// keyring holds every KEK a vault handle knows: the active one, which seals
// new envelopes, and during or just after a rotation the pending or retired
// one, so that envelopes under either stay readable. It follows the
// key-source file, which other processes may rewrite (a rotation), and
// loads keys that need no user input (device and os keys, and a pending key
// sealed under a key it holds) when it meets an envelope under a key id it
// does not hold.
type keyring struct {
	root, stateRoot string

	mu        sync.Mutex
	state     keyState
	keys      map[[envelope.KEKIDSize]byte]*envelope.KEK
	active    *envelope.KEK
	activeErr error // why the active key is unusable for sealing, if it is

	// stateStamp names the key-source file that state was last checked
	// against by sealing (see fileStamp).
	stateStamp fileStamp
}

// desiredKeySource returns the key source a new vault should use.
func desiredKeySource(cfg Config) (string, error) {
	src := cfg.KeySource
	if src == "" {
		src = os.Getenv(EnvKeySource)
	}
	if src == "" {
		src = KeySourceDevice
	}
	if !validSource(src) {
		return "", fmt.Errorf("unknown key source %q: choose one of %s", truncate(src), strings.Join(KeySources(), ", "))
	}
	return src, nil
}

// checkSourceForBackend refuses combinations that make no sense: an os key
// kept in the same store as the vault's objects would show up among them.
func checkSourceForBackend(src string, kind backend.Kind) error {
	if src == KeySourceOS && kind != backend.KindEncryptedFile {
		return fmt.Errorf("key source os needs the encrypted_file backend, this vault uses %s (whose store already protects the objects); choose key source device or passphrase", kind)
	}
	return nil
}

// loadKeys reads the vault's key-source file and loads its active key (and
// a pending or retired one), keying the vault first when it has no file:
// a vault that already holds objects (made before key sources existed)
// records its device key; a new one makes a key of the configured source.
// It sets v.keys and v.info.KeySource.
func (v *Vault) loadKeys(ctx context.Context, cfg Config) error {
	kr := &keyring{root: v.info.Root, stateRoot: v.info.StateRoot, keys: map[[envelope.KEKIDSize]byte]*envelope.KEK{}}
	st, err := readKeyState(v.info.Root)
	if err != nil {
		return err
	}
	if st == nil {
		if err := v.initKeys(ctx, cfg, kr); err != nil {
			kr.wipe()
			return err
		}
	} else if err := kr.load(ctx, st, cfg.Passphrase); err != nil {
		kr.wipe()
		return err
	}
	v.keys, v.kek = kr, kr.active
	v.info.KeySource = kr.state.Active.Source
	return nil
}

// seal seals value under h with the vault's current active key. The caller
// holds the writer lock.
func (v *Vault) seal(ctx context.Context, h envelope.Header, value []byte) ([]byte, error) {
	kek, err := v.keys.sealing(ctx)
	if err != nil {
		return nil, err
	}
	return envelope.Sealer{KEK: kek}.Seal(h, value)
}

// initKeys keys a vault that has no key-source file, under the writer lock.
func (v *Vault) initKeys(ctx context.Context, cfg Config, kr *keyring) error {
	unlock, err := v.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readKeyState(v.info.Root)
	if err != nil {
		return err
	}
	if st != nil { // another process keyed it first
		return kr.load(ctx, st, cfg.Passphrase)
	}
	src, err := desiredKeySource(cfg)
	if err != nil {
		return err
	}
	ids, err := v.backend.List(ctx)
	if err != nil {
		return fmt.Errorf("listing objects: %w", translate(err))
	}
	if len(ids) > 0 {
		src = KeySourceDevice // made before key sources: its objects are under the device key
	}
	if err := checkSourceForBackend(src, v.info.Backend); err != nil {
		return err
	}
	vaultID := v.info.ID
	var kek *envelope.KEK
	var spec keySpec
	switch src {
	case KeySourceDevice:
		if kek, err = loadDeviceKey(v.info.StateRoot); err != nil {
			return err
		}
		spec = keySpec{Source: KeySourceDevice, KEKID: kekIDHex(kek), File: sharedDeviceKeyFile}
	case KeySourcePassphrase:
		if kek, spec, err = newPassphraseKey(cfg.Passphrase); err != nil {
			return err
		}
	case KeySourceOS:
		if kek, spec, err = newOSKey(vaultID); err != nil {
			return err
		}
		if err := storeOSKey(ctx, v.info.StateRoot, &spec, kek); err != nil {
			clear(kek[:])
			return err
		}
	}
	st = &keyState{VaultID: vaultID, Active: spec}
	if err := writeKeyState(v.info.Root, st); err != nil {
		clear(kek[:])
		return err
	}
	kr.state = *st
	kr.hold(kek)
	kr.active = kek
	return nil
}

// hold adds kek to the ring (the caller holds kr.mu or owns kr alone).
func (kr *keyring) hold(kek *envelope.KEK) {
	id := kek.ID()
	if old := kr.keys[id]; old != nil && old != kek {
		clear(kek[:]) // same key loaded twice: keep the first copy
		return
	}
	kr.keys[id] = kek
}

func (kr *keyring) held(idHex string) *envelope.KEK {
	return kr.keys[parseKEKID(idHex)]
}

// load adopts st: it loads the active key (deriving a passphrase key from
// pass) and then, best effort, the pending and retired ones.
func (kr *keyring) load(ctx context.Context, st *keyState, pass func() ([]byte, error)) error {
	kr.state = *st
	kek, err := kr.loadSpec(ctx, &st.Active, pass)
	if err != nil && !errors.Is(err, errKeyMismatch) {
		return err
	}
	kr.hold(kek)
	kr.active, kr.activeErr = kr.keys[kek.ID()], err
	kr.loadOthers(ctx)
	return nil
}

// loadSpec loads the key spec names from its source. A passphrase key
// needs pass. On errKeyMismatch the key is returned too.
func (kr *keyring) loadSpec(ctx context.Context, spec *keySpec, pass func() ([]byte, error)) (*envelope.KEK, error) {
	switch spec.Source {
	case KeySourceDevice:
		return loadDeviceKeyFile(kr.stateRoot, spec)
	case KeySourcePassphrase:
		return loadPassphraseKey(spec, pass)
	case KeySourceOS:
		return loadOSKey(ctx, kr.stateRoot, spec)
	}
	return nil, fmt.Errorf("unknown key source %q", spec.Source) // unreachable: checked on read
}

// loadOthers loads, when it can without user input, the pending key (from
// its copy sealed under the active key) and the retired key (from its
// source). Failures are ignored: envelopes under a key that cannot be
// loaded fail to open with ErrWrongKey, which names the problem.
func (kr *keyring) loadOthers(ctx context.Context) {
	st := &kr.state
	if p := st.Pending; p != nil && kr.held(p.KEKID) == nil {
		if a := kr.held(st.Active.KEKID); a != nil {
			if kek, err := unwrapPending(a, p, st.VaultID); err == nil {
				kr.hold(kek)
			}
		}
	}
	if r := st.Retired; r != nil && r.Source != KeySourcePassphrase && kr.held(r.KEKID) == nil {
		if kek, err := kr.loadSpec(ctx, r, nil); err == nil {
			kr.hold(kek)
		} else if kek != nil {
			clear(kek[:])
		}
	}
}

// refresh rereads the key-source file after another process changed it and
// adopts it, loading what it can. It returns ErrKeyRotated when the new
// active key cannot be loaded without user input, leaving the ring as it
// was for reading.
func (kr *keyring) refresh(ctx context.Context) error {
	st, err := readKeyState(kr.root)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("%w: key source file %s disappeared: restore it from a backup", ErrCorrupt, keySourcePath(kr.root))
	}
	if st.VaultID != kr.state.VaultID {
		return fmt.Errorf("%w: key source file %s now names another vault (id %s, was %s): restore the original", ErrCorrupt, keySourcePath(kr.root), st.VaultID[:8], kr.state.VaultID[:8])
	}
	old := kr.state
	kr.state = *st
	kr.loadOthers(ctx) // a pending key sealed under our active key, first
	active := kr.held(st.Active.KEKID)
	activeErr := error(nil)
	if active == nil {
		kek, err := kr.loadSpec(ctx, &st.Active, nil)
		switch {
		case err == nil:
			kr.hold(kek)
			active = kr.held(st.Active.KEKID)
		case errors.Is(err, ErrPassphraseRequired):
			kr.state = old
			return fmt.Errorf("%w: another process changed the vault's key to a new passphrase since this handle opened it; open the vault again with the new passphrase", ErrKeyRotated)
		default:
			kr.state = old
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

// kekFor returns the key to open blob with: the held key whose id the
// envelope carries, after rereading the key-source file if no held key has
// it (another process may have rotated the vault); otherwise the active
// key, which then fails to open the envelope with a clear error.
func (kr *keyring) kekFor(ctx context.Context, blob []byte) *envelope.KEK {
	e, err := envelope.Parse(blob) // outside the lock: concurrent Gets need not queue
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err != nil {
		return kr.active
	}
	if k := kr.keys[e.KEKID]; k != nil {
		return k
	}
	_ = kr.refresh(ctx) // best effort: a failure leaves the active key, and Open says wrong key
	if k := kr.keys[e.KEKID]; k != nil {
		return k
	}
	return kr.active
}

// sealing returns the key to seal a new envelope with: the active key of
// the key-source file as it is now, which the caller reads under the
// writer lock, so a rotation by another process is never undone by a
// handle that still holds the old key.
func (kr *keyring) sealing(ctx context.Context) (*envelope.KEK, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if fi, same := kr.stateStamp.current(keySourcePath(kr.root)); !same {
		st, err := readKeyState(kr.root)
		if err != nil {
			return nil, err
		}
		if st == nil || !sameKeys(st, &kr.state) {
			if err := kr.refresh(ctx); err != nil {
				return nil, err
			}
		}
		if fi != nil {
			kr.stateStamp.remember(fi)
		}
	}
	if kr.activeErr != nil {
		return nil, fmt.Errorf("refusing to seal under a key the vault does not record: %w", kr.activeErr)
	}
	return kr.active, nil
}

// sameKeys reports whether a and b name the same vault and the same active,
// pending and retired keys.
func sameKeys(a, b *keyState) bool {
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

// source returns the active key's source name.
func (kr *keyring) source() string {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.state.Active.Source
}

// wipe zeroes every held key. It is safe on a nil ring.
func (kr *keyring) wipe() {
	if kr == nil {
		return
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	for id, k := range kr.keys {
		clear(k[:])
		delete(kr.keys, id)
	}
	kr.active = nil
}
