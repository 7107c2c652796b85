package secretservice

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

func TestOpenProbeAndSearchWithoutServiceFailWithErrNoService(t *testing.T) {
	cases := []struct {
		name    string
		address func(t *testing.T) string
	}{
		{"no address", func(t *testing.T) string {
			// Set in the environment, but the backend reads only Options.
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "ignored"))
			return ""
		}},
		{"socket that does not exist", func(t *testing.T) string {
			return "unix:path=" + filepath.Join(t.TempDir(), "no-such-bus")
		}},
		{"bus with no secrets owner", func(t *testing.T) string {
			return startBus(t)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Address: c.address(t), CallTimeout: 2 * time.Second}
			_, err := Open(testCtx(t), opts)
			assertReason(t, err, ErrNoService)
			assertReason(t, Probe(testCtx(t), opts), ErrNoService)
			_, err = Search(testCtx(t), opts, map[string]string{"service": "x"})
			assertReason(t, err, ErrNoService)
		})
	}
}

func TestSessionBusAddressComesFromTheGivenEnvironment(t *testing.T) {
	dir := shortTempDir(t)
	l, err := net.Listen("unix", filepath.Join(dir, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set", nil, ""},
		{"session address", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x", "XDG_RUNTIME_DIR": dir}, "unix:path=/x"},
		{"autolaunch is not an address", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}, ""},
		{"systemd user bus socket", map[string]string{"XDG_RUNTIME_DIR": dir}, "unix:path=" + dbus.EscapeBusAddressValue(filepath.Join(dir, "bus"))},
		{"runtime dir without a bus", map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}, ""},
	}
	for _, tt := range tests {
		if got := SessionBusAddress(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("%s: SessionBusAddress = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOpenAndSearchGiveUpOnBusThatNeverAnswers(t *testing.T) {
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "silent")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held open, never written to
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for c := range accepted {
			c.Close()
		}
	})
	opts := Options{Address: "unix:path=" + sock, CallTimeout: 200 * time.Millisecond}
	_, err = Open(testCtx(t), opts)
	assertReason(t, err, ErrTimeout)
	_, err = Search(testCtx(t), opts, map[string]string{"service": "x"})
	assertReason(t, err, ErrTimeout)
}

func TestOpenFailsWhenServiceHasNoDefaultCollection(t *testing.T) {
	// A gnome-keyring started without --unlock has no login keyring, so
	// the default alias resolves to nothing.
	addr := startBus(t)
	startKeyringWithoutLogin(t, addr)
	opts := Options{Address: addr}
	_, err := Open(testCtx(t), opts)
	assertReason(t, err, ErrNoDefaultCollection)
	assertReason(t, Probe(testCtx(t), opts), ErrNoDefaultCollection)
}

func TestCallerCancellationIsNotReportedAsUnavailable(t *testing.T) {
	s := openStore(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Get(ctx, newID(t))
	if !errors.Is(err, context.Canceled) || errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Get with cancelled context: %v, want context.Canceled and not ErrUnavailable", err)
	}
}

// needBinary returns the path of a program the test needs, skipping (or
// in CI failing) the test when it is missing.
func needBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testutil.SkipOrFailInCI(t, name+" not installed")
	}
	return p
}

// shortTempDir is t.TempDir with a path short enough for a unix socket.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startBus starts a private dbus-daemon (no service activation) that the
// test owns and stops, and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	bin := needBinary(t, "dbus-daemon")
	dir := shortTempDir(t)
	conf := filepath.Join(dir, "bus.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, dir)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading dbus-daemon address: %v", err)
	}
	return strings.TrimSpace(line)
}

// startKeyringWithoutLogin starts gnome-keyring-daemon (secrets component,
// no --unlock, so no login keyring) on the bus at addr, with its own data
// dir, and waits until it owns org.freedesktop.secrets.
func startKeyringWithoutLogin(t *testing.T, addr string) {
	t.Helper()
	bin := needBinary(t, "gnome-keyring-daemon")
	dir := shortTempDir(t)
	for _, d := range []string{"run", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--foreground", "--components=secrets")
	cmd.Env = []string{
		"DBUS_SESSION_BUS_ADDRESS=" + addr,
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := connect(ctx, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for {
		var has bool
		if err := conn.BusObject().CallWithContext(ctx, methodNameHasOwner, 0, serviceName).Store(&has); err != nil {
			t.Fatal(err)
		}
		if has {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("gnome-keyring-daemon did not take org.freedesktop.secrets within 20s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
