package secretservice

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// ProbeSchema is the xdg:schema of the one short-lived item ProbeUsable
// writes. It differs from Schema, so no search of the backend or of Search
// ever finds a probe item; one left behind by a process killed mid-probe
// carries the label "Palyra vault probe (safe to delete)".
const ProbeSchema = "dev.palyra.vault.probe"

// errNeedsPrompt is the cause of the ErrLocked that ProbeUsable returns
// when the service would need to show a prompt.
var errNeedsPrompt = errors.New("the service asks for a prompt to unlock it, which a probe never shows (over SSH or in a system service nobody could answer it)")

// ProbeUsable reports whether the backend can be used right now, without
// showing anything to the user: the checks of Probe, then the default
// collection must be unlocked or unlock without a prompt (Service.Unlock
// answering with no prompt), and then an item is stored, read back,
// compared and deleted (schema ProbeSchema, a random id, a random value).
// A prompt the service answers with at any step is dismissed, never shown:
// the result then wraps ErrLocked (a locked collection, or a provider that
// confirms every access with a dialog) with the hint to unlock the keyring.
// Every D-Bus call is bounded by Options.CallTimeout; Options.NoUnlock and
// Options.Vault are ignored. It returns nil or an *Error as Open does.
//
// Automatic backend selection uses it, so that a vault is never put on a
// Secret Service it could not use at once (a locked keyring over SSH).
func ProbeUsable(ctx context.Context, opts Options) error {
	s, err := Open(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	const op = "probing"
	if err := s.unlockWithoutPrompt(ctx, op); err != nil {
		return err
	}
	return s.storeAndReadBack(ctx, op)
}

// unlockWithoutPrompt makes sure the default collection is unlocked, asking
// the service to unlock it only if it can do so without a prompt.
func (s *Store) unlockWithoutPrompt(ctx context.Context, op string) error {
	return s.unlockCollection(ctx, op, false)
}

// storeAndReadBack creates a probe item, reads its secret back, compares
// it, and deletes the item, refusing every prompt.
func (s *Store) storeAndReadBack(ctx context.Context, op string) error {
	var nonce [16]byte
	value := make([]byte, 32)
	if _, err := rand.Read(nonce[:]); err != nil {
		return fmt.Errorf("secret service: %s: %w", op, err)
	}
	if _, err := rand.Read(value); err != nil {
		return fmt.Errorf("secret service: %s: %w", op, err)
	}
	iv, ct, err := s.tr.seal(value)
	if err != nil {
		return fmt.Errorf("secret service: %s: encrypting for transport: %w", op, err)
	}
	props := map[string]dbus.Variant{
		propItemLabel:      dbus.MakeVariant("Palyra vault probe (safe to delete)"),
		propItemAttributes: dbus.MakeVariant(map[string]string{AttrSchema: ProbeSchema, "palyra-probe": hex.EncodeToString(nonce[:])}),
	}
	sec := secret{Session: s.session, Parameters: iv, Value: ct, ContentType: contentType}
	var item, prompt dbus.ObjectPath
	coll := s.conn.Object(serviceName, s.collection)
	if err := s.call(ctx, coll, methodCreateItem, props, sec, false).Store(&item, &prompt); err != nil {
		return s.classify(op+": storing a probe item", err)
	}
	if prompt != noPrompt {
		s.dismiss(ctx, prompt)
		return newError(op+": storing a probe item", ErrLocked, errNeedsPrompt)
	}
	// Delete the item whatever happens next, refusing a prompt.
	defer func() {
		var p dbus.ObjectPath
		if s.call(context.WithoutCancel(ctx), s.conn.Object(serviceName, item), methodItemDelete).Store(&p) == nil && p != noPrompt {
			s.dismiss(ctx, p)
		}
	}()
	var got secret
	if err := s.call(ctx, s.conn.Object(serviceName, item), methodGetSecret, s.session).Store(&got); err != nil {
		return s.classify(op+": reading the probe item back", err)
	}
	defer clear(got.Value)
	back, err := s.tr.open(got.Parameters, got.Value)
	if err != nil {
		return newError(op+": reading the probe item back", ErrFailed, err)
	}
	defer clear(back)
	if !bytes.Equal(back, value) {
		return newError(op+": reading the probe item back", ErrFailed, errors.New("the value read back differs from the one stored"))
	}
	return nil
}

// dismiss dismisses a prompt that was never shown, best effort.
func (s *Store) dismiss(ctx context.Context, prompt dbus.ObjectPath) {
	_ = s.call(context.WithoutCancel(ctx), s.conn.Object(serviceName, prompt), methodPromptDismiss).Err
}
