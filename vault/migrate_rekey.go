package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// rekeyTarget is the key a migration between a local and a shared backend
// rewraps every object under, and the ring the vault uses once switched.
type rekeyTarget struct {
	keys   *keysource.Keyring
	kek    *envelope.KEK
	shared backend.Shared // the target, when it is shared; nil otherwise
}

// prepareRekey gives the migration's target its vault id and key (see
// MigrateWith), reusing what an earlier, interrupted attempt left. The
// caller holds the writer lock.
func (v *Vault) prepareRekey(ctx context.Context, dst backend.Backend) (*rekeyTarget, error) {
	if sharedKind(dst.Kind()) {
		return v.prepareSharedTarget(ctx, dst)
	}
	return v.prepareLocalTarget(ctx)
}

// prepareSharedTarget claims the shared backend dst for this vault (its
// vault id record must be absent or this vault's id) and returns its key:
// the key state an earlier attempt recorded there, or a new member key
// wrapped to this host alone.
func (v *Vault) prepareSharedTarget(ctx context.Context, dst backend.Backend) (*rekeyTarget, error) {
	sh, ok := dst.(backend.Shared)
	if !ok {
		return nil, fmt.Errorf("%w: backend %s does not keep shared records", ErrBackendUnavailable, dst.Kind())
	}
	id, err := sharedVaultIDOr(ctx, sh, v.info.ID)
	if err != nil {
		return nil, err
	}
	if id != v.info.ID {
		return nil, fmt.Errorf("the %s prefix already holds another vault (id %s; this vault is %s), and migrate never mixes two vaults: migrate to an empty prefix, or import this vault's export into that one",
			dst.Kind(), id, v.info.ID)
	}
	site := v.keySite()
	st, rev, err := keysource.Read(ctx, v.info.Root, sh)
	if err != nil {
		return nil, err
	}
	var kr *keysource.Keyring
	if st == nil {
		src, _ := keysource.Lookup(keysource.Member)
		kr, err = keysource.Create(ctx, v.info.Root, sh, site, src, nil)
		if errors.Is(err, backend.ErrConflict) {
			st, rev, err = keysource.Read(ctx, v.info.Root, sh)
			if err == nil && st == nil {
				err = fmt.Errorf("%w: the shared key source record vanished while it was created", ErrCorrupt)
			}
		}
		if err != nil && st == nil {
			return nil, fmt.Errorf("keying the shared vault: %w", err)
		}
	}
	if kr == nil {
		kr = keysource.NewSharedKeyring(v.info.Root, sh, rev, site, st, nil)
	}
	kek, _, err := kr.SealingGuard(ctx)
	if err != nil {
		kr.Wipe()
		return nil, fmt.Errorf("loading the shared vault's key (an earlier migration made it; this host must be its member): %w", err)
	}
	return &rekeyTarget{keys: kr, kek: kek, shared: sh}, nil
}

// sharedVaultIDOr returns the vault id record of sh, writing id when there
// is none.
func sharedVaultIDOr(ctx context.Context, sh backend.Shared, id string) (string, error) {
	for range 2 {
		data, _, err := sh.ReadRecord(ctx, backend.RecordVaultID)
		if err == nil {
			got := strings.TrimSpace(string(data))
			if !isVaultID(got) {
				return "", fmt.Errorf("%w: the shared vault id record does not hold 32 lowercase hex digits", ErrCorrupt)
			}
			return got, nil
		}
		if !errors.Is(err, backend.ErrNotFound) {
			return "", fmt.Errorf("reading the shared vault id: %w", translate(err))
		}
		if _, err := sh.WriteRecord(ctx, backend.RecordVaultID, []byte(id+"\n"), 0); err == nil {
			return id, nil
		} else if !errors.Is(err, backend.ErrConflict) {
			return "", fmt.Errorf("writing the shared vault id: %w", translate(err))
		}
	}
	return "", fmt.Errorf("%w: the shared vault id record changed while it was read", ErrCorrupt)
}

// prepareLocalTarget writes this vault's id to vault.id and returns the
// local key: the key-source file an earlier attempt wrote, when it loads,
// else the state root's device key, recorded in a new key-source file.
// A vault on a shared backend never reads either file.
func (v *Vault) prepareLocalTarget(ctx context.Context) (*rekeyTarget, error) {
	if err := fsutil.WriteFileAtomic(filepath.Join(v.info.Root, idFile), []byte(v.info.ID+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the local vault id: %w", err)
	}
	site := v.keySite()
	if st, err := keysource.ReadState(v.info.Root); err == nil && st != nil {
		kr := keysource.NewKeyring(v.info.Root, site, st, nil)
		if kek, err := kr.Sealing(ctx); err == nil {
			return &rekeyTarget{keys: kr, kek: kek}, nil
		}
		kr.Wipe()
	}
	// No file, or one this host cannot use (a passphrase, a lost key):
	// the local vault gets the device key instead.
	if err := os.Remove(keysource.Path(v.info.Root)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the unusable local key source file: %w", err)
	}
	src, _ := keysource.Lookup(KeySourceDevice)
	kr, err := keysource.Create(ctx, v.info.Root, nil, site, src, nil)
	if err != nil {
		return nil, fmt.Errorf("keying the local vault: %w", err)
	}
	kek, err := kr.Sealing(ctx)
	if err != nil {
		kr.Wipe()
		return nil, err
	}
	return &rekeyTarget{keys: kr, kek: kek}, nil
}

// copyRewrapped copies one object from src to dst with its data key
// rewrapped from the vault's key to kek (the value is not decrypted), and
// reads it back.
func (v *Vault) copyRewrapped(ctx context.Context, src, dst backend.Backend, id backend.ObjectID, kek *envelope.KEK) error {
	blob, err := src.Get(ctx, id)
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading object %s from %s: %w", id, src.Kind(), translate(err))
	}
	name := string(id)
	if h, _, err := envelope.ParseHeader(blob); err == nil {
		name = Ref{Scope: h.Scope, Key: h.Key}.String()
	}
	old, err := v.keys.KEKFor(ctx, blob)
	if err != nil {
		return fmt.Errorf("loading the key of %s: %w", name, err)
	}
	out, err := envelope.Rewrap(old, kek, blob, rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: rewrapping %s for %s: %w; the source is untouched (palyra secrets verify names damaged secrets)", ErrCorrupt, name, dst.Kind(), err)
	}
	return copyChecked(ctx, dst, id, name, out)
}

// checkSoleMember refuses to delete a shared vault's secrets while hosts
// other than this one are its members; with a passphrase key there is no
// list of hosts to check.
func (v *Vault) checkSoleMember(ctx context.Context) error {
	if v.keys.Source() != keysource.Member {
		return nil
	}
	if err := v.keys.Refresh(ctx); err != nil {
		return err
	}
	members, err := v.keys.Members()
	if err != nil {
		return err
	}
	self, err := keysource.HostRecipient(v.info.StateRoot)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m != self {
			return fmt.Errorf("refusing to delete the shared secrets: other hosts are members (%s); remove them first (palyra secrets members remove), or migrate without --delete-source", m)
		}
	}
	return nil
}
