package vault

import (
	"context"
	"slices"

	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// KeySourceMember keeps a shared vault's KEK wrapped to each member host's
// own public key (an age X25519 recipient), the copies in the shared
// backend beside the secrets (docs/FLEET.md, "Member keys"). It needs a
// shared backend (etcd) and a program that registered the host keys
// (palyra-extra, through package vault/hostkey).
const KeySourceMember = keysource.Member

// ErrNotMember means this host has no copy of a member-keyed vault's key.
// It wraps ErrWrongKey; the error names the host's recipient and the
// command a member runs to add it.
var ErrNotMember = keysource.ErrNotMember

// HostRecipient returns the recipient ("age1...") of the host whose state
// root is stateRoot, creating the host's identity (<stateRoot>/keys, 0600)
// on first use. It fails with ErrBackendUnavailable in a program that did
// not register the host keys (palyra; palyra-extra does).
func HostRecipient(stateRoot string) (string, error) { return keysource.HostRecipient(stateRoot) }

// CheckRecipient validates the form of an age X25519 recipient.
func CheckRecipient(r string) error { return keysource.CheckRecipient(r) }

// Members returns the recipients of the hosts that hold a copy of the
// vault's member key, as the shared state says now. It loads the key
// first, so a host that is not a member gets ErrNotMember.
func (v *Vault) Members(ctx context.Context) ([]string, error) {
	if err := v.keys.Refresh(ctx); err != nil {
		return nil, err
	}
	return v.keys.Members()
}

// AddMember gives the host whose recipient is recipient a copy of the
// vault's member key. It reports false when the host is a member already.
// Only a member can add one: the key is wrapped from this host's copy.
func (v *Vault) AddMember(ctx context.Context, recipient string) (bool, error) {
	if err := keysource.CheckRecipient(recipient); err != nil {
		return false, err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	ctx, release, err := v.lockKeyState(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return v.keys.AddMember(ctx, recipient)
}

// RemoveMember takes the host whose recipient is recipient out of the
// vault: it rotates the vault's key to a new member key wrapped to every
// other member, and rewraps every secret under it (RotateKey's steps), so
// the removed host can open nothing written afterwards. A write that
// races the removal is sealed under the new key or fails. An interrupted
// removal is finished by calling RemoveMember again (or RotateKey): the
// report then has Resumed set.
func (v *Vault) RemoveMember(ctx context.Context, recipient string) (RotateReport, error) {
	if err := keysource.CheckRecipient(recipient); err != nil {
		return RotateReport{}, err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return RotateReport{}, err
	}
	defer unlock()
	ctx, release, err := v.lockKeyState(ctx)
	if err != nil {
		return RotateReport{}, err
	}
	defer release()
	if err := v.keys.Refresh(ctx); err != nil {
		return RotateReport{}, err
	}
	st := v.keys.State()
	if st.Pending != nil || st.Retired != nil {
		rep, err := v.rotateLocked(ctx, KeySourceSpec{}, nil) // finish the interrupted one first
		if err != nil {
			return rep, err
		}
		members, err := v.keys.Members()
		if err != nil || !slices.Contains(members, recipient) {
			return rep, err // it was this removal, or recipient is gone anyway
		}
	}
	members, err := v.keys.RemovalMembers(recipient)
	if err != nil {
		return RotateReport{}, err
	}
	return v.rotateLocked(ctx, KeySourceSpec{Source: KeySourceMember}, members)
}

// HostIdentityPath returns the file of this host's identity under
// stateRoot, or "" in a program that did not register the host keys.
func HostIdentityPath(stateRoot string) string { return keysource.HostIdentityPath(stateRoot) }
