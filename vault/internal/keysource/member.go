package keysource

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/errwrap"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// A member key is a random KEK of a shared vault, wrapped to each member
// host's own public key (an age X25519 recipient) and kept, one wrapped
// copy per member, in the spec itself: in etcd, in the key-source record
// beside the secrets (docs/FORMAT.md, "Member keys"). A host unwraps its
// copy with its identity, made on first use under its state root.
//
// The public-key cryptography is not linked here: package vault (and so
// palyra) must stay free of filippo.io/age. The program that handles
// shared vaults (palyra-extra) registers it with RegisterHostKeys; until
// then the source's keys cannot be made or loaded (ErrBackendUnavailable),
// while its specs still validate, so any program can read the state.
type memberSource struct{}

// Member is the name of the member key source.
const Member = "member"

// HostKeys is the public-key half of the member key source: this host's
// identity under a state root and the wrapping of KEKs to recipients.
// Package vault/hostkey implements it with age X25519.
type HostKeys interface {
	// Recipient returns this host's recipient (its public key, "age1..."),
	// creating the host's identity under stateRoot first if it has none.
	Recipient(stateRoot string) (string, error)
	// Wrap encrypts kek to recipient.
	Wrap(kek *envelope.KEK, recipient string) ([]byte, error)
	// Unwrap decrypts wrapped with this host's identity under stateRoot
	// (made first if missing). A copy made for another identity is an
	// error.
	Unwrap(stateRoot string, wrapped []byte) (*envelope.KEK, error)
	// IdentityPath returns the file of this host's identity.
	IdentityPath(stateRoot string) string
}

var hostKeys HostKeys

// RegisterHostKeys installs the member key source's cryptography. Call it
// from main before any vault is opened.
func RegisterHostKeys(h HostKeys) { hostKeys = h }

// MemberKeysAvailable reports whether RegisterHostKeys was called.
func MemberKeysAvailable() bool { return hostKeys != nil }

// MemberWrap is one member host's copy of a member key.
type MemberWrap struct {
	// Recipient is the host's public key, "age1" and 58 bech32 characters.
	Recipient string `json:"recipient"`
	// Wrapped is the KEK encrypted to Recipient (an age file).
	Wrapped []byte `json:"wrapped"`
}

// Limits on a member spec read from the key-source state.
const (
	// MaxMembers bounds the members of one key (the record stays far
	// below etcd's request limit).
	MaxMembers = 256
	// maxWrappedSize bounds one wrapped copy: a real one is about 200 bytes.
	maxWrappedSize = 1024
	recipientLen   = 62
)

// ErrNotMember means this host's recipient has no wrapped copy of the
// vault's key: a member must add it.
var ErrNotMember = errwrap.Detail(vaulterr.ErrWrongKey, "this host is not a member of the shared vault")

// errNoHostKeys is the error of a member key used by a program that did
// not register HostKeys.
var errNoHostKeys = errwrap.Detail(vaulterr.ErrBackendUnavailable, "member keys are handled by palyra-extra, which this program is not")

// CheckRecipient validates the form of an age X25519 recipient: "age1"
// and 58 characters of the bech32 alphabet, lowercase.
func CheckRecipient(r string) error {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	rest, ok := strings.CutPrefix(r, "age1")
	if !ok || len(r) != recipientLen {
		return fmt.Errorf("recipient %q is not an age X25519 recipient (age1 followed by 58 characters; palyra secrets host-key prints one)", secret.Excerpt(r))
	}
	for i := range len(rest) {
		if !strings.ContainsRune(charset, rune(rest[i])) {
			return fmt.Errorf("recipient %q has a character outside the bech32 alphabet", secret.Excerpt(r))
		}
	}
	return nil
}

func (memberSource) Name() string      { return Member }
func (memberSource) Interactive() bool { return false }

// Backend: a member key is kept in the shared record, so it needs a
// shared backend.
func (memberSource) Backend(pref backend.Kind) (backend.Kind, error) {
	switch pref {
	case backend.KindEtcd:
		return pref, nil
	case "", backend.KindAuto:
		return backend.KindEtcd, nil
	}
	return "", fmt.Errorf("the member key source keeps the key's copies in a shared backend: use --backend etcd (backend %s is one host's)", pref)
}

