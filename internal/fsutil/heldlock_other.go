//go:build !unix

package fsutil

import (
	"context"
	"sync"
)

// heldHandle opens the lock file on every acquire where there is no Unix
// flock(2) to take on a held descriptor.
type heldHandle struct {
	mu sync.Mutex // held from Acquire to release
}

func (h *heldHandle) init() {}

func (h *heldHandle) acquire(ctx context.Context, path string, w LockWait) (func(), error) {
	h.mu.Lock()
	unlock, err := LockExclusiveWait(ctx, path, w)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = unlock()
			h.mu.Unlock()
		})
	}, nil
}

func (h *heldHandle) close() error { return nil }
