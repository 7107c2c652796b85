package vault

import (
	"errors"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// Sentinel errors (with ErrInvalidScope, ErrInvalidKey and ErrInvalidRef,
// which package secret defines). Every error the vault returns wraps at most one of these,
// so callers branch with errors.Is. Messages never contain secret values.
var (
	// ErrNotFound means no secret exists under the scope and key.
	ErrNotFound = vaulterr.ErrNotFound
	// ErrTooLarge means a value exceeds the vault's or the backend's size limit.
	ErrTooLarge = vaulterr.ErrTooLarge
	// ErrBackendUnavailable means the backend cannot be opened or reached, or
	// the vault's marker names a backend this host cannot open.
	ErrBackendUnavailable = vaulterr.ErrBackendUnavailable
	// ErrWrongKey means an object was sealed under a different
	// key-encryption key than the one this vault holds.
	ErrWrongKey = vaulterr.ErrWrongKey
	// ErrCorrupt means a stored object is malformed or fails authentication:
	// it was damaged, truncated, edited or moved from another secret.
	ErrCorrupt = vaulterr.ErrCorrupt
	// ErrRustVault means the vault root holds a vault the Rust Palyra
	// wrote (palyrars.IsVault): palyra reads it only through package
	// palyrars and never opens it as its own, so the two never share a
	// directory.
	ErrRustVault = errors.New("the directory holds a vault the Rust Palyra wrote")
	// ErrPermission means unsafe or denied permissions on the vault's files.
	ErrPermission = vaulterr.ErrPermission
	// ErrUnreachable means a networked backend (an etcd cluster) did not
	// answer within its deadline; the error names the endpoints. It also
	// matches ErrBackendUnavailable.
	ErrUnreachable = backend.ErrUnreachable
	// ErrLockTimeout means a write gave up waiting for the writer lock
	// after Config.LockTimeout: another process held it all that time.
	ErrLockTimeout = fsutil.ErrLockTimeout
)

// LockWaitNotice is how long a write waits for the writer lock before it
// calls Config.OnLockWait.
const LockWaitNotice = time.Second

// translate maps lower-layer errors onto the vault's sentinels, keeping the
// original error in the chain for its detail.
func translate(err error) error { return vaulterr.Translate(err) }

// permissionError names what in an error from a file check (see
// vaulterr.Permission).
func permissionError(what string, err error) error { return vaulterr.Permission(what, err) }
