// Package keyringproc runs, for tests, a real Secret Service of their own:
// a private session bus with gnome-keyring-daemon on it, started through
// the project's scripts/secret-service-run.sh, which a test may lock, wipe
// and restart without disturbing any other test or the user's keyring.
package keyringproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

const serviceName = "org.freedesktop.secrets"

// Keyring is a running private bus with gnome-keyring-daemon on it.
type Keyring struct {
	// Addr is the D-Bus address of the private bus.
	Addr string
	// Dir is the script's temporary directory (SS_DIR): the keyring file
	// under data/, the daemon's runtime directory run/.
	Dir string
	// Password unlocks the login keyring.
	Password string

	cmd       *exec.Cmd      // the script
	stdin     io.WriteCloser // closing it makes the script stop both daemons
	log       string         // the script's and the daemons' output
	gkd       int            // pid of the script's gnome-keyring-daemon
	restarted *exec.Cmd      // the daemon StartDaemon started, if any
}

// Start runs scripts/secret-service-run.sh (found by walking up from the
// working directory to go.mod) with a command that prints the bus address
// and waits for its stdin to close. It fails when a program is missing
// (the message says what to install) or the script does not get ready in
// 30 s. The Keyring must be stopped.
func Start(password string) (*Keyring, error) {
	for _, bin := range []string{"bash", "dbus-daemon", "dbus-send", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("no real Secret Service: %s not installed (apt-get install gnome-keyring dbus-daemon)", bin)
		}
	}
	script, err := findScript()
	if err != nil {
		return nil, fmt.Errorf("no real Secret Service: finding scripts/secret-service-run.sh: %w", err)
	}
	logf, err := os.CreateTemp("", "secretservice-test-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	k := &Keyring{Password: password, log: logf.Name()}
	cmd := exec.Command("bash", script, "sh", "-c", `printf '%s %s %s\n' "$SS_GKD_PID" "$SS_DIR" "$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null`)
	cmd.Env = append(os.Environ(), "SS_KEYRING_PASSWORD="+password, "SS_KEEP_DIR=")
	cmd.Stderr = logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.Remove(k.log)
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.Remove(k.log)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.Remove(k.log)
		return nil, fmt.Errorf("starting %s: %w", script, err)
	}
	k.cmd, k.stdin = cmd, stdin
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case l := <-line:
		// "<gkd pid> <dir> <address>": the temp dir has no spaces.
		if f := strings.SplitN(l, " ", 3); len(f) == 3 && f[1] != "" && f[2] != "" {
			if pid, err := strconv.Atoi(f[0]); err == nil {
				k.gkd, k.Dir, k.Addr = pid, f[1], f[2]
				return k, nil
			}
		}
	case <-time.After(30 * time.Second):
	}
	out, _ := os.ReadFile(k.log)
	k.Stop()
	return nil, fmt.Errorf("no real Secret Service: %s did not start one; its output:\n%s", script, out)
}

func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "scripts", "secret-service-run.sh")
			_, err := os.Stat(p)
			return p, err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Stop stops a daemon StartDaemon started, closes the script's stdin so
// that it stops its daemons by PID, and waits for it (killing it after
// 10 s). It is safe to call more than once.
func (k *Keyring) Stop() {
	k.stopRestarted()
	if k.cmd == nil {
		return
	}
	k.stdin.Close()
	done := make(chan struct{})
	go func() { _ = k.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = k.cmd.Process.Kill()
		<-done
	}
	k.cmd = nil
	os.Remove(k.log)
}

func (k *Keyring) stopRestarted() {
	if r := k.restarted; r != nil {
		_ = r.Process.Kill()
		_ = r.Wait()
		k.restarted = nil
	}
}

// Running reports whether a gnome-keyring-daemon is running (not killed by
// Kill without StartDaemon since).
func (k *Keyring) Running() bool { return k.restarted != nil || k.gkd != 0 }

// Restart kills gnome-keyring-daemon and starts a new one on the same bus
// with the same keyring directory and password. The bus stays up; the
// service's unique name changes and every session the old daemon held is
// gone.
func (k *Keyring) Restart() error {
	if err := k.Kill(); err != nil {
		return err
	}
	return k.StartDaemon()
}

// Kill kills gnome-keyring-daemon with SIGKILL (no chance to clean up, as
// in a crash) and waits until the bus has released org.freedesktop.secrets.
// Nothing owns the name afterwards until StartDaemon.
func (k *Keyring) Kill() error {
	watch, err := k.dial()
	if err != nil {
		return err
	}
	defer watch.Close()
	switch {
	case k.restarted != nil:
		k.stopRestarted()
	case k.gkd != 0:
		p, err := os.FindProcess(k.gkd)
		if err == nil {
			err = p.Kill()
		}
		if err != nil {
			return fmt.Errorf("killing gnome-keyring-daemon %d: %w", k.gkd, err)
		}
		k.gkd = 0
	default:
		return errors.New("killing gnome-keyring-daemon: none is running")
	}
	// The bus releases the name when the dead daemon's connection closes.
	if !eventually(func() bool {
		var has bool
		err := watch.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, serviceName).Store(&has)
		return err == nil && !has
	}) {
		return errors.New(serviceName + " still owned after killing gnome-keyring-daemon")
	}
	return nil
}

