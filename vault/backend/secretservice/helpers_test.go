package secretservice

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/internal/testutil"
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
	once  sync.Once
	addr  string
	err   error
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   string
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopKeyring()
	os.Exit(code)
}

// keyringBus returns the address of the private bus with gnome-keyring on
// it, starting both on first use. When they cannot be started (the programs
// are missing) the test is skipped, except in CI (CI=true), where a missing
// real component is a failure.
func keyringBus(t *testing.T) string {
	t.Helper()
	keyring.once.Do(startKeyring)
	if keyring.err != nil {
		testutil.SkipOrFailInCI(t, keyring.err.Error())
	}
	return keyring.addr
}

// startKeyring runs `scripts/secret-service-run.sh sh -c '…'`, where the
// command prints the bus address and then waits for its stdin to close:
// closing it (or the test binary dying) makes the script stop both daemons.
func startKeyring() {
	for _, bin := range []string{"bash", "dbus-daemon", "dbus-send", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			keyring.err = fmt.Errorf("no real Secret Service: %s not installed (apt-get install gnome-keyring dbus-daemon)", bin)
			return
		}
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "..", "scripts", "secret-service-run.sh"))
	if err == nil {
		_, err = os.Stat(script)
	}
	if err != nil {
		keyring.err = fmt.Errorf("no real Secret Service: finding scripts/secret-service-run.sh: %w", err)
		return
	}
	logf, err := os.CreateTemp("", "secretservice-test-*.log")
	if err != nil {
		keyring.err = err
		return
	}
	keyring.log = logf.Name()
	cmd := exec.Command("bash", script, "sh", "-c", `printf '%s\n' "$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null`)
	cmd.Env = append(os.Environ(), "SS_KEYRING_PASSWORD="+keyringPassword, "SS_KEEP_DIR=")
	cmd.Stderr = logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		keyring.err = err
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		keyring.err = err
		return
	}
	if err := cmd.Start(); err != nil {
		keyring.err = fmt.Errorf("starting %s: %w", script, err)
		return
	}
	logf.Close()
	keyring.cmd, keyring.stdin = cmd, stdin
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr := <-line:
		if addr != "" {
			keyring.addr = addr
			return
		}
	case <-time.After(30 * time.Second):
	}
	stopKeyring()
	out, _ := os.ReadFile(keyring.log)
	keyring.err = fmt.Errorf("no real Secret Service: %s did not start one; its output:\n%s", script, out)
}

// stopKeyring closes the script's stdin, so it stops its daemons by PID,
// and waits for it (killing it after 10 s).
func stopKeyring() {
	if keyring.cmd == nil {
		return
	}
	keyring.stdin.Close()
	done := make(chan struct{})
	go func() { _ = keyring.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = keyring.cmd.Process.Kill()
		<-done
	}
	keyring.cmd = nil
	os.Remove(keyring.log)
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