func (memberSource) HostStore() (backend.Kind, error) {
	if hostKeys == nil {
		return "", errNoHostKeys
	}
	return "", nil
}

func (memberSource) Files(site Site, _ *Spec) []string {
	if hostKeys == nil {
		return nil
	}
	return []string{hostKeys.IdentityPath(site.StateRoot)}
}

func (memberSource) Check(field string, k *Spec) error {
	if k.File != "" || k.KDF != nil || k.Store != "" || k.Item != "" {
		return fmt.Errorf("%s: a member key has only members", field)
	}
	if len(k.Members) == 0 || len(k.Members) > MaxMembers {
		return fmt.Errorf("%s.members has %d entries; want 1 to %d", field, len(k.Members), MaxMembers)
	}
	seen := map[string]bool{}
	for i, m := range k.Members {
		if err := CheckRecipient(m.Recipient); err != nil {
			return fmt.Errorf("%s.members[%d]: %w", field, i, err)
		}
		if seen[m.Recipient] {
			return fmt.Errorf("%s.members[%d]: recipient %s is listed twice", field, i, m.Recipient)
		}
		seen[m.Recipient] = true
		if len(m.Wrapped) == 0 || len(m.Wrapped) > maxWrappedSize {
			return fmt.Errorf("%s.members[%d].wrapped is %d bytes; want 1 to %d", field, i, len(m.Wrapped), maxWrappedSize)
		}
	}
	return nil
}

// New makes a fresh random key wrapped to this host alone (a vault's
// first key). A rotation wraps its new key to a list of members instead:
// see newMemberKey.
func (memberSource) New(_ context.Context, site Site, _ bool, _ func() ([]byte, error)) (*envelope.KEK, Spec, error) {
	if hostKeys == nil {
		return nil, Spec{}, errNoHostKeys
	}
	self, err := hostKeys.Recipient(site.StateRoot)
	if err != nil {
		return nil, Spec{}, err
	}
	return newMemberKey([]string{self})
}

// newMemberKey makes a fresh random key and its spec, wrapped to each of
// members.
func newMemberKey(members []string) (*envelope.KEK, Spec, error) {
	if hostKeys == nil {
		return nil, Spec{}, errNoHostKeys
	}
	kek := new(envelope.KEK)
	if _, err := rand.Read(kek[:]); err != nil {
		return nil, Spec{}, fmt.Errorf("creating member key: %w", err)
	}
	spec := Spec{Source: Member, KEKID: KEKIDHex(kek)}
	for _, r := range members {
		w, err := hostKeys.Wrap(kek, r)
		if err != nil {
			clear(kek[:])
			return nil, Spec{}, err
		}
		spec.Members = append(spec.Members, MemberWrap{Recipient: r, Wrapped: w})
	}
	return kek, spec, nil
}

// Store has nothing to do: the wrapped copies are in the spec.
func (memberSource) Store(context.Context, Site, *Spec, *envelope.KEK) error { return nil }

// Remove has nothing to do: the wrapped copies go with the spec.
func (memberSource) Remove(context.Context, Site, *Spec) error { return nil }

// Load unwraps this host's copy of spec's key. A host with no copy gets
// ErrNotMember naming its recipient and the command that adds it.
func (memberSource) Load(_ context.Context, site Site, spec *Spec, _ func() ([]byte, error)) (*envelope.KEK, error) {
	if hostKeys == nil {
		return nil, errNoHostKeys
	}
	self, err := hostKeys.Recipient(site.StateRoot)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(spec.Members, func(m MemberWrap) bool { return m.Recipient == self })
	if i < 0 {
		return nil, NotMemberError(self)
	}
	kek, err := hostKeys.Unwrap(site.StateRoot, spec.Members[i].Wrapped)
	if err != nil {
		return nil, fmt.Errorf("%w: this host's copy of the member key (key id %s) does not open with its identity %s: %w; a member removes and re-adds this host (docs/FLEET.md)",
			vaulterr.ErrWrongKey, spec.KEKID[:8], hostKeys.IdentityPath(site.StateRoot), err)
	}
	if got := KEKIDHex(kek); got != spec.KEKID {
		clear(kek[:])
		return nil, fmt.Errorf("%w: this host's copy of the member key holds key id %s, not %s", vaulterr.ErrCorrupt, got[:8], spec.KEKID[:8])
	}
	return kek, nil
}

