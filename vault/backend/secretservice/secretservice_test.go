package secretservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

// transports are the two session kinds a Store can use against
// gnome-keyring, which supports both.
var transports = []struct {
	name      string
	opts      Options
	encrypted bool
}{
	{"encrypted", Options{}, true},
	{"plain", Options{forcePlain: true}, false},
}

func TestOpenNegotiatesEncryptedTransportWithGnomeKeyring(t *testing.T) {
	s := openStore(t, Options{RequireEncryption: true})
	if !s.TransportEncrypted() {
		t.Fatal("TransportEncrypted() = false against gnome-keyring, want true")
	}
	info := s.Info()
	if info.Transport != algDH || !info.Encrypted {
		t.Errorf("Info() = %+v, want transport %s, encrypted", info, algDH)
	}
	if !strings.HasPrefix(info.Collection, "/org/freedesktop/secrets/collection/") {
		t.Errorf("Info().Collection = %q, want a collection path", info.Collection)
	}
	if !strings.Contains(info.String(), "(encrypted)") {
		t.Errorf("Info().String() = %q, want it to say encrypted", info.String())
	}
}

func TestRoundTripIsBinarySafeOnBothTransports(t *testing.T) {
	values := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"nul and newlines", []byte("a\x00b\nc\r\n\x00")},
		{"15 bytes", bytes.Repeat([]byte{0xff}, 15)},
		{"one aes block", bytes.Repeat([]byte{0x10}, 16)},
		{"17 bytes", bytes.Repeat([]byte{0x80}, 17)},
		{"every byte value", allBytes()},
		{"max blob size", bytes.Repeat([]byte{0x5a}, MaxBlobSize)},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := openStore(t, tr.opts)
			if s.TransportEncrypted() != tr.encrypted {
				t.Fatalf("TransportEncrypted() = %v, want %v", s.TransportEncrypted(), tr.encrypted)
			}
			for _, v := range values {
				t.Run(v.name, func(t *testing.T) {
					ctx := testCtx(t)
					id := newID(t)
					if err := s.Put(ctx, id, v.value); err != nil {
						t.Fatalf("Put: %v", err)
					}
					got, err := s.Get(ctx, id)
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					if !bytes.Equal(got, v.value) {
						t.Fatalf("Get returned %d bytes that differ from the %d put", len(got), len(v.value))
					}
				})
			}
		})
	}
}

func TestPutReplacesValueInOneItem(t *testing.T) {
	s := openStore(t, Options{})
	ctx := testCtx(t)
	id := newID(t)
	for _, v := range []string{"first", "second", "third"} {
		if err := s.Put(ctx, id, []byte(v)); err != nil {
			t.Fatalf("Put %q: %v", v, err)
		}
	}
	got, err := s.Get(ctx, id)
	if err != nil || string(got) != "third" {
		t.Fatalf("Get = %q, %v; want \"third\"", got, err)
	}
	if n := len(itemsFor(t, s, s.itemAttributes(id))); n != 1 {
		t.Errorf("%d items carry the object id after three puts, want 1", n)
	}
}

func TestItemHasOnlySchemaAndIDAttributesAndOpaqueLabel(t *testing.T) {
	s := openStore(t, Options{})
	ctx := testCtx(t)
	id := newID(t)
	if err := s.Put(ctx, id, []byte("v")); err != nil {
		t.Fatal(err)
	}
	paths := itemsFor(t, s, s.itemAttributes(id))
	if len(paths) != 1 {
		t.Fatalf("%d items, want 1", len(paths))
	}
	attrs, err := s.property(ctx, paths[0], ifaceItem, "Attributes")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"xdg:schema": "dev.palyra.vault", "palyra-object-id": string(id)}
	if got := attrs.Value().(map[string]string); !maps.Equal(got, want) {
		t.Errorf("attributes = %v, want %v", got, want)
	}
	lbl, err := s.property(ctx, paths[0], ifaceItem, "Label")
	if err != nil {
		t.Fatal(err)
	}
	wantLabel := "Palyra vault secret (" + string(id)[:16] + "…)"
	if got := lbl.Value().(string); got != wantLabel || strings.Contains(got, string(id)) {
		t.Errorf("label = %q, want %q (never the whole id)", got, wantLabel)
	}
}

func TestGetMissingObjectIsNotFound(t *testing.T) {
	s := openStore(t, Options{})
	_, err := s.Get(testCtx(t), newID(t))
	if !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get of missing object: %v, want ErrNotFound", err)
	}
	if errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("not found must not read as unavailable: %v", err)
	}
}

