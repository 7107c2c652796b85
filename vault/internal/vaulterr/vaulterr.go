// Package vaulterr holds the vault's sentinel errors and the mapping of
// lower layers' errors onto them, so that package vault and its key sources
// (package keysource) wrap the same values. Package vault re-exports each
// sentinel under its own name (vault.ErrCorrupt is ErrCorrupt); callers
// use those names.
package vaulterr

import (
	"errors"
	"fmt"
	"os"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// The sentinels; package vault documents each under its exported name.
var (
	ErrNotFound           = errors.New("secret not found")
	ErrTooLarge           = errors.New("secret too large")
	ErrBackendUnavailable = errors.New("backend unavailable")
	ErrWrongKey           = errors.New("wrong key-encryption key")
	ErrCorrupt            = errors.New("corrupt object")
	ErrPermission         = errors.New("permission problem")
)

// Translate maps lower-layer errors onto the vault's sentinels, keeping the
// original error in the chain for its detail.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch {
	case errors.Is(err, backend.ErrNotFound):
		sentinel = ErrNotFound
	case errors.Is(err, backend.ErrTooLarge):
		sentinel = ErrTooLarge
	case errors.Is(err, backend.ErrUnavailable):
		sentinel = ErrBackendUnavailable
	case errors.Is(err, backend.ErrPermission):
		sentinel = ErrPermission
	case errors.Is(err, envelope.ErrWrongKey):
		sentinel = ErrWrongKey
	case errors.Is(err, envelope.ErrMalformed), errors.Is(err, envelope.ErrAuthentication):
		sentinel = ErrCorrupt
	default:
		return err
	}
	if errors.Is(err, sentinel) {
		return err
	}
	return &wrapped{sentinel: sentinel, err: err}
}

// wrapped reports err's message and matches both err and sentinel.
type wrapped struct {
	sentinel error
	err      error
}

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.sentinel, w.err} }

// Permission names what in an error from a file check, wrapping
// ErrPermission when the file is unsafe or access was denied.
func Permission(what string, err error) error {
	if errors.Is(err, fsutil.ErrUnsafe) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %s: %w", ErrPermission, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
