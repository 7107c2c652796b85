package fsutil

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// HeldLock is the exclusive advisory lock of LockExclusive, for a caller
// that takes it many times: on Unix it keeps the lock file open between
// acquisitions, so each Acquire costs a flock(2) and an lstat(2) instead of
// an open, a flock and a close. Before trusting a lock it holds, Acquire
// checks that the path still names the file it has open; when the lock file
// was removed or replaced, it opens the new one, so two processes never lock
// two different files. On Windows each Acquire opens the file, as
// LockExclusive does (an open handle would keep the file and its directory
// from being deleted).
//
// A HeldLock is safe for concurrent use; within one process, Acquire calls
// on one HeldLock exclude each other through a mutex as well as the file
// lock. The zero value is not usable: call NewHeldLock.
type HeldLock struct {
	path string
	h    heldHandle // platform state, guarded by the acquire mutex
}

// NewHeldLock returns a HeldLock on the lock file at path. It opens
// nothing until the first Acquire.
func NewHeldLock(path string) *HeldLock {
	l := &HeldLock{path: path}
	l.h.init()
	return l
}

// Acquire takes the lock as LockExclusive does (creating the file with mode
// 0600, refusing a symbolic link with an error wrapping ErrUnsafe, retrying
// with backoff while another holder has it, until ctx is done). release
// gives the lock up but keeps the file open for the next Acquire; calling
// it again does nothing.
func (l *HeldLock) Acquire(ctx context.Context) (release func(), err error) {
	return l.h.acquire(ctx, l.path, LockWait{})
}

// AcquireWait is Acquire waiting as w says (see LockWait).
func (l *HeldLock) AcquireWait(ctx context.Context, w LockWait) (release func(), err error) {
	return l.h.acquire(ctx, l.path, w)
}

// ErrLockTimeout means a lock call gave up after its LockWait.Timeout
// because another holder kept the lock all that time.
var ErrLockTimeout = errors.New("timed out waiting for a lock")

// LockWait says how long a lock call waits while another holder has the
// lock, and whom it tells. The zero value waits until the context is done
// and tells no one. A library does not write to the user: the program that
// runs it passes Notice (the palyra CLI prints one line on stderr).
type LockWait struct {
	// Timeout, when positive, bounds the wait: the call then fails with an
	// error wrapping ErrLockTimeout. The context can still end it sooner.
	Timeout time.Duration
	// NoticeAfter is how long the call waits before it calls Notice.
	NoticeAfter time.Duration
	// Notice, when set, is called once, with the lock file's path, from
	// the waiting goroutine, when the lock has been held by another for
	// NoticeAfter; the wait goes on after it returns. It is not called
	// when the lock is free or taken sooner.
	Notice func(path string)
}

// Close closes the lock file. It must not be called while the lock is
// held; a later Acquire opens the file again.
func (l *HeldLock) Close() error { return l.h.close() }

// retryLock calls try until it reports the lock taken or fails, waiting
// between attempts as LockExclusive does, and gives up when ctx is done or
// w.Timeout has passed; it calls w.Notice once w.NoticeAfter has passed.
// This is the one place every lock of this package waits.
func retryLock(ctx context.Context, path string, w LockWait, try func() (bool, error)) error {
	wait := lockFirstRetry
	start := time.Now()
	noticed := w.Notice == nil
	for {
		ok, err := try()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		waited := time.Since(start)
		if !noticed && waited >= w.NoticeAfter {
			noticed = true
			w.Notice(path)
		}
		if w.Timeout > 0 && waited >= w.Timeout {
			return fmt.Errorf("%w: another process held %q for %s", ErrLockTimeout, path, w.Timeout)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for lock %q (another process holds it): %w", path, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, lockMaxRetry)
	}
}
