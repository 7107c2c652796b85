//go:build unix

package fsutil

import (
	"io/fs"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// openNoFollow opens path read-only. O_NOFOLLOW makes the open fail when the
// last component is a symlink; O_NONBLOCK keeps a FIFO from blocking the open
// (it has no effect on regular files, and openRegular rejects anything else).
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// createOptions has nothing to choose on Unix: a temporary file's access
// is its mode, set with Chmod.
type createOptions struct{}

// openTemp creates the new temporary file name with O_EXCL and mode 0600.
// It opens with open(2) and wraps the descriptor with os.NewFile, which
// leaves it blocking and out of the runtime's poller: os.OpenFile would
// spend four fcntl calls and a failing epoll_ctl on a regular file.
func openTemp(name string, _ createOptions) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}

// publish closes the complete, fsynced temporary file tmp and gives it the
// name path: with rename(2) when replace is set, which atomically replaces
// any file at path; otherwise with link(2), which fails with EEXIST when
// anything exists at path (the caller removes the temporary name). It
// reports whether path now holds the new content; making the change
// durable is the caller's directory fsync.
func publish(tmp *os.File, path string, replace bool) (published bool, err error) {
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
	}
	return err == nil, err
}

// lockOpenFlags are the flags the lock file is opened with: created if
// missing, never through a symlink.
const lockOpenFlags = os.O_CREATE | os.O_RDONLY | syscall.O_NOFOLLOW

// euid is the effective uid of this process, read once: the rule is
// applied to every object file read, and geteuid(2) is a system call.
// palyra never changes its uid; a program that drops privileges after its
// first check is judged against the uid it had then, which refuses the new
// uid's files rather than accepting another user's.
var euid = sync.OnceValue(os.Geteuid)

// fileOwner returns the uid that owns fi and the effective uid of this
// process; ok is false when fi carries no Unix owner.
func fileOwner(fi fs.FileInfo) (owner uint32, me int, ok bool) {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t: // from os.Lstat, (*os.File).Stat
		return st.Uid, euid(), true
	case *unix.Stat_t: // from a bare fstat (see statInfo)
		return st.Uid, euid(), true
	}
	return 0, 0, false
}

// syncDir fsyncs a directory so entry changes in it are durable, with
// three system calls (os.Open would add four fcntl and an epoll_ctl).
func syncDir(dir string) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	for {
		err = syscall.Fsync(fd)
		if err != syscall.EINTR {
			break
		}
	}
	if cerr := syscall.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "sync", Path: dir, Err: err}
	}
	return nil
}

// checkLockPath has nothing to do on Unix: O_NOFOLLOW in lockOpenFlags
// refuses a symlinked lock file at open time.
func checkLockPath(string) error { return nil }
