//go:build linux || darwin

package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// fakeDaemonEnv makes the test binary a fake daemon listening on the
// socket it names: it answers every resolve with fakeValue and prints one
// line per request it receives.
const fakeDaemonEnv = "PALYRA_API_TEST_FAKE_DAEMON"

const fakeValue = "attacker-chosen-value"

func TestMain(m *testing.M) {
	if socket := os.Getenv(fakeDaemonEnv); socket != "" {
		os.Exit(fakeDaemonMain(socket))
	}
	os.Exit(m.Run())
}

func fakeDaemonMain(socket string) int {
	ln, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("request " + r.URL.Path)
		body, _ := AppendResolveResponse(nil, ResolveResponse{Fingerprint: "vault://global/a", Refresh: "on_startup",
			Vault: &VaultMetadata{Scope: "global", Key: "a"}}, []byte(fakeValue))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// fakeDaemon is a fake daemon process and what it printed.
type fakeDaemon struct {
	socket string
	lines  chan string
}

// startFakeDaemon runs bin as a fake daemon on dir/name.sock, as cred (nil:
// as this process's user), and waits until it listens.
func startFakeDaemon(t *testing.T, bin, dir, name string, cred *syscall.Credential) *fakeDaemon {
	t.Helper()
	f := &fakeDaemon{socket: filepath.Join(dir, name+".sock"), lines: make(chan string, 100)}
	cmd := exec.Command(bin)
	cmd.Env = []string{fakeDaemonEnv + "=" + f.socket, "GORACE=atexit_sleep_ms=0"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the fake daemon: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		close(f.lines)
	}()
	select {
	case l := <-f.lines:
		if l != "ready" {
			t.Fatalf("fake daemon said %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the fake daemon did not start listening")
	}
	return f
}

// requests returns the requests the fake daemon has reported so far.
func (f *fakeDaemon) requests() []string {
	var got []string
	for {
		select {
		case l, ok := <-f.lines:
			if !ok {
				return got
			}
			got = append(got, l)
		case <-time.After(200 * time.Millisecond):
			return got
		}
	}
}

// TestClientRefusesAListenerOfAnotherUser runs a real listener process as
// nobody (uid 65534) at the socket path: the client must send it nothing
// and take nothing from it. The same listener run as this user is asked and
// answered, which shows the refusal is the client's doing.
func TestClientRefusesAListenerOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root: it runs a listener as nobody (uid 65534) with setuid")
	}
	dir, err := os.MkdirTemp("", "palyra-api-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // nobody runs the binary in it
		t.Fatal(err)
	}
	bin := testutil.CopyTestBinary(t, dir, "fake-daemon")
	sockets := filepath.Join(dir, "sockets")
	if err := os.Mkdir(sockets, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sockets, 0o777); err != nil { // past the umask: nobody creates its socket here
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("another user", func(t *testing.T) {
		f := startFakeDaemon(t, bin, sockets, "nobody", &syscall.Credential{Uid: 65534, Gid: 65534})
		c := NewClient(f.socket)
		defer c.Close()
		resp, rerr := c.Resolve(ctx, ResolveRequest{Ref: "vault://global/a"})
		if resp.Value.Len() != 0 {
			t.Errorf("Resolve returned %d bytes from the listener", resp.Value.Len())
		}
		_, herr := c.Health(ctx)
		_, serr := c.Status(ctx)
		for _, err := range []error{rerr, herr, serr} {
			if !errors.Is(err, ErrUntrustedDaemon) || errors.Is(err, ErrNotRunning) {
				t.Errorf("err = %v, want ErrUntrustedDaemon", err)
				continue
			}
			for _, want := range []string{f.socket, "runs as uid 65534", "nothing was sent to it"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		}
		if got := f.requests(); len(got) != 0 {
			t.Errorf("the listener of another user received %q", got)
		}
	})

	t.Run("this user", func(t *testing.T) {
		f := startFakeDaemon(t, bin, sockets, "self", nil)
		c := NewClient(f.socket)
		defer c.Close()
		resp, err := c.Resolve(ctx, ResolveRequest{Ref: "vault://global/a"})
		if err != nil {
			t.Fatalf("Resolve from a listener of this user: %v", err)
		}
		defer resp.Value.Wipe()
		if string(resp.Value.Reveal()) != fakeValue {
			t.Fatalf("Resolve = %q, want the listener's answer", resp.Value.Reveal())
		}
		if got := f.requests(); len(got) != 1 || got[0] != "request "+PathResolve {
			t.Fatalf("the listener received %q", got)
		}
	})
}
