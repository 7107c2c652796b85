//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package run_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"

	"github.com/creack/pty"

	"github.com/palyra/palyra-vault/internal/cli"
	"github.com/palyra/palyra-vault/internal/cli/lean"
	"github.com/palyra/palyra-vault/internal/iostreams"
)

// These tests run the real palyra binary (this test binary, re-executed
// as palyra) as a separate process, so that signals and terminals reach it
// exactly as they would from a shell. It is palyra as installed: the lean
// front (package lean), which serves "secrets run" itself and hands what
// it does not serve to palyra-extra's cobra tree, here in the same
// process.

const asPalyra = "PALYRA_RUN_TEST_AS_PALYRA"

func TestMain(m *testing.M) {
	if os.Getenv(asPalyra) == "1" {
		os.Exit(lean.Run(context.Background(), iostreams.System(), os.Args[1:], func(_, args []string) error {
			os.Exit(cli.Run(context.Background(), iostreams.System(), args))
			return nil
		}))
	}
	if socket := os.Getenv(asFakeDaemon); socket != "" {
		os.Exit(fakeDaemonMain(socket))
	}
	os.Exit(m.Run())
}

const secret = "sk-test-0123456789"

// env is a scratch vault holding global/a = secret.
type env struct {
	dir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	cmd := e.palyra("secrets", "set", "global", "a")
	cmd.Stdin = strings.NewReader(secret)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("storing the secret: %v\n%s", err, out)
	}
	return e
}

func (e *env) palyra(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), asPalyra+"=1",
		"PALYRA_STATE_ROOT="+filepath.Join(e.dir, "state"),
		"PALYRA_VAULT_DIR="+filepath.Join(e.dir, "vault"),
		"PALYRA_VAULT_BACKEND=encrypted_file",
		"TERM=xterm")
	return cmd
}

// waitFile waits until the command under test creates name.
func (e *env) waitFile(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(e.dir, name)); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command never created %s", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for cmd, killing it after a generous deadline, and returns
// its exit code.
func wait(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("waiting for palyra: %v", err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("palyra did not exit")
		return 0
	}
}

// trapScript traps sig, says so and exits 7; it touches "ready" once the
// trap is set.
func trapScript(sig string) string {
	return `trap 'echo "got ` + sig + ` $A"; exit 7' ` + sig + `; touch ready; while :; do sleep 0.05; done`
}

func TestRunForwardsSignalsToTheCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1} {
		name := strings.TrimPrefix(strings.ToUpper(unixName(sig)), "SIG")
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			cmd := e.palyra("secrets", "run", "--env", "A=vault://global/a", "--", "sh", "-c", trapScript(name))
			var out bytes.Buffer
			cmd.Stdout = &out
			// A session of its own: no controlling terminal, as under a
			// service manager, so nothing but palyra passes signals on.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			e.waitFile(t, "ready")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := wait(t, cmd); code != 7 {
				t.Fatalf("exit code %d, want the command's 7; stdout %q", code, out.String())
			}
			if got := out.String(); got != "got "+name+" [REDACTED]\n" {
				t.Fatalf("stdout = %q", got)
			}
		})
	}
}

func unixName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGQUIT:
		return "QUIT"
	case syscall.SIGUSR1:
		return "USR1"
	}
	return sig.String()
}

func TestRunExitsWith128PlusTheSignalThatKilledTheCommand(t *testing.T) {
	e := newEnv(t)
	cmd := e.palyra("secrets", "run", "--env", "A=vault://global/a", "--", "sh", "-c", "touch ready; while :; do sleep 0.05; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.waitFile(t, "ready")
	cmd.Process.Signal(syscall.SIGTERM) // sh has no trap: it dies of it
	if code := wait(t, cmd); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit code %d, want %d", code, 128+int(syscall.SIGTERM))
	}
}

// onTerminal starts cmd with a new pseudo-terminal as its controlling
// terminal and as the streams named (stdin, stdout, stderr), the others
// being pipes into the returned buffers. It returns the master side and
// what palyra wrote to the terminal.
func onTerminal(t *testing.T, cmd *exec.Cmd, rows, cols uint16, stdin, stdout, stderr bool) (*os.File, *testutil.SyncBuffer, *bytes.Buffer, func()) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	var piped bytes.Buffer
	ctty := -1
	if stdin {
		cmd.Stdin, ctty = tty, 0
	}
	if stdout {
		cmd.Stdout = tty
		if ctty < 0 {
			ctty = 1
		}
	} else {
		cmd.Stdout = &piped
	}
	if stderr {
		cmd.Stderr = tty
	} else {
		cmd.Stderr = &piped
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: ctty}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen testutil.SyncBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&screen, ptmx); close(copied) }()
	return ptmx, &screen, &piped, func() {
		select {
		case <-copied:
		case <-time.After(30 * time.Second):
			t.Error("the terminal output never ended")
		}
		ptmx.Close()
	}
}

func TestRunOnATerminalGivesTheCommandATerminalAndMasksIt(t *testing.T) {
	e := newEnv(t)
	script := `test -t 0 && test -t 1 && test -t 2 && echo "all terminals"
stty size
printf '\033[1;31mred\033[0m key=%s\n' "$A"
printf 'split %.5s' "$A"; printf '%s done\n' "${A#?????}"
echo "err $A" >&2
read line; echo "read [$line]"`
	cmd := e.palyra("secrets", "run", "--env", "A=vault://global/a", "--", "sh", "-c", script)
	ptmx, screen, _, finish := onTerminal(t, cmd, 33, 77, true, true, true)
	ptmx.Write([]byte("typed line\r"))
	if code := wait(t, cmd); code != 0 {
		t.Fatalf("exit code %d; screen %q", code, screen.String())
	}
	finish()
	got := screen.String()
	for _, want := range []string{
		"all terminals",
		"33 77",                               // the terminal's size was passed on
		"\x1b[1;31mred\x1b[0m key=[REDACTED]", // escape sequences survive, the secret does not
		"split [REDACTED] done",
		"err [REDACTED]",
		"read [typed line]", // keystrokes reach the command
	} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%q", want, got)
		}
	}
	if strings.Contains(got, secret) || strings.Contains(got, secret[:10]) {
		t.Fatalf("the secret reached the screen: %q", got)
	}
}

