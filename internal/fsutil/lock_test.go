package fsutil

import (
	"context"
	"errors"
)

// tryLock takes the lock at path if it is free, without waiting: it reports
// ok false, a nil unlock and a nil error when another holder has it. It is
// LockExclusive with a context that is already done, which still makes its
// first attempt before it looks at the context.
func tryLock(path string) (unlock func() error, ok bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	unlock, err = LockExclusive(ctx, path)
	switch {
	case errors.Is(err, context.Canceled):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return unlock, true, nil
}
