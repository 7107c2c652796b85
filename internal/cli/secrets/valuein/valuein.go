// Package valuein reads a secret value for a command that stores one: all
// of stdin when it is piped, else twice at a no-echo prompt, never from the
// command line. It links no command-line library (see package lean).
package valuein

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/internal/readlimit"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// The help texts of --trim-newline and --keep-newline, the flags that say
// what to do with a final newline of a value read on stdin (set,
// configure); CheckNewlineFlags refuses them together.
const (
	TrimNewlineUsage = `remove one trailing newline ("\n" or "\r\n") from the value read on stdin`
	KeepNewlineUsage = "keep a trailing newline of a piped value as part of it, without a warning"
)

// CheckNewlineFlags returns a usage error when both --trim-newline and
// --keep-newline are given.
func CheckNewlineFlags(trim, keep bool) error {
	if trim && keep {
		return clierr.UsageErrorf("--trim-newline and --keep-newline exclude each other")
	}
	return nil
}

// Input says where Read takes a secret value from and how it
// names things in prompts and hints.
type Input struct {
	// IO supplies stdin and the no-echo prompt.
	IO *iostreams.IOStreams
	// ForceStdin reads stdin even when it is a terminal.
	ForceStdin bool
	// TrimNewline removes one trailing "\n" or "\r\n" from a value read on
	// stdin.
	TrimNewline bool
	// KeepNewline keeps a trailing newline of a piped value without the
	// warning Read otherwise prints.
	KeepNewline bool
	// MaxSize is the largest value accepted, in bytes (the vault's limit).
	MaxSize int
	// Ref is the secret the value is for; the prompt names it.
	Ref secret.Ref
	// Usage is the command to show in the hint for an empty value, such as
	// "palyra secrets configure <setting> <scope> <key>".
	Usage string
}

// Read returns a secret value: all of stdin when it is piped or
// redirected (or ForceStdin is set), else what the user types twice at a
// no-echo prompt. It reads at most MaxSize plus three bytes of stdin with
// readlimit.ReadAll, so no stray copy of the value is left behind; it
// fails, saying that nothing was stored, when the value is empty, larger
// than MaxSize, or the two typed entries differ, and with an
// error wrapping iostreams.ErrInterrupted on Ctrl-C. Errors never contain
// the value. The caller owns the result and should wipe it.
//
// A value piped in (stdin not a terminal) that ends in "\n" is kept as it
// is, but unless TrimNewline or KeepNewline was given, a one-line warning
// on stderr says so and names both flags (never the value or its length):
// "echo token | palyra secrets set" is the usual way to store a newline by
// mistake.
//
// "palyra secrets set" reads its value with it.
func Read(in Input) ([]byte, error) {
	if in.ForceStdin || !in.IO.IsStdinTTY() {
		return readStdin(in)
	}
	return promptTwice(in)
}

func readStdin(in Input) ([]byte, error) {
	// "+2": a final "\r\n" that --trim-newline removes is not part of the value.
	buf, err := readlimit.ReadAll(in.IO.In, in.MaxSize+2, 0)
	if errors.Is(err, readlimit.ErrTooLarge) {
		return nil, tooLarge(in.MaxSize)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the value from stdin: %w; nothing was stored", err)
	}
	n := len(buf)
	value := buf
	if in.TrimNewline {
		if bytes.HasSuffix(value, []byte("\r\n")) {
			value = value[:len(value)-2]
		} else if bytes.HasSuffix(value, []byte("\n")) {
			value = value[:len(value)-1]
		}
	}
	switch {
	case len(value) > in.MaxSize:
		clear(buf)
		return nil, tooLarge(in.MaxSize)
	case len(value) == 0:
		clear(buf)
		msg := "empty value on stdin; nothing was stored"
		if n > 0 {
			msg = "empty value on stdin after --trim-newline; nothing was stored"
		}
		return nil, clierr.WithHints(errors.New(msg),
			fmt.Sprintf(`pipe the value in, for example: printf '%%s' "$VALUE" | %s`, in.Usage))
	}
	if !in.TrimNewline && !in.KeepNewline && !in.IO.IsStdinTTY() && value[len(value)-1] == '\n' {
		fmt.Fprintln(in.IO.ErrOut, NewlineWarning)
	}
	return value, nil
}

// NewlineWarning is the warning for a piped value that ends in a newline
// that was kept.
const NewlineWarning = "palyra: warning: the value on stdin ends in a newline, which is kept as part of it (--trim-newline drops it; --keep-newline keeps it without this warning)"

// tooLarge is the error for a value on stdin of more than max bytes.
func tooLarge(max int) error {
	return clierr.WithHints(
		fmt.Errorf("%w: the value on stdin is more than %d bytes; nothing was stored", vault.ErrTooLarge, max),
		fmt.Sprintf("the vault stores values of at most %d bytes; keep large files elsewhere and store only their key", max))
}

func promptTwice(in Input) ([]byte, error) {
	first, err := in.IO.ReadSecret(fmt.Sprintf("Value for %s: ", in.Ref))
	if err != nil {
		return nil, promptError(err)
	}
	if len(first) == 0 {
		return nil, errors.New("empty value; nothing was stored")
	}
	second, err := in.IO.ReadSecret("Enter it again to confirm: ")
	defer clear(second)
	if err != nil {
		clear(first)
		return nil, promptError(err)
	}
	if subtle.ConstantTimeCompare(first, second) != 1 {
		clear(first)
		return nil, clierr.WithHints(errors.New("the two entries differ; nothing was stored"),
			"run the command again and type the same value twice")
	}
	return first, nil
}

func promptError(err error) error {
	if errors.Is(err, iostreams.ErrInterrupted) {
		return fmt.Errorf("%w; nothing was stored", err)
	}
	return fmt.Errorf("reading the value: %w; nothing was stored", err)
}