func TestDeleteReportsWhetherObjectExisted(t *testing.T) {
	s := openStore(t, Options{})
	ctx := testCtx(t)
	id := newID(t)
	if err := s.Put(ctx, id, []byte("v")); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		existed, err := s.Delete(ctx, id)
		if err != nil || existed != want {
			t.Fatalf("Delete #%d = %v, %v; want %v, nil", i+1, existed, err, want)
		}
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func TestListReturnsOurObjectsAndSkipsForeignItems(t *testing.T) {
	s := openStore(t, Options{})
	ctx := testCtx(t)
	ours := []backend.ObjectID{newID(t), newID(t), newID(t)}
	for _, id := range ours {
		if err := s.Put(ctx, id, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	// Items of our schema with a malformed id, and items of another schema
	// with a valid id, must not be listed.
	foreign := []map[string]string{
		{AttrSchema: Schema, AttrObjectID: "obj_not-hex"},
		{AttrSchema: "org.example.other", AttrObjectID: string(newID(t))},
	}
	for _, attrs := range foreign {
		createRawItem(t, s, s.collection, "palyra test item", attrs, []byte("foreign"))
	}
	ids, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	got := map[backend.ObjectID]int{}
	for _, id := range ids {
		got[id]++
		if !id.Valid() {
			t.Errorf("List returned invalid id %q", id)
		}
	}
	for _, id := range ours {
		if got[id] != 1 {
			t.Errorf("List returned %s %d times, want once", id, got[id])
		}
	}
	if other := foreign[1][AttrObjectID]; got[backend.ObjectID(other)] != 0 {
		t.Errorf("List returned %s, which belongs to another schema", other)
	}
}

func TestPutRefusesOversizedBlobBeforeTouchingStore(t *testing.T) {
	s := openStore(t, Options{})
	ctx := testCtx(t)
	id := newID(t)
	err := s.Put(ctx, id, make([]byte, MaxBlobSize+1))
	if !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("Put of %d bytes: %v, want ErrTooLarge", MaxBlobSize+1, err)
	}
	if n := len(itemsFor(t, s, s.itemAttributes(id))); n != 0 {
		t.Errorf("%d items exist after a refused Put, want 0", n)
	}
}

func TestInvalidObjectIDsAreRefused(t *testing.T) {
	s := openStore(t, Options{})
	ctx := testCtx(t)
	for _, id := range []backend.ObjectID{"", "obj_", "obj_ABC", "../x", backend.ObjectID("obj_" + strings.Repeat("0", 63))} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			if err := s.Put(ctx, id, []byte("v")); err == nil || !strings.Contains(err.Error(), "invalid object id") {
				t.Errorf("Put: %v, want invalid object id", err)
			}
			if _, err := s.Get(ctx, id); err == nil || !strings.Contains(err.Error(), "invalid object id") {
				t.Errorf("Get: %v, want invalid object id", err)
			}
			if _, err := s.Delete(ctx, id); err == nil || !strings.Contains(err.Error(), "invalid object id") {
				t.Errorf("Delete: %v, want invalid object id", err)
			}
		})
	}
}

