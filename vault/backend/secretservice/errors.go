package secretservice

import (
	"context"
	"errors"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/vault/backend"
)

// Sentinel errors. Every error this package returns for an unusable service
// is an *Error that wraps one of these and backend.ErrUnavailable, so a
// caller can test errors.Is(err, backend.ErrUnavailable) for "fall back" and
// errors.Is(err, ErrLocked) and so on for the reason.
var (
	// ErrNoService means there is no session bus, or nothing on it owns
	// org.freedesktop.secrets (and nothing can be activated to own it).
	ErrNoService = errors.New("secret service not running")
	// ErrNoDefaultCollection means the service has no collection under the
	// "default" alias.
	ErrNoDefaultCollection = errors.New("secret service has no default collection")
	// ErrLocked means the default collection is locked and was not
	// unlocked, or (from Search, which never unlocks) that matching items
	// sit in a locked collection. An error that wraps ErrPromptDismissed wraps ErrLocked too,
	// since the collection stays locked; test ErrPromptDismissed first to
	// tell the two apart.
	ErrLocked = errors.New("secret service collection is locked")
	// ErrPromptDismissed means the service showed an unlock prompt and it
	// was dismissed, or it did not complete within Options.PromptTimeout.
	ErrPromptDismissed = errors.New("secret service collection is locked and its unlock prompt was dismissed or could not be shown")
	// ErrTimeout means a D-Bus call got no answer within
	// Options.CallTimeout or the caller's deadline.
	ErrTimeout = errors.New("secret service did not answer in time")
	// ErrFailed means the service returned an unexpected D-Bus error, or
	// answered in a way the Secret Service API does not allow (a reply of
	// the wrong type, a malformed encrypted secret).
	ErrFailed = errors.New("secret service call failed")
)

// Error is the error type of this package. Its message reads
// "secret service: <op>: <reason>[: <cause>]"; Hint suggests what the user
// can do. It never holds a secret value.
type Error struct {
	// Op is what the backend was doing, e.g. `getting object "obj_…"`.
	Op string
	// Reason is one of the sentinels above.
	Reason error
	// Cause is the lower-level error (a D-Bus error, a timeout), or nil.
	Cause error
	hint  string
}

// Error returns "secret service: <op>: <reason>[: <cause>]".
func (e *Error) Error() string {
	msg := "secret service: " + e.Op + ": " + e.Reason.Error()
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Hint returns advice for the user on one line, or "" when there is none.
func (e *Error) Hint() string { return e.hint }

// Unwrap exposes the reason, backend.ErrUnavailable when the reason means
// the service is unusable, ErrLocked when a prompt was dismissed, and the
// cause.
func (e *Error) Unwrap() []error {
	errs := []error{e.Reason}
	switch e.Reason {
	case ErrPromptDismissed:
		errs = append(errs, ErrLocked, backend.ErrUnavailable)
	case ErrNoService, ErrNoDefaultCollection, ErrLocked, ErrTimeout, ErrFailed:
		errs = append(errs, backend.ErrUnavailable)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// Hints, one per reason.
const (
	hintNoService = "start a Secret Service provider (gnome-keyring-daemon, KeePassXC with Secret Service integration) " +
		"in this session, check DBUS_SESSION_BUS_ADDRESS, or use the encrypted_file backend"
	hintNoDefault = "create a keyring and make it the default (for example with Seahorse), or use the encrypted_file backend"
	hintLocked    = "unlock the default keyring on the desktop (log in to the desktop session, or unlock it in Seahorse) and retry; " +
		"over SSH no unlock prompt can be shown, so unlock it on the desktop first, or use the encrypted_file backend"
	hintDismissed = "retry and accept the unlock prompt, or unlock the default keyring beforehand on the desktop (log in, or Seahorse); " +
		"over SSH or without a display no prompt can be shown: unlock it on the desktop first, or use the encrypted_file backend"
	// hintTimeout names no setting: the CLI and the daemon have none for
	// the call timeout (Options.CallTimeout is for programs), and a
	// provider that does not answer in 5 s is stuck, not slow.
	hintTimeout = "the Secret Service provider may be hung: check it with \"palyra secrets doctor\", " +
		"restart it (for example \"gnome-keyring-daemon --replace\", or log out and in again), or use the encrypted_file backend"
	hintFailed = "the Secret Service provider misbehaves: update or restart it"
)

func newError(op string, reason, cause error) *Error {
	e := &Error{Op: op, Reason: reason, Cause: cause}
	switch reason {
	case ErrNoService:
		e.hint = hintNoService
	case ErrNoDefaultCollection:
		e.hint = hintNoDefault
	case ErrLocked:
		e.hint = hintLocked
	case ErrPromptDismissed:
		e.hint = hintDismissed
	case ErrTimeout:
		e.hint = hintTimeout
	case ErrFailed:
		e.hint = hintFailed
	}
	return e
}

// dbusErrorName returns the D-Bus error name carried by err, or "".
func dbusErrorName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	var pe *dbus.Error
	if errors.As(err, &pe) && pe != nil {
		return pe.Name
	}
	return ""
}

// classify turns the failure of a D-Bus call made while doing op into an
// *Error with the right reason. It returns err unchanged if it already is
// one of ours.
func classify(op string, err error) error {
	var ours *Error
	if errors.As(err, &ours) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return newError(op, ErrTimeout, err)
	}
	switch dbusErrorName(err) {
	case errNameIsLocked:
		return newError(op, ErrLocked, err)
	case errNameServiceUnknown, errNameNameHasNoOwner, errNameDisconnected:
		return newError(op, ErrNoService, err)
	case errNameNoReply, errNameTimeout, errNameTimedOut:
		return newError(op, ErrTimeout, err)
	case "":
		if errors.Is(err, dbus.ErrClosed) {
			return newError(op, ErrNoService, err)
		}
		return newError(op, ErrFailed, err)
	default:
		return newError(op, ErrFailed, err)
	}
}
