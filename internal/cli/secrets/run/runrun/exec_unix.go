//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package runrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// forwardedSignals are passed on to the command.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// execute runs the command with env and returns its exit status. secrets
// are the values to mask (none: no masking). It fails only when the
// command cannot be started.
func execute(ctx context.Context, opts *Options, env []string, secrets [][]byte) (int, error) {
	cmd, err := newCommand(opts, env)
	if err != nil {
		return 0, err
	}
	usePty := len(secrets) > 0 && opts.IO.IsStdoutTTY()

	var out outputs
	defer out.finish()
	var ptmx *os.File
	var toClose []*os.File
	if usePty {
		ptmx, toClose, err = connectPty(cmd, opts, &out, secrets)
	} else {
		toClose, err = connect(cmd, opts, &out, secrets)
	}
	if err != nil {
		closeAll(toClose...)
		return 0, fmt.Errorf("connecting the command's output: %w", err)
	}

	sigs := []os.Signal{}
	sigs = append(sigs, forwardedSignals...)
	if usePty {
		sigs = append(sigs, syscall.SIGWINCH)
	}
	sigCh := make(chan os.Signal, 16)
	signal.Notify(sigCh, sigs...)
	defer signal.Stop(sigCh)

	var restore func()
	if usePty {
		restore = rawStdin(opts, ptmx)
	}
	err = cmd.Start()
	closeAll(toClose...) // the command holds its own copies now
	if err != nil {
		if restore != nil {
			restore()
		}
		closeAll(ptmx)
		return 0, startError(opts.Command[0], err)
	}

	done := make(chan struct{})
	forwarding := make(chan struct{})
	go func() {
		defer close(forwarding)
		for {
			select {
			case <-done:
				return
			case sig := <-sigCh:
				forward(cmd, sig, usePty, opts, ptmx)
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	<-forwarding
	out.finish() // all output reaches the terminal before it leaves raw mode
	if restore != nil {
		restore()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return 0, fmt.Errorf("waiting for %q: %w", opts.Command[0], err)
	}
	return exitStatus(cmd.ProcessState), nil
}

// exitStatus is the command's exit code, or 128+N when signal N killed it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// forward passes sig on to the command. With pipes the command shares
// palyra's process group, so when that group is the terminal's foreground
// group, the keyboard's SIGINT and SIGQUIT have reached the command already
// and are not sent twice.
func forward(cmd *exec.Cmd, sig os.Signal, usePty bool, opts *Options, ptmx *os.File) {
	if sig == syscall.SIGWINCH {
		if f, ok := opts.IO.Out.(*os.File); ok && ptmx != nil {
			_ = pty.InheritSize(f, ptmx) // the kernel tells the command
		}
		return
	}
	if !usePty && (sig == syscall.SIGINT || sig == syscall.SIGQUIT) && inForegroundGroup() {
		return
	}
	_ = cmd.Process.Signal(sig)
}

// inForegroundGroup reports whether palyra's process group is the
// foreground process group of its controlling terminal.
func inForegroundGroup() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal: nothing typed reaches anyone
	}
	defer tty.Close()
	fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

// connectPty gives the command a new pseudo-terminal as its standard output
// (and standard input and error when palyra's are terminals too), in a new
// session whose controlling terminal it is, and copies its output through a
// masker to palyra's standard output. A standard error that is not a
// terminal gets a masked pipe; a standard input that is not one is passed
// on as it is. It returns the master side and the files to close after
// Start.
func connectPty(cmd *exec.Cmd, opts *Options, out *outputs, secrets [][]byte) (*os.File, []*os.File, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("opening a pseudo-terminal: %w", err)
	}
	if f, ok := opts.IO.Out.(*os.File); ok {
		_ = pty.InheritSize(f, ptmx)
	}
	toClose := []*os.File{tty}
	cmd.Stdout = tty
	cmd.Stdin = opts.IO.In
	if _, isFile := opts.IO.In.(*os.File); isFile && opts.IO.IsStdinTTY() {
		cmd.Stdin = tty
	}
	if opts.IO.IsStderrTTY() {
		cmd.Stderr = tty
	} else {
		w, err := out.pipe(opts.IO.ErrOut, secrets, opts.hold())
		if err != nil {
			closeAll(ptmx, tty)
			return nil, nil, err
		}
		cmd.Stderr = w
		toClose = append(toClose, w)
	}
	// Ctty is the descriptor in the child: 1, its standard output.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 1}
	// Secrets that span lines reach the terminal with "\r\n" line ends.
	all := secrets
	var extra [][]byte
	for _, s := range secrets {
		if crlf := toCRLF(s); crlf != nil {
			extra = append(extra, crlf)
		}
	}
	out.add(ptyReader{ptmx}, opts.IO.Out, append(all[:len(all):len(all)], extra...), opts.hold())
	for _, e := range extra {
		clear(e) // the masker keeps its own copy
	}
	return ptmx, toClose, nil
}

// ptyReader reads the master side; the end of the command's terminal shows
// up as EIO on Linux, which it reports as io.EOF.
type ptyReader struct{ f *os.File }

func (p ptyReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}

func (p ptyReader) Close() error { return p.f.Close() }

// rawStdin puts palyra's terminal in raw mode, so keystrokes (Ctrl-C
// included) go to the command's terminal as they are typed, and copies
// them there. It returns the function that restores the terminal; when
// standard input is not a terminal it does nothing.
func rawStdin(opts *Options, ptmx *os.File) func() {
	in, ok := opts.IO.In.(*os.File)
	if !ok || !opts.IO.IsStdinTTY() {
		return func() {}
	}
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return func() {}
	}
	go func() { _, _ = io.Copy(ptmx, in) }()
	return func() { _ = term.Restore(int(in.Fd()), state) }
}
