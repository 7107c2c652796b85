package vault

import (
	"errors"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// Sentinel errors (with ErrInvalidScope, ErrInvalidKey and ErrInvalidRef,
// which package secret defines). Every error the vault returns wraps at most one of these,
// so callers branch with errors.Is. Messages never contain secret values.
var (
	// ErrNotFound means no secret exists under the scope and key.
	ErrNotFound = errors.New("secret not found")
	// ErrTooLarge means a value exceeds the vault's or the backend's size limit.
	ErrTooLarge = errors.New("secret too large")
	// ErrBackendUnavailable means the backend cannot be opened or reached, or
	// the vault's marker names a backend this host cannot open.
	ErrBackendUnavailable = errors.New("backend unavailable")
	// ErrWrongKey means an object was sealed under a different
	// key-encryption key than the one this vault holds.
	ErrWrongKey = errors.New("wrong key-encryption key")
	// ErrCorrupt means a stored object is malformed or fails authentication:
	// it was damaged, truncated, edited or moved from another secret.
	ErrCorrupt = errors.New("corrupt object")
	// ErrPermission means unsafe or denied permissions on the vault's files.
	ErrPermission = errors.New("permission problem")
)

// translate maps lower-layer errors onto the vault's sentinels, keeping the
// original error in the chain for its detail.
func translate(err error) error {
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
