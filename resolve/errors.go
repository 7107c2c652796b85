package resolve

import "errors"

// Kind classifies why a reference could not be resolved.
type Kind int

// The kinds of resolution failure. Each has a sentinel (ErrMissing, …) that
// errors.Is matches against an *Error of that kind.
const (
	// Missing: the source holds no value (unset or empty environment
	// variable, absent file, secret not in the vault, empty output). A
	// reference with required = false may be skipped on this kind only.
	Missing Kind = iota + 1
	// Invalid: the reference breaks the grammar (unknown field, wrong type,
	// out-of-range number, malformed name).
	Invalid
	// Blocked: the reference is well formed but its policy forbids it (a
	// file outside its trusted directories, a symbolic link that is not
	// allowed, a ".." element).
	Blocked
	// Timeout: a command did not finish (or close its output) within its
	// timeout, or the caller's context expired.
	Timeout
	// TooLarge: the value is longer than the reference's max_bytes.
	TooLarge
	// IO: reading the source failed (permission denied, a command that could
	// not start or exited non-zero, a vault error other than not found).
	IO
)

// Sentinels matched by errors.Is against an *Error of the same Kind.
var (
	ErrMissing  = errors.New("missing")
	ErrInvalid  = errors.New("invalid")
	ErrBlocked  = errors.New("blocked by policy")
	ErrTimeout  = errors.New("timed out")
	ErrTooLarge = errors.New("too large")
	ErrIO       = errors.New("i/o error")
)

// sentinel returns the sentinel of k, or nil for an unknown kind.
func (k Kind) sentinel() error {
	switch k {
	case Missing:
		return ErrMissing
	case Invalid:
		return ErrInvalid
	case Blocked:
		return ErrBlocked
	case Timeout:
		return ErrTimeout
	case TooLarge:
		return ErrTooLarge
	case IO:
		return ErrIO
	}
	return nil
}

// String returns the kind in words: "missing", "invalid", "blocked by
// policy", "timed out", "too large" or "i/o error".
func (k Kind) String() string {
	if s := k.sentinel(); s != nil {
		return s.Error()
	}
	return "unknown failure"
}

// Error is the error every resolution failure returns. Its message names the
// reference only by its redacted description (Ref.String: the source kind
// and a fingerprint) and never contains the secret value, a command's argv
// or anything the command wrote to stderr. Messages of Invalid errors never
// quote the reference's text either, because a misplaced secret pasted into
// a reference field must not end up in a log.
//
// Errors from the vault are kept as the cause and their messages are passed
// through; the vault promises they never hold values (they may name the
// scope and key).
type Error struct {
	// Kind says why resolution failed.
	Kind Kind
	// Ref is the redacted description of the reference ("env#1a2b3c4d"),
	// empty when the reference was too malformed to describe.
	Ref string
	// Err is the cause. Its message is safe to log.
	Err error
}

// Error returns "resolving <ref>: <kind>: <cause>".
func (e *Error) Error() string {
	msg := "resolving"
	if e.Ref != "" {
		msg += " " + e.Ref
	} else {
		msg += " reference"
	}
	msg += ": " + e.Kind.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's Kind.
func (e *Error) Is(target error) bool {
	s := e.Kind.sentinel()
	return s != nil && target == s
}

// KindOf returns the Kind of the first *Error in err's chain, or 0 when there
// is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// safeError carries a message written by this package (safe to log) and
// keeps the lower-level cause, whose own message may name paths or programs,
// reachable through errors.Is and errors.As only.
type safeError struct {
	msg   string
	cause error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.cause }

// fail builds an *Error of kind k for ref with a safe message and an
// optional hidden cause.
func fail(k Kind, ref Ref, msg string, cause error) *Error {
	return &Error{Kind: k, Ref: ref.describe(), Err: &safeError{msg: msg, cause: cause}}
}

// invalid builds an Invalid *Error with no reference description, for
// grammar errors found while parsing.
func invalid(msg string) *Error {
	return &Error{Kind: Invalid, Err: errors.New(msg)}
}