// NotMemberError is the error of a host whose recipient self has no copy
// of the vault's key.
func NotMemberError(self string) error {
	return fmt.Errorf("%w: its recipient is %s; on a member host run: palyra secrets members add %s", ErrNotMember, self, self)
}

// HostRecipient returns this host's recipient under stateRoot, creating
// its identity on first use.
func HostRecipient(stateRoot string) (string, error) {
	if hostKeys == nil {
		return "", errNoHostKeys
	}
	return hostKeys.Recipient(stateRoot)
}

// Members returns the recipients of the active key, which must be a
// member key.
func (kr *Keyring) Members() ([]string, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	st := &kr.state
	if st.Active.Source != Member {
		return nil, fmt.Errorf("the vault's key source is %s, not member: run palyra secrets rotate-key --to member first", st.Active.Source)
	}
	out := make([]string, len(st.Active.Members))
	for i, m := range st.Active.Members {
		out[i] = m.Recipient
	}
	return out, nil
}

// AddMember wraps the active member key to recipient and records the copy
// in the key-source state. The caller holds the vault's writer lock.
// Adding a recipient already listed does nothing and reports false.
func (kr *Keyring) AddMember(ctx context.Context, recipient string) (bool, error) {
	if err := CheckRecipient(recipient); err != nil {
		return false, err
	}
	if err := kr.Refresh(ctx); err != nil {
		return false, err
	}
	kr.mu.Lock()
	st, active, activeErr := kr.state, kr.active, kr.activeErr
	kr.mu.Unlock()
	if st.Active.Source != Member {
		return false, fmt.Errorf("the vault's key source is %s, not member: run palyra secrets rotate-key --to member first", st.Active.Source)
	}
	if st.Pending != nil || st.Retired != nil {
		return false, fmt.Errorf("%w: run palyra secrets rotate-key (or the members remove that was interrupted) to finish it", ErrRotationPending)
	}
	if activeErr != nil {
		return false, activeErr
	}
	if slices.ContainsFunc(st.Active.Members, func(m MemberWrap) bool { return m.Recipient == recipient }) {
		return false, nil
	}
	if len(st.Active.Members) >= MaxMembers {
		return false, fmt.Errorf("the vault has %d members, the most it holds", MaxMembers)
	}
	w, err := hostKeys.Wrap(active, recipient)
	if err != nil {
		return false, err
	}
	st.Active.Members = append(slices.Clone(st.Active.Members), MemberWrap{Recipient: recipient, Wrapped: w})
	if err := kr.writeState(ctx, &st); err != nil {
		return false, err
	}
	kr.mu.Lock()
	kr.state = st
	kr.mu.Unlock()
	return true, nil
}

// errNotListed is the error of removing a recipient that is not a member.
var errNotListed = errors.New("not a member of the vault")

// RemovalMembers returns the members left after removing recipient from
// the active member key, for BeginRotation: an error when recipient is
// not listed or is the last member.
func (kr *Keyring) RemovalMembers(recipient string) ([]string, error) {
	members, err := kr.Members()
	if err != nil {
		return nil, err
	}
	i := slices.Index(members, recipient)
	if i < 0 {
		return nil, fmt.Errorf("recipient %s: %w (palyra secrets members list shows them)", secret.Excerpt(recipient), errNotListed)
	}
	if len(members) == 1 {
		return nil, fmt.Errorf("recipient %s is the vault's last member: removing it would leave no host able to read the vault", recipient)
	}
	return slices.Delete(members, i, i+1), nil
}

// HostIdentityPath returns the file of this host's identity, or "" when
// RegisterHostKeys was not called.
func HostIdentityPath(stateRoot string) string {
	if hostKeys == nil {
		return ""
	}
	return hostKeys.IdentityPath(stateRoot)
}
