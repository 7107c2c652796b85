// Package iostreams gives commands their standard streams, tells them which
// of those streams are terminals, and asks for secrets with a no-echo prompt.
//
// Commands never touch os.Stdin, os.Stdout or os.Stderr themselves: Main
// builds the streams with System, tests build them with Test, and TTY
// detection can be overridden either way, so every output mode and the
// prompt path are testable in-process.
package iostreams

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/term"
)

// ErrNoTerminal means a secret was asked for but there is no terminal to
// ask it on.
var ErrNoTerminal = errors.New("no terminal to prompt on")

// MaxPromptLine is the longest value the prompt accepts, in bytes: the
// vault's default limit. (Terminals may cap a line lower: 4095 bytes on
// Linux, 1024 on macOS; longer values belong on stdin.)
const MaxPromptLine = 64 << 10

// ErrInterrupted means the user pressed Ctrl-C at a prompt. The terminal has
// been restored before it is returned.
var ErrInterrupted = errors.New("interrupted at the prompt")

// SecretPrompter shows prompt and reads one line without echoing it. It
// returns the line without its line ending; the caller owns (and should
// wipe) the returned bytes.
type SecretPrompter func(prompt string) ([]byte, error)

// IOStreams holds a command's standard input, output and error streams and
// knows which of them are terminals.
type IOStreams struct {
	// In is standard input.
	In io.Reader
	// Out is standard output: results only.
	Out io.Writer
	// ErrOut is standard error: errors, hints, warnings and progress.
	ErrOut io.Writer
	// CompactJSON makes JSON output one line even on a terminal: the
	// global --output-format ndjson sets it.
	CompactJSON bool

	stdinTTY, stdoutTTY, stderrTTY bool
	prompter                       SecretPrompter
}

// System returns the process's real streams. TTY detection uses
// golang.org/x/term; the secret prompt reads from standard input when it is
// a terminal and writes its text to the controlling terminal (falling back
// to standard error), so prompts never land in redirected output.
func System() *IOStreams {
	ios := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
	ios.prompter = func(prompt string) ([]byte, error) {
		var out io.Writer = os.Stderr
		if tty := openTerminalOut(); tty != nil {
			defer tty.Close()
			out = tty
		}
		return promptTerminal(os.Stdin, out, prompt)
	}
	return ios
}

// Test returns streams backed by buffers: In reads from the returned in
// buffer, Out and ErrOut write to out and errOut. No stream is a terminal
// until a Set*TTY call says so, and ReadSecret fails with ErrNoTerminal
// until SetSecretPrompter installs a prompter.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = new(bytes.Buffer), new(bytes.Buffer), new(bytes.Buffer)
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY overrides whether standard input counts as a terminal.
func (s *IOStreams) SetStdinTTY(tty bool) { s.stdinTTY = tty }

// SetStdoutTTY overrides whether standard output counts as a terminal.
func (s *IOStreams) SetStdoutTTY(tty bool) { s.stdoutTTY = tty }

// SetStderrTTY overrides whether standard error counts as a terminal.
func (s *IOStreams) SetStderrTTY(tty bool) { s.stderrTTY = tty }

// SetSecretPrompter replaces the function ReadSecret uses.
func (s *IOStreams) SetSecretPrompter(p SecretPrompter) { s.prompter = p }

// CanPrompt reports whether a secret can be asked for: standard input is a
// terminal and there is a prompter.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.prompter != nil }

// ReadSecret shows prompt on the terminal and reads one line without
// echoing it. It fails with ErrNoTerminal when CanPrompt is false and with
// ErrInterrupted when the user presses Ctrl-C. The caller should wipe the
// result when done with it.
func (s *IOStreams) ReadSecret(prompt string) ([]byte, error) {
	if !s.CanPrompt() {
		return nil, ErrNoTerminal
	}
	return s.prompter(prompt)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// promptTerminal writes prompt to out and reads a line from the terminal in
// with echo off. Ctrl-C restores the terminal's echo and returns
// ErrInterrupted; the blocked read is abandoned (the process is about to
// exit), which is the only way to stop a terminal read portably.
func promptTerminal(in *os.File, out io.Writer, prompt string) ([]byte, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return nil, ErrNoTerminal
	}
	restore, err := saveTerminal(fd)
	if err != nil {
		return nil, fmt.Errorf("reading terminal state: %w", err)
	}
	if _, err := io.WriteString(out, prompt); err != nil {
		return nil, fmt.Errorf("writing prompt: %w", err)
	}

	type result struct {
		line []byte
		err  error
	}
	// Catch Ctrl-C before echo goes off, so that whoever sees echo off can
	// rely on the terminal being restored.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	done := make(chan result, 1)
	go func() {
		line, err := readNoEcho(fd)
		done <- result{line, err}
	}()

	select {
	case r := <-done:
		_, _ = io.WriteString(out, "\n") // the user's Enter was not echoed
		if r.err != nil {
			clear(r.line)
			if errors.Is(r.err, io.EOF) {
				return nil, errors.New("reading from the terminal: end of input")
			}
			return nil, fmt.Errorf("reading from the terminal: %w", r.err)
		}
		return r.line, nil
	case <-sig:
		_ = restore()
		_, _ = io.WriteString(out, "\n")
		return nil, ErrInterrupted
	}
}
