package fsutil

import (
	"errors"
	"io/fs"
	"os"
)

// RotateNumbered makes room for a new newest copy among the numbered copies
// of a file, name(1) being the newest and name(keep) the oldest kept (a
// config's palyra.toml.bak.1 … .bak.5, a log's audit.log.1 … .5):
//
//   - first it removes name(n) for every n from keep to drop, the copies a
//     keep that shrank no longer covers (drop < keep removes none);
//   - then it renames name(n) to name(n+1) for n from keep-1 down to 1, so
//     that name(keep) is replaced and name(1) is free; a missing copy is
//     skipped, which leaves a gap where it was. keep 1 renames nothing.
//
// Each rename is atomic, so a crash leaves every copy under one name or the
// next. RotateNumbered does not sync the directory: the caller does when its
// rotation is complete, and before it writes a new name(1) if that must not
// lose the copy renamed away from it. It stops at the first failing removal
// or rename and returns that error; keep must be at least 1.
func RotateNumbered(name func(n int) string, keep, drop int) error {
	if keep < 1 {
		return errors.New("rotating numbered files: keep must be at least 1")
	}
	for n := keep; n <= drop; n++ {
		if err := os.Remove(name(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for n := keep - 1; n >= 1; n-- {
		if err := os.Rename(name(n), name(n+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