func TestConcurrentPutsAndGetsOnOneStore(t *testing.T) {
	s := openStore(t, Options{})
	ctx := testCtx(t)
	const n = 8
	ids := make([]backend.ObjectID, n)
	for i := range ids {
		ids[i] = newID(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, id := range ids {
		wg.Go(func() {
			want := []byte(fmt.Sprintf("value %d", i))
			if err := s.Put(ctx, id, want); err != nil {
				errs <- err
				return
			}
			got, err := s.Get(ctx, id)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got, want) {
				errs <- fmt.Errorf("object %d: got another value back", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestProbeSucceedsOnUnlockedKeyring(t *testing.T) {
	if err := Probe(testCtx(t), Options{Address: keyringBus(t), NoUnlock: true}); err != nil {
		t.Fatalf("Probe: %v", err)
	}
}

func TestLockedCollectionFailsWithErrLockedWhenNotUnlocking(t *testing.T) {
	s := openStore(t, Options{NoUnlock: true})
	ctx := testCtx(t)
	id := newID(t)
	if err := s.Put(ctx, id, []byte("v")); err != nil {
		t.Fatal(err)
	}
	lockDefault(t)
	ops := []struct {
		name string
		run  func() error
	}{
		{"get", func() error { _, err := s.Get(ctx, id); return err }},
		{"put", func() error { return s.Put(ctx, id, []byte("w")) }},
		{"delete", func() error { _, err := s.Delete(ctx, id); return err }},
		{"list", func() error { _, err := s.List(ctx); return err }},
		{"probe", func() error { return Probe(ctx, Options{Address: keyringBus(t), NoUnlock: true}) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			err := op.run()
			assertReason(t, err, ErrLocked)
			if errors.Is(err, ErrPromptDismissed) {
				t.Errorf("no prompt was shown, yet the error says dismissed: %v", err)
			}
		})
	}
	unlockDefault(t)
	if got, err := s.Get(ctx, id); err != nil || string(got) != "v" {
		t.Errorf("Get after unlocking = %q, %v; want the value unchanged", got, err)
	}
}

func TestLockedCollectionUnlockPromptDismissed(t *testing.T) {
	// gnome-keyring with no display dismisses its unlock prompt at once.
	s := openStore(t, Options{})
	ctx := testCtx(t)
	id := newID(t)
	if err := s.Put(ctx, id, []byte("v")); err != nil {
		t.Fatal(err)
	}
	lockDefault(t)
	ops := []struct {
		name string
		run  func() error
	}{
		{"get", func() error { _, err := s.Get(ctx, id); return err }},
		{"put", func() error { return s.Put(ctx, id, []byte("w")) }},
		{"list", func() error { _, err := s.List(ctx); return err }},
		{"probe", func() error { return Probe(ctx, Options{Address: keyringBus(t)}) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			err := op.run()
			assertReason(t, err, ErrPromptDismissed)
			if !errors.Is(err, ErrLocked) {
				t.Errorf("a dismissed unlock leaves the collection locked, so the error should wrap ErrLocked: %v", err)
			}
		})
	}
}

func TestUnlockPromptThatDoesNotCompleteInTimeIsDismissed(t *testing.T) {
	s := openStore(t, Options{PromptTimeout: 1}) // 1 ns: expired before any answer
	ctx := testCtx(t)
	id := newID(t)
	if err := s.Put(ctx, id, []byte("v")); err != nil {
		t.Fatal(err)
	}
	lockDefault(t)
	_, err := s.Get(ctx, id)
	assertReason(t, err, ErrPromptDismissed)
	if !strings.Contains(err.Error(), "did not complete within") {
		t.Errorf("error %q should say the prompt timed out", err)
	}
}

// assertReason checks err wraps reason, backend.ErrUnavailable, and has a
// hint.
func assertReason(t *testing.T, err, reason error) {
	t.Helper()
	if !errors.Is(err, reason) {
		t.Fatalf("error %v, want one wrapping %q", err, reason)
	}
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("error %v does not wrap backend.ErrUnavailable", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Hint() == "" {
		t.Errorf("error %v has no hint", err)
	}
}

// createRawItem creates an item in collection coll through s's session,
// bypassing Put, as another program would (its own label and attributes),
// and deletes it when the test ends.
func createRawItem(t *testing.T, s *Store, coll dbus.ObjectPath, label string, attrs map[string]string, value []byte) dbus.ObjectPath {
	t.Helper()
	ctx := testCtx(t)
	iv, ct, err := s.tr.seal(value)
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]dbus.Variant{
		propItemLabel:      dbus.MakeVariant(label),
		propItemAttributes: dbus.MakeVariant(attrs),
	}
	var item, prompt dbus.ObjectPath
	sec := secret{Session: s.session, Parameters: iv, Value: ct, ContentType: "text/plain"}
	if err := s.call(ctx, s.conn.Object(serviceName, coll), methodCreateItem, props, sec, false).Store(&item, &prompt); err != nil {
		t.Fatalf("CreateItem in %s: %v", coll, err)
	}
	if prompt != noPrompt {
		t.Fatalf("CreateItem in %s returned prompt %s; the test cannot answer prompts", coll, prompt)
	}
	t.Cleanup(func() {
		if err := s.deleteItem(context.Background(), "test cleanup", item); err != nil {
			t.Errorf("deleting %s: %v", item, err)
		}
	})
	return item
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// secretTool returns the path of libsecret's secret-tool, skipping (or in
// CI failing) the test when it is not installed.
func secretTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("secret-tool")
	if err != nil {
		testutil.SkipOrFailInCI(t, "secret-tool not installed (apt-get install libsecret-tools)")
	}
	return p
}

func TestVaultsSharingTheCollectionNeverSeeEachOthersObjects(t *testing.T) {
	a := openStore(t, Options{Vault: "aaaa"})
	b := openStore(t, Options{Vault: "bbbb"})
	none := openStore(t, Options{})
	ctx := testCtx(t)
	id := newID(t)
	for _, s := range []*Store{a, b, none} {
		t.Cleanup(func() { s.Delete(context.Background(), id) })
		if err := s.Put(ctx, id, []byte(s.opts.Vault+"-value")); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Store{a, b, none} {
		got, err := s.Get(ctx, id)
		if err != nil || string(got) != s.opts.Vault+"-value" {
			t.Fatalf("vault %q reads %q, %v", s.opts.Vault, got, err)
		}
		ids, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := countID(ids, id); n != 1 {
			t.Fatalf("vault %q lists the shared id %d times, want once", s.opts.Vault, n)
		}
	}
	if existed, err := a.Delete(ctx, id); err != nil || !existed {
		t.Fatalf("Delete in a = %v, %v", existed, err)
	}
	if got, err := b.Get(ctx, id); err != nil || string(got) != "bbbb-value" {
		t.Fatalf("after a deleted its object, b reads %q, %v", got, err)
	}
	if _, err := a.Get(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("a reads its deleted object: %v", err)
	}
}

func countID(ids []backend.ObjectID, id backend.ObjectID) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}
