package clierr

import (
	"errors"
	"fmt"
)

// ExitError ends a command with a chosen exit code. "palyra secrets run"
// returns it to pass on its child's exit status (128+N when the child was
// killed by signal N). Main uses Code as the exit code; when Err is nil it
// prints nothing (the child has spoken for itself), otherwise it prints Err
// in palyra's error format.
type ExitError struct {
	// Code is the exit code, 1 … 255.
	Code int
	// Err explains the failure, or nil for a silent exit.
	Err error
}

// Error returns Err's message, or "exit status <Code>" for a silent exit.
func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the code of the first *ExitError in err's chain and
// whether there is one.
func ExitCode(err error) (code int, silent, ok bool) {
	var e *ExitError
	if !errors.As(err, &e) {
		return 0, false, false
	}
	return e.Code, e.Err == nil, true
}
