//go:build windows

package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// errSymlink is returned by openNoFollow for a symlink; openRegular turns it
// into an ErrUnsafe error after its own Lstat.
var errSymlink = errors.New("is a symbolic link")

// openNoFollow opens path read-only, refusing a symlink or other reparse
// point in its last component. Windows has no O_NOFOLLOW, so the file opened
// is compared with the one Lstat saw; a swap in between is detected.
func openNoFollow(path string) (*os.File, error) {
	lfi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if lfi.Mode()&fs.ModeSymlink != 0 || lfi.Mode()&fs.ModeIrregular != 0 {
		return nil, errSymlink
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !os.SameFile(lfi, fi) {
		f.Close()
		return nil, fmt.Errorf("file %q changed while being opened", path)
	}
	return f, nil
}

// lockOpenFlags are the flags the lock file is opened with.
const lockOpenFlags = os.O_CREATE | os.O_RDONLY

// checkOwnerAndMode does nothing on Windows: access is governed by ACLs,
// which Unix owner and mode bits cannot describe.
func checkOwnerAndMode(string, fs.FileInfo, bool) error { return nil }

// syncDir does nothing on Windows, where a directory cannot be opened for
// FlushFileBuffers and NTFS journals its metadata.
func syncDir(string) error { return nil }

// checkLockPath refuses a lock file that is a symlink, since Windows cannot
// refuse one at open time.
func checkLockPath(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // missing: it will be created
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return unsafe("lock file", path, "is a symbolic link", "remove the link")
	}
	return nil
}