// StartDaemon starts gnome-keyring-daemon on the bus, with the keyring
// directory and password of the first one, the way
// scripts/secret-service-run.sh does, and waits until it owns
// org.freedesktop.secrets with the default collection unlocked. The daemon
// is a child of the calling process; Kill and Stop stop it.
func (k *Keyring) StartDaemon() error {
	if k.Running() {
		return errors.New("starting gnome-keyring-daemon: one is running")
	}
	watch, err := k.dial()
	if err != nil {
		return err
	}
	defer watch.Close()
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "DISPLAY=") || strings.HasPrefix(e, "WAYLAND_DISPLAY=")
	})
	cmd.Env = append(cmd.Env,
		"DBUS_SESSION_BUS_ADDRESS="+k.Addr,
		"XDG_RUNTIME_DIR="+filepath.Join(k.Dir, "run"),
		"XDG_DATA_HOME="+filepath.Join(k.Dir, "data"))
	cmd.Stdin = strings.NewReader(k.Password) // no trailing newline
	logf, err := os.OpenFile(k.log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("starting gnome-keyring-daemon: %w", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting gnome-keyring-daemon: %w", err)
	}
	k.restarted = cmd
	ready := eventually(func() bool {
		v, err := watch.Object(serviceName, "/org/freedesktop/secrets/aliases/default").
			GetProperty("org.freedesktop.Secret.Collection.Locked")
		return err == nil && v.Value() == false
	})
	if !ready {
		out, _ := os.ReadFile(k.log)
		return fmt.Errorf("the new gnome-keyring-daemon is not ready; log:\n%s", out)
	}
	return nil
}

// dial connects to the private bus.
func (k *Keyring) dial() (*dbus.Conn, error) {
	conn, err := dbus.Dial(k.Addr)
	if err == nil {
		if err = conn.Auth(nil); err == nil {
			err = conn.Hello()
		}
		if err != nil {
			conn.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to the private bus: %w", err)
	}
	return conn, nil
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

// defaultCollection is the object path of the default alias.
const defaultCollection = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")

// Lock locks the default collection through the standard Service.Lock,
// which gnome-keyring does without a prompt, and checks that it is locked.
// Unlocking it then needs a prompt, which this keyring (with no display and
// no prompter on its bus) can never show: the "keyring over SSH" case.
func (k *Keyring) Lock() error {
	conn, err := k.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	coll, err := k.collection(conn)
	if err != nil {
		return err
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err = conn.Object(serviceName, "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{coll}).Store(&locked, &prompt)
	if err != nil {
		return fmt.Errorf("locking the default collection: %w", err)
	}
	if prompt != "/" {
		return fmt.Errorf("locking the default collection: the service asks for prompt %s", prompt)
	}
	return k.expectLocked(conn, true)
}

// Unlock unlocks the default collection without a prompt, with the keyring
// password, through gnome-keyring's private interface
// org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface
// (UnlockWithMasterPassword, over a plain transport session: the bus is
// private), and checks that it is unlocked.
func (k *Keyring) Unlock() error {
	conn, err := k.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	coll, err := k.collection(conn)
	if err != nil {
		return err
	}
	svc := conn.Object(serviceName, "/org/freedesktop/secrets")
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		return fmt.Errorf("opening a plain session: %w", err)
	}
	master := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(k.Password), "text/plain"}
	const guiltRidden = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
	if err := svc.Call(guiltRidden+".UnlockWithMasterPassword", 0, coll, master).Err; err != nil {
		return fmt.Errorf("UnlockWithMasterPassword: %w", err)
	}
	return k.expectLocked(conn, false)
}

// collection resolves the default alias to its collection's path.
func (k *Keyring) collection(conn *dbus.Conn) (dbus.ObjectPath, error) {
	var coll dbus.ObjectPath
	err := conn.Object(serviceName, "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&coll)
	if err != nil || coll == "/" {
		return "", fmt.Errorf("resolving the default collection: %v (path %q)", err, coll)
	}
	return coll, nil
}

// expectLocked checks the default collection's Locked property.
func (k *Keyring) expectLocked(conn *dbus.Conn, want bool) error {
	v, err := conn.Object(serviceName, defaultCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return fmt.Errorf("reading Locked: %w", err)
	}
	if v.Value() != want {
		return fmt.Errorf("the default collection has Locked = %v, want %v", v.Value(), want)
	}
	return nil
}
