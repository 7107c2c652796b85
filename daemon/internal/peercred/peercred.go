// Package peercred reads the identity of the process at the other end of a
// Unix socket connection, as the kernel recorded it when that process
// connected: SO_PEERCRED on Linux, LOCAL_PEERCRED and LOCAL_PEERPID on
// macOS. Elsewhere Get fails with ErrUnsupported, and the daemon refuses to
// start rather than serve callers it cannot identify.
package peercred

import (
	"errors"
	"net"
)

// ErrUnsupported means this operating system gives no way to identify a
// caller on a Unix socket that this package knows.
var ErrUnsupported = errors.New("reading a socket peer's credentials is not supported on this operating system")

// Cred is a peer's identity.
type Cred struct {
	// UID is the peer's effective user id when it connected.
	UID uint32
	// PID is the peer's process id when it connected, 0 when unknown. A
	// process that exited since may have given its pid to another.
	PID int32
}

// Get returns the credentials of the process at the other end of c. It
// fails with ErrUnsupported where Supported does.
func Get(c *net.UnixConn) (Cred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var cred Cred
	var credErr error
	if err := raw.Control(func(fd uintptr) { cred, credErr = get(fd) }); err != nil {
		return Cred{}, err
	}
	return cred, credErr
}

// Supported returns nil when Get works on this operating system, else
// ErrUnsupported.
func Supported() error { return supported }
