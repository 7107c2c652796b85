// Package clierr holds the errors of palyra's commands that decide their
// exit code and carry hints: UsageError (the command line was wrong),
// HintError (what to do next) and ExitError (a chosen exit code). It links
// nothing but the standard library, so the cobra command tree (package cli)
// and the lean front of palyra (package lean) report errors alike.
package clierr

import "fmt"

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

// Hints returns the hints found anywhere in err's chain, outermost first,
// without repeats: those of every *HintError, and those of any error with a
// "Hints() []string" or else a "Hint() string" method (as the vault and its
// backends attach).
func Hints(err error) []string {
	var out []string
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		switch e := err.(type) {
		case *HintError:
			for _, h := range e.Hints {
				add(h)
			}
		case interface{ Hints() []string }:
			for _, h := range e.Hints() {
				add(h)
			}
		case interface{ Hint() string }:
			add(e.Hint())
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// ArgError is the UsageError for positional argument pos (1-based), which
// the command calls what (such as "the scope"): "argument 1 (the scope):
// <err>". It names the argument by position, never by value; err must not
// hold the value either (the secret package's errors do not).
func ArgError(pos int, what string, err error) error {
	return &UsageError{Err: fmt.Errorf("argument %d (%s): %w", pos, what, err)}
}
