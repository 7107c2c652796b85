package iostreams

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// TestPromptTerminalReadsWithoutEcho drives the real prompt through a
// pseudo-terminal: the prompt reaches the terminal, the typed line comes
// back without its newline, and the terminal never echoes it.
func TestPromptTerminalReadsWithoutEcho(t *testing.T) {
	ctrl, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ctrl.Close()
	defer tty.Close()

	type result struct {
		line []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := promptTerminal(tty, tty, "Value: ")
		done <- result{line, err}
	}()
	waitEchoOff(t, tty)
	if _, err := ctrl.Write([]byte("sk-typed-123\n")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || string(r.line) != "sk-typed-123" {
		t.Fatalf("promptTerminal = %q, %v; want %q, nil", r.line, r.err, "sk-typed-123")
	}
	tty.Close()
	seen, _ := io.ReadAll(ctrl) // ends with EIO once the tty side is closed
	if !bytes.Contains(seen, []byte("Value: ")) {
		t.Errorf("terminal output %q lacks the prompt", seen)
	}
	if bytes.Contains(seen, []byte("sk-typed")) {
		t.Errorf("terminal echoed the secret: %q", seen)
	}
}

// TestPromptTerminalRestoresEcho checks the terminal's echo flag is back on
// after a prompt.
func TestPromptTerminalRestoresEcho(t *testing.T) {
	ctrl, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ctrl.Close()
	defer tty.Close()
	go io.Copy(io.Discard, ctrl)
	done := make(chan error, 1)
	go func() {
		_, err := promptTerminal(tty, io.Discard, "Value: ")
		done <- err
	}()
	waitEchoOff(t, tty)
	ctrl.Write([]byte("x\n"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !echoOn(t, tty) {
		t.Fatal("echo still off after the prompt returned")
	}
}

func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// waitEchoOff waits until the prompt has switched the terminal's echo off,
// so that input written afterwards cannot be echoed by the line discipline.
func waitEchoOff(t *testing.T, f *os.File) {
	t.Helper()
	for echoOn(t, f) { // the test binary's deadline bounds this loop
		time.Sleep(time.Millisecond)
	}
}

// TestPromptTerminalCtrlDAfterALineEndsInput answers one prompt, then
// presses Ctrl-D at the next: the second prompt must report the end of
// input (term.ReadPassword's byte-wise reads hang here on Linux).
func TestPromptTerminalCtrlDAfterALineEndsInput(t *testing.T) {
	ctrl, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ctrl.Close()
	defer tty.Close()
	go io.Copy(io.Discard, ctrl)

	for i, input := range []string{"first\n", "\x04"} {
		done := make(chan error, 1)
		go func() {
			line, err := promptTerminal(tty, io.Discard, "Value: ")
			if err == nil && string(line) != "first" {
				err = fmt.Errorf("got %q, want %q", line, "first")
			}
			done <- err
		}()
		waitEchoOff(t, tty)
		ctrl.Write([]byte(input))
		err := <-done
		if i == 0 && err != nil {
			t.Fatalf("first prompt: %v", err)
		}
		if i == 1 && (err == nil || !strings.Contains(err.Error(), "end of input")) {
			t.Fatalf("second prompt after Ctrl-D: error = %v, want end of input", err)
		}
	}
}

// TestPromptTerminalCtrlCRestoresEcho interrupts a prompt with SIGINT (what
// Ctrl-C sends): the prompt returns ErrInterrupted with echo back on.
func TestPromptTerminalCtrlCRestoresEcho(t *testing.T) {
	ctrl, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ctrl.Close()
	defer tty.Close()
	go io.Copy(io.Discard, ctrl)
	done := make(chan error, 1)
	go func() {
		_, err := promptTerminal(tty, io.Discard, "Value: ")
		done <- err
	}()
	waitEchoOff(t, tty) // promptTerminal catches SIGINT before echo goes off
	if err := unix.Kill(os.Getpid(), unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v, want ErrInterrupted", err)
	}
	if !echoOn(t, tty) {
		t.Fatal("echo still off after Ctrl-C")
	}
}