func TestRunOnATerminalFollowsWindowSizeChanges(t *testing.T) {
	e := newEnv(t)
	script := `trap 'stty size; exit 0' WINCH; touch ready; while :; do sleep 0.05; done`
	cmd := e.palyra("secrets", "run", "--env", "A=vault://global/a", "--", "sh", "-c", script)
	ptmx, screen, _, finish := onTerminal(t, cmd, 24, 80, true, true, true)
	e.waitFile(t, "ready")
	// Resizing the terminal sends SIGWINCH to palyra, its foreground
	// process, which resizes the command's terminal.
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	if code := wait(t, cmd); code != 0 {
		t.Fatalf("exit code %d; screen %q", code, screen.String())
	}
	finish()
	if !strings.Contains(screen.String(), "40 100") {
		t.Fatalf("the command did not see the new size: %q", screen.String())
	}
}

func TestRunOnATerminalPassesCtrlCToTheCommandOnce(t *testing.T) {
	e := newEnv(t)
	script := `n=0; trap 'n=$((n+1))' INT; touch ready; i=0; while [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done; echo "interrupts $n"`
	cmd := e.palyra("secrets", "run", "--env", "A=vault://global/a", "--", "sh", "-c", script)
	ptmx, screen, _, finish := onTerminal(t, cmd, 24, 80, true, true, true)
	e.waitFile(t, "ready")
	ptmx.Write([]byte{3}) // Ctrl-C
	if code := wait(t, cmd); code != 0 {
		t.Fatalf("exit code %d; screen %q", code, screen.String())
	}
	finish()
	if !strings.Contains(screen.String(), "interrupts 1") {
		t.Fatalf("screen = %q, want exactly one interrupt", screen.String())
	}
}

func TestRunWithPipesDoesNotDoubleCtrlCFromTheTerminal(t *testing.T) {
	// palyra's stdin is a terminal but its stdout is a pipe: the command
	// shares palyra's process group, so Ctrl-C reaches it from the
	// terminal and palyra must not send a second one.
	e := newEnv(t)
	script := `n=0; trap 'n=$((n+1))' INT; touch ready; i=0; while [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done; echo "interrupts $n $A"`
	cmd := e.palyra("secrets", "run", "--env", "A=vault://global/a", "--", "sh", "-c", script)
	ptmx, _, piped, finish := onTerminal(t, cmd, 24, 80, true, false, false)
	e.waitFile(t, "ready")
	ptmx.Write([]byte{3})
	code := wait(t, cmd)
	finish()
	if code != 0 || piped.String() != "interrupts 1 [REDACTED]\n" {
		t.Fatalf("exit code %d, output %q; want one interrupt", code, piped.String())
	}
}

func TestRunWithoutATerminalUsesPipes(t *testing.T) {
	e := newEnv(t)
	cmd := e.palyra("secrets", "run", "--env", "A=vault://global/a", "--", "sh", "-c", `test -t 1 || echo "not a terminal $A"`)
	out, err := cmd.Output()
	if err != nil || string(out) != "not a terminal [REDACTED]\n" {
		t.Fatalf("output %q, %v", out, err)
	}
}

func TestRunNoMaskingOnATerminalConnectsTheTerminalDirectly(t *testing.T) {
	e := newEnv(t)
	cmd := e.palyra("secrets", "run", "--no-masking", "--env", "A=vault://global/a", "--", "sh", "-c", `test -t 1 && echo "tty $A"`)
	_, screen, _, finish := onTerminal(t, cmd, 24, 80, true, true, true)
	if code := wait(t, cmd); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	finish()
	if !strings.Contains(screen.String(), "tty "+secret) {
		t.Fatalf("screen = %q", screen.String())
	}
}

// A reference written as a TOML inline table needs palyra-extra's
// decoder: palyra hands the whole command line over before it resolves
// or runs anything, and the command runs once, as it would have. From an
// env file that is a pipe, palyra-extra reads it (palyra never does: a
// pipe can be read only once).
func TestRunHandsInlineTablesToPalyraExtraAndRunsOnce(t *testing.T) {
	e := newEnv(t)
	script := `echo x >> count; printf '%s|%s\n' "$A" "$T"`
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"in --env", []string{"--env", `T={ env = "PALYRA_RUN_TEST_T" }`}, ""},
		{"in an env file on a pipe", []string{"--env-file", "/dev/stdin"}, "T={ env = \"PALYRA_RUN_TEST_T\" }\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(filepath.Join(e.dir, "count"))
			args := append(append([]string{"secrets", "run", "--env", "A=vault://global/a"}, tt.args...), "--", "sh", "-c", script)
			cmd := e.palyra(args...)
			cmd.Env = append(cmd.Env, "PALYRA_RUN_TEST_T=t-value")
			cmd.Stdin = strings.NewReader(tt.stdin)
			out, err := cmd.Output()
			if err != nil || string(out) != "[REDACTED]|[REDACTED]\n" {
				t.Fatalf("output %q, %v", out, err)
			}
			if n, _ := os.ReadFile(filepath.Join(e.dir, "count")); string(n) != "x\n" {
				t.Fatalf("the command ran %d times", strings.Count(string(n), "x"))
			}
		})
	}
}
