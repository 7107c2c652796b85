package secretservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/vault/backend"
)

// keyringBus returns the address of the private session bus that
// scripts/secret-service-run.sh started with a real gnome-keyring-daemon on
// it. Without one the test is skipped, except in CI (CI=true), where a
// missing real component is a failure. SS_DIR, which only the script sets,
// guards against running these tests (which lock the default collection)
// against a developer's real desktop keyring.
func keyringBus(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" || os.Getenv("SS_DIR") == "" {
		const why = "no private Secret Service: run under scripts/secret-service-run.sh"
		if isCI() {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return addr
}

// openStore opens a Store on the private bus with opts (Address filled in)
// and closes it when the test ends.
func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	opts.Address = keyringBus(t)
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newID returns a fresh random object id and deletes its items (through a
// store of its own) when the test ends.
func newID(t *testing.T) backend.ObjectID {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := backend.ObjectID("obj_" + hex.EncodeToString(b[:]))
	addr := keyringBus(t)
	t.Cleanup(func() {
		s, err := Open(context.Background(), Options{Address: addr})
		if err != nil {
			t.Errorf("cleanup: Open: %v", err)
			return
		}
		defer s.Close()
		if _, err := s.Delete(context.Background(), id); err != nil {
			t.Errorf("cleanup: Delete %s: %v", id, err)
		}
	})
	return id
}

// itemsFor returns the paths of every item carrying attrs.
func itemsFor(t *testing.T, s *Store, attrs map[string]string) []dbus.ObjectPath {
	t.Helper()
	paths, err := s.search(context.Background(), "test search", attrs)
	if err != nil {
		t.Fatalf("SearchItems: %v", err)
	}
	return paths
}

// lockDefault locks the default collection through the standard Lock
// method and arranges for it to be unlocked again, with the keyring
// password, when the test ends.
func lockDefault(t *testing.T) {
	t.Helper()
	s := openStore(t, Options{})
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err := s.call(context.Background(), s.service, ifaceService+".Lock", []dbus.ObjectPath{s.collection}).Store(&locked, &prompt)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if prompt != noPrompt {
		t.Fatalf("Lock returned prompt %s; the test cannot answer prompts", prompt)
	}
	t.Cleanup(func() { unlockDefault(t) })
	if l, err := s.collectionLocked(context.Background(), "test"); err != nil || !l {
		t.Fatalf("after Lock: Locked = %v, %v; want true", l, err)
	}
}

// unlockDefault unlocks the default collection without a prompt, through
// gnome-keyring's private interface and $SS_KEYRING_PASSWORD.
func unlockDefault(t *testing.T) {
	t.Helper()
	s, err := Open(context.Background(), Options{Address: keyringBus(t), forcePlain: true})
	if err != nil {
		t.Fatalf("unlock: Open: %v", err)
	}
	defer s.Close()
	pw := os.Getenv("SS_KEYRING_PASSWORD")
	master := secret{Session: s.session, Parameters: []byte{}, Value: []byte(pw), ContentType: "text/plain"}
	const guiltRidden = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
	if err := s.call(context.Background(), s.service, guiltRidden+".UnlockWithMasterPassword", s.collection, master).Err; err != nil {
		t.Fatalf("UnlockWithMasterPassword: %v", err)
	}
	if l, err := s.collectionLocked(context.Background(), "test"); err != nil || l {
		t.Fatalf("after unlock: Locked = %v, %v; want false", l, err)
	}
}

// ctx returns a context that ends with the test, bounded so that a bug
// cannot hang the suite.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// isCI reports whether the tests run in CI, where a missing real component
// fails the test instead of skipping it.
func isCI() bool { return os.Getenv("CI") == "true" }
