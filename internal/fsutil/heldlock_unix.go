//go:build unix

package fsutil

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// heldHandle is a HeldLock's open lock file on Unix.
type heldHandle struct {
	mu       sync.Mutex // held from Acquire to release
	fd       int        // -1 when closed
	dev, ino uint64     // identity of the file fd names
}

func (h *heldHandle) init() { h.fd = -1 }

func (h *heldHandle) acquire(ctx context.Context, path string, w LockWait) (func(), error) {
	h.mu.Lock()
	for {
		if h.fd < 0 {
			if err := h.open(path); err != nil {
				h.mu.Unlock()
				return nil, err
			}
		}
		err := retryLock(ctx, path, w, func() (bool, error) {
			err := unix.Flock(h.fd, unix.LOCK_EX|unix.LOCK_NB)
			if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EINTR) {
				return false, nil
			}
			if err != nil {
				return false, lockError(path, err)
			}
			return true, nil
		})
		if err != nil {
			h.mu.Unlock()
			return nil, err
		}
		// The lock counts only if path still names the locked file: a
		// process that opens path now must meet this lock.
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err == nil && uint64(st.Dev) == h.dev && st.Ino == h.ino {
			var once sync.Once
			return func() {
				once.Do(func() {
					_ = unix.Flock(h.fd, unix.LOCK_UN)
					h.mu.Unlock()
				})
			}, nil
		}
		_ = h.closeFD() // replaced or removed: lock what path names now
	}
}

// open opens (creating if needed) the lock file and records its identity.
func (h *heldHandle) open(path string) error {
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Open(path, unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	}
	if err != nil {
		return lockError(path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return lockError(path, err)
	}
	h.fd, h.dev, h.ino = fd, uint64(st.Dev), st.Ino
	return nil
}

func (h *heldHandle) closeFD() error {
	if h.fd < 0 {
		return nil
	}
	err := unix.Close(h.fd)
	h.fd = -1
	return err
}

func (h *heldHandle) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closeFD()
}
