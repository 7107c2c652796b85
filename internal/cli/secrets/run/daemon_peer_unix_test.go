//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package run_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/testutil"
)

// asFakeDaemon makes the test binary a listener on the socket it names
// that answers every resolve with attackerValue, as a process of another
// user could at a daemon socket path.
const asFakeDaemon = "PALYRA_RUN_TEST_AS_FAKE_DAEMON"

const attackerValue = "attacker-chosen-value"

func fakeDaemonMain(socket string) int {
	ln, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := api.AppendResolveResponse(nil, api.ResolveResponse{Fingerprint: "vault://global/a", Refresh: "on_startup",
			Vault: &api.VaultMetadata{Scope: "global", Key: "a"}}, []byte(attackerValue))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// TestRunAndGetIgnoreADaemonSocketOfAnotherUser puts a listener running as
// nobody (uid 65534) at the daemon socket path: palyra secrets get --reveal
// and run must not take its answer. With --daemon require they fail
// naming it; with --daemon auto they read the vault.
func TestRunAndGetIgnoreADaemonSocketOfAnotherUser(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("peer credentials are read on Linux and macOS only; elsewhere the client trusts no listener")
	}
	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root: it runs a listener as nobody (uid 65534) with setuid")
	}
	dir, err := os.MkdirTemp("", "palyra-run-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil { // nobody runs the binary and makes its socket here
		t.Fatal(err)
	}
	bin := testutil.CopyTestBinary(t, dir, "fake-daemon")
	socket := filepath.Join(dir, "daemon.sock")
	daemon := exec.Command(bin)
	daemon.Env = []string{asFakeDaemon + "=" + socket, "GORACE=atexit_sleep_ms=0"}
	daemon.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	daemon.Stderr = os.Stderr
	ready, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	line := make([]byte, 6)
	if _, err := ready.Read(line); err != nil || string(line) != "ready\n" {
		t.Fatalf("the fake daemon did not start: %q %v", line, err)
	}

	// The vault at the state root's default place, so that --daemon auto
	// asks the daemon first (a $PALYRA_VAULT_DIR would skip it).
	e := newEnv(t)
	palyra := func(args ...string) *exec.Cmd {
		cmd := e.palyra(args...)
		var env []string
		for _, kv := range cmd.Env {
			if !strings.HasPrefix(kv, "PALYRA_VAULT_DIR=") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, api.EnvSocket+"="+socket)
		return cmd
	}
	set := palyra("secrets", "set", "global", "a")
	set.Stdin = strings.NewReader(secret)
	if out, err := set.CombinedOutput(); err != nil {
		t.Fatalf("storing the secret: %v\n%s", err, out)
	}

	tests := []struct {
		name     string
		args     []string
		wantOut  string // stdout when it succeeds, "" when it must fail
		wantErrs []string
	}{
		{"get auto reads the vault", []string{"secrets", "get", "global", "a", "--reveal"}, secret, nil},
		{"run auto reads the vault", []string{"secrets", "run", "--env", "A=vault://global/a", "--no-masking", "--", "sh", "-c", `printf %s "$A"`}, secret, nil},
		{"get require fails", []string{"secrets", "get", "global", "a", "--reveal", "--daemon", "require"}, "",
			[]string{"runs as uid 65534", "nothing was sent to it", "palyra: hint: it is not your palyra daemon"}},
		{"run require fails", []string{"secrets", "run", "--daemon", "require", "--env", "A=vault://global/a", "--no-masking", "--", "sh", "-c", `printf %s "$A"`}, "",
			[]string{"runs as uid 65534", "nothing was run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := palyra(tt.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("palyra did not exit")
			}
			if strings.Contains(stdout.String()+stderr.String(), attackerValue) {
				t.Fatalf("palyra took the listener's answer:\nstdout %q\nstderr %q", stdout.String(), stderr.String())
			}
			if tt.wantOut != "" {
				if err != nil || stdout.String() != tt.wantOut {
					t.Fatalf("err %v, stdout %q, want %q; stderr %q", err, stdout.String(), tt.wantOut, stderr.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("succeeded with stdout %q", stdout.String())
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q does not say %q", stderr.String(), want)
				}
			}
		})
	}
}
