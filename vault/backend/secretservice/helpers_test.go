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
	"slices"
	"strconv"
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
	dir   string // the script's SS_DIR: data/ and run/ of the keyring
	gkd   int    // pid of the running gnome-keyring-daemon
	// restarted is the daemon restartKeyring started, if any: a child of
	// the test binary, which stopKeyring stops.
	restarted *exec.Cmd
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
	cmd := exec.Command("bash", script, "sh", "-c", `printf '%s %s %s\n' "$SS_GKD_PID" "$SS_DIR" "$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null`)
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
	case l := <-line:
		// "<gkd pid> <dir> <address>": the temp dir has no spaces.
		f := strings.SplitN(l, " ", 3)
		if len(f) == 3 {
			if pid, err := strconv.Atoi(f[0]); err == nil && f[1] != "" && f[2] != "" {
				keyring.gkd, keyring.dir, keyring.addr = pid, f[1], f[2]
				return
			}
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
	if r := keyring.restarted; r != nil {
		_ = r.Process.Kill()
		_ = r.Wait()
		keyring.restarted = nil
	}
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

// restartKeyring kills the private bus's gnome-keyring-daemon and starts a
// new one on the same bus, with the same keyring directory and password.
// The bus stays up; the service's unique name changes and every transport
// session the old daemon held is gone.
func restartKeyring(t *testing.T) {
	t.Helper()
	killKeyringDaemon(t)
	startKeyringDaemon(t)
}

// busWatcher returns a connection of its own to the private bus, closed
// when the test ends.
func busWatcher(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Dial(keyringBus(t))
	if err == nil {
		if err = conn.Auth(nil); err == nil {
			err = conn.Hello()
		}
	}
	if err != nil {
		t.Fatalf("connecting to the private bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// killKeyringDaemon kills the private bus's gnome-keyring-daemon (SIGKILL:
// no chance to clean up, as in a crash) and waits until the bus has
// released org.freedesktop.secrets. Nothing owns it afterwards until
// startKeyringDaemon.
func killKeyringDaemon(t *testing.T) {
	t.Helper()
	watch := busWatcher(t)
	if r := keyring.restarted; r != nil {
		_ = r.Process.Kill()
		_ = r.Wait()
		keyring.restarted = nil
	} else if p, err := os.FindProcess(keyring.gkd); err != nil || p.Kill() != nil {
		t.Fatalf("killing gnome-keyring-daemon %d failed", keyring.gkd)
	}
	// The bus releases the name when the dead daemon's connection closes.
	if !eventually(func() bool {
		var has bool
		err := watch.BusObject().Call(methodNameHasOwner, 0, serviceName).Store(&has)
		return err == nil && !has
	}) {
		t.Fatal("org.freedesktop.secrets still owned after killing gnome-keyring-daemon")
	}
}

// startKeyringDaemon starts gnome-keyring-daemon on the private bus, with
// the keyring directory and password of the first one, the way
// scripts/secret-service-run.sh does, and waits until it owns
// org.freedesktop.secrets with the default collection unlocked. The daemon
// is a child of the test binary; stopKeyring stops it.
func startKeyringDaemon(t *testing.T) {
	t.Helper()
	watch := busWatcher(t)
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "DISPLAY=") || strings.HasPrefix(e, "WAYLAND_DISPLAY=")
	})
	cmd.Env = append(cmd.Env,
		"DBUS_SESSION_BUS_ADDRESS="+keyringBus(t),
		"XDG_RUNTIME_DIR="+filepath.Join(keyring.dir, "run"),
		"XDG_DATA_HOME="+filepath.Join(keyring.dir, "data"))
	cmd.Stdin = strings.NewReader(keyringPassword) // no trailing newline
	logf, err := os.OpenFile(keyring.log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("starting gnome-keyring-daemon: %v", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting gnome-keyring-daemon: %v", err)
	}
	keyring.restarted = cmd
	ready := eventually(func() bool {
		v, err := watch.Object(serviceName, "/org/freedesktop/secrets/aliases/default").GetProperty(ifaceCollection + "." + propLocked)
		return err == nil && v.Value() == false
	})
	if !ready {
		out, _ := os.ReadFile(keyring.log)
		t.Fatalf("the new gnome-keyring-daemon is not ready; log:\n%s", out)
	}
}

// eventually polls cond until it holds, for at most 30 s.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
