package fsutil

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/gofrs/flock"
)

// Retry intervals of LockExclusive while another holder has the lock: the
// first retry comes after lockFirstRetry, and each wait doubles up to
// lockMaxRetry. Vault writes hold the lock for about a millisecond (one
// fsync), so short first retries keep a waiting writer from sleeping far
// longer than the holder needs, and the cap keeps a long wait cheap.
const (
	lockFirstRetry = 500 * time.Microsecond
	lockMaxRetry   = 50 * time.Millisecond
)

// LockExclusive takes an exclusive advisory lock (flock(2) on Unix,
// LockFileEx on Windows) on the lock file at path, creating it with mode 0600
// if it is missing. When another holder has it, LockExclusive retries, at
// first after half a millisecond and then at doubling intervals of up to
// 50 ms, until it gets the lock or ctx is done; then it returns an error
// wrapping ctx.Err(). It always makes a first attempt, even when ctx is
// already done, so a done ctx tries the lock once without waiting.
//
// The lock belongs to an open file, so it also excludes other goroutines of
// this process that call LockExclusive on the same path, and the kernel
// drops it when the holding process exits or is killed: there is no stale
// lock to clean up. The lock file itself is never removed (removing it would
// let two processes lock two different files). A lock file that is a
// symbolic link is refused with an error wrapping ErrUnsafe.
//
// unlock releases the lock and closes the file; calling it again does nothing.
func LockExclusive(ctx context.Context, path string) (unlock func() error, err error) {
	return LockExclusiveWait(ctx, path, LockWait{})
}

// LockExclusiveWait is LockExclusive waiting as w says: it gives up after
// w.Timeout with an error wrapping ErrLockTimeout, and tells w.Notice when
// the wait passes w.NoticeAfter.
func LockExclusiveWait(ctx context.Context, path string, w LockWait) (unlock func() error, err error) {
	if err := checkLockPath(path); err != nil {
		return nil, err
	}
	fl := newFlock(path)
	err = retryLock(ctx, path, w, func() (bool, error) {
		ok, err := fl.TryLock()
		if err != nil {
			return false, lockError(path, err)
		}
		return ok, nil
	})
	if err != nil {
		_ = fl.Close()
		return nil, err
	}
	return fl.Unlock, nil
}

func newFlock(path string) *flock.Flock {
	return flock.New(path, flock.SetFlag(lockOpenFlags), flock.SetPermissions(0o600))
}

// lockError explains a failure to open or lock the lock file.
func lockError(path string, err error) error {
	if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return refuse("lock file", path, "is a symbolic link", "remove the link")
	}
	return fmt.Errorf("locking %q: %w", path, err)
}
