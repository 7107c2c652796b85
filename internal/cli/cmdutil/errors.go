package cmdutil

import (
	"errors"
	"fmt"
)

// UsageError means the command line itself was wrong: an unknown flag, a
// wrong number of arguments, a malformed scope, key or ref. Main maps it to
// the usage exit code and adds a pointer to --help.
type UsageError struct {
	Err error
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageErrorf formats a UsageError. It follows fmt.Errorf, so %w wraps.
func UsageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// HintError attaches hints (what to do next) to an error. Main prints each
// hint on its own "palyra: hint:" line after the error. Hints are fixed text
// written by palyra: they never hold user data beyond names and paths, and
// never a secret value.
type HintError struct {
	Err   error
	Hints []string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHints wraps err with hints; it returns nil when err is nil.
func WithHints(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hints: hints}
}

// Hints returns the hints attached anywhere in err's chain, outermost first.
func Hints(err error) []string {
	var out []string
	for err != nil {
		var h *HintError
		if !errors.As(err, &h) {
			break
		}
		out = append(out, h.Hints...)
		err = h.Err
	}
	return out
}
