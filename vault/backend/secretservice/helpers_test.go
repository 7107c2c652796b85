package secretservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/internal/testutil/keyringproc"
	"github.com/palyra/palyra-vault/vault/backend"
)

// The tests of this package run against a real gnome-keyring-daemon on a
// private session bus that the test binary starts itself, through the
// project's scripts/secret-service-run.sh, and stops in TestMain. They do
// not use a bus from the environment (not even the one the same script
// gives `go test ./...`): they lock the default collection, wipe every item
// of our schema and need List to see only their own objects, which would
// break the tests of other packages running at the same time against a
// shared keyring, or a developer's real desktop keyring.

// keyringPassword unlocks the private login keyring.
const keyringPassword = "palyra-secretservice-test"

var keyring struct {
	once sync.Once
	k    *keyringproc.Keyring
	addr string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if keyring.k != nil {
		keyring.k.Stop()
	}
	os.Exit(code)
}

// keyringBus returns the address of the private bus with gnome-keyring on
// it, starting both on first use (keyringproc.Start runs
// scripts/secret-service-run.sh). When they cannot be started (the programs
// are missing) the test is skipped, except in CI (CI=true), where a missing
// real component is a failure.
func keyringBus(t *testing.T) string {
	t.Helper()
	keyring.once.Do(func() {
		keyring.k, keyring.err = keyringproc.Start(keyringPassword)
		if keyring.err == nil {
			keyring.addr = keyring.k.Addr
		}
	})
	if keyring.err != nil {
		testutil.SkipOrFailInCI(t, keyring.err.Error())
	}
	return keyring.addr
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

// wipe deletes every item of our schema from the private keyring.
func wipe(t *testing.T) {
	t.Helper()
	s, err := Open(context.Background(), Options{Address: keyringBus(t)})
	if err != nil {
		t.Fatalf("wipe: Open: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, p := range itemsFor(t, s, map[string]string{AttrSchema: Schema}) {
		if err := s.deleteItem(ctx, "wipe", p); err != nil {
			t.Fatalf("wipe: %v", err)
		}
	}
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
// gnome-keyring's private interface and the keyring password.
func unlockDefault(t *testing.T) {
	t.Helper()
	s, err := Open(context.Background(), Options{Address: keyringBus(t), forcePlain: true})
	if err != nil {
		t.Fatalf("unlock: Open: %v", err)
	}
	defer s.Close()
	master := secret{Session: s.session, Parameters: []byte{}, Value: []byte(keyringPassword), ContentType: "text/plain"}
	const guiltRidden = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
	if err := s.call(context.Background(), s.service, guiltRidden+".UnlockWithMasterPassword", s.collection, master).Err; err != nil {
		t.Fatalf("UnlockWithMasterPassword: %v", err)
	}
	if l, err := s.collectionLocked(context.Background(), "test"); err != nil || l {
		t.Fatalf("after unlock: Locked = %v, %v; want false", l, err)
	}
}

// testCtx returns a context that ends with the test, bounded so that a bug
// cannot hang the suite.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// restartKeyring kills the private bus's gnome-keyring-daemon and starts a
// new one on the same bus, with the same keyring directory and password.
// The bus stays up; the service's unique name changes and every transport
// session the old daemon held is gone.
func restartKeyring(t *testing.T) {
	t.Helper()
	keyringBus(t)
	if err := keyring.k.Restart(); err != nil {
		t.Fatal(err)
	}
}

// killKeyringDaemon kills the private bus's gnome-keyring-daemon, as in a
// crash; nothing owns org.freedesktop.secrets until startKeyringDaemon.
// The daemon is started again when the test ends if it is not running.
func killKeyringDaemon(t *testing.T) {
	t.Helper()
	keyringBus(t)
	if err := keyring.k.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !keyring.k.Running() {
			if err := keyring.k.StartDaemon(); err != nil {
				t.Error(err)
			}
		}
	})
}

// startKeyringDaemon starts gnome-keyring-daemon again after
// killKeyringDaemon, with the same keyring directory and password.
func startKeyringDaemon(t *testing.T) {
	t.Helper()
	if err := keyring.k.StartDaemon(); err != nil {
		t.Fatal(err)
	}
}
