//go:build linux || darwin

package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// StampsSupported reports whether this platform has FileStamp and the
// functions that return one (Linux and macOS).
const StampsSupported = true

// FileStamp identifies one version of a file for a cache that must notice
// when the file changed without reading it: its device and inode, size,
// modification time and inode change time (ctime), in nanoseconds. A file
// replaced by a rename has another inode; a file written in place gets a
// new mtime and ctime; and no program can set a ctime, which the kernel
// takes from its clock at every change. So while a path's stamp equals the
// one recorded, the file was not changed since, with one exception that a
// cache must rule out itself: a change in the same tick of the file
// system's clock as the recording (see Racy).
type FileStamp struct {
	Dev, Ino                  uint64
	Size, ModTime, ChangeTime int64
}

// Racy reports whether s may not tell a later change apart: whether its
// mtime or ctime is not strictly before t, a time read from the same
// file system's clock (the ctime of a file created before s was taken,
// see CreateTempStamped). A change made after t gets a ctime of at least
// t, so a stamp that is not racy differs from any stamp the file can have
// after a change.
func (s FileStamp) Racy(t int64) bool { return s.ModTime >= t || s.ChangeTime >= t }

func stampOf(st *unix.Stat_t) FileStamp {
	return FileStamp{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size, ModTime: st.Mtim.Nano(), ChangeTime: st.Ctim.Nano()}
}

// StampFD returns the stamp of the open file f.
func StampFD(f *os.File) (FileStamp, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(int(f.Fd()), &st) }); err != nil {
		return FileStamp{}, fmt.Errorf("checking %q: %w", f.Name(), err)
	}
	return stampOf(&st), nil
}

// StampAt returns the stamp of name in the directory dir without following
// a symbolic link, and whether name is a regular file. It fails with an
// error wrapping fs.ErrNotExist when name is missing.
func StampAt(dir *os.File, name string) (FileStamp, bool, error) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err != nil {
		return FileStamp{}, false, &fs.PathError{Op: "lstat", Path: dir.Name() + "/" + name, Err: err}
	}
	return stampOf(&st), uint32(st.Mode)&unix.S_IFMT == unix.S_IFREG, nil
}

// ReadPrefixAt is ReadPrivatePrefix of name in the directory dir: it
// returns at most the first n bytes of the regular file, never following a
// symbolic link, applies Secure's rule to the opened file, and fails the
// same ways. It also returns the file's stamp as it was before the read, so
// a change during the read shows as a later stamp (a tightened mode is such
// a change).
func ReadPrefixAt(dir *os.File, name string, n int) ([]byte, FileStamp, Tightening, error) {
	return readPrefixAt(int(dir.Fd()), dir.Name()+"/"+name, name, n, true)
}

// readPrefix is ReadPrefix (ReadPrivatePrefix when private is set) with
// bare system calls: open(2), fstat(2), pread(2) and close(2), without the
// *os.File that costs four fcntl and an epoll_ctl more.
func readPrefix(path string, n int, private bool) ([]byte, Tightening, error) {
	b, _, t, err := readPrefixAt(unix.AT_FDCWD, path, path, n, private)
	return b, t, err
}

// readPrefixAt reads at most n bytes of name, relative to the directory
// dirfd; path names it in errors.
func readPrefixAt(dirfd int, path, name string, n int, private bool) ([]byte, FileStamp, Tightening, error) {
	if n < 0 {
		return nil, FileStamp{}, Tightening{}, fmt.Errorf("reading %q: negative prefix length %d", path, n)
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, FileStamp{}, Tightening{}, refuse("file", path, "is a symbolic link", "replace it with a regular file; symlinks are never followed")
		}
		return nil, FileStamp{}, Tightening{}, fmt.Errorf("reading %q: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return nil, FileStamp{}, Tightening{}, fmt.Errorf("reading %q: %w", path, err)
	}
	if uint32(st.Mode)&unix.S_IFMT != unix.S_IFREG {
		return nil, FileStamp{}, Tightening{}, refuse("file", path, "is not a regular file ("+describeType(typeOf(uint32(st.Mode)))+")", "move it out of the way")
	}
	var t Tightening
	if private {
		fi := statInfo{name: name, st: &st}
		t, err = tighten(path, fi, false, func(m fs.FileMode) error {
			return ignoringEINTR(func() error { return unix.Fchmod(fd, uint32(m)) })
		})
		if err != nil {
			return nil, FileStamp{}, Tightening{}, err
		}
	}
	buf := make([]byte, min(int64(n), st.Size))
	got := 0
	for got < len(buf) {
		var m int
		err := ignoringEINTR(func() (err error) { m, err = unix.Pread(fd, buf[got:], int64(got)); return err })
		if err != nil {
			return nil, FileStamp{}, Tightening{}, fmt.Errorf("reading %q: %w", path, err)
		}
		if m == 0 {
			break
		}
		got += m
	}
	return buf[:got], stampOf(&st), t, nil
}

// statInfo is the fs.FileInfo of a raw unix.Stat_t, for assess: only the
// mode and the owner (see fileOwner) are filled in.
type statInfo struct {
	name string
	st   *unix.Stat_t
}

func (s statInfo) Name() string       { return s.name }
func (s statInfo) Size() int64        { return s.st.Size }
func (s statInfo) Mode() fs.FileMode  { return typeOf(uint32(s.st.Mode)) | fs.FileMode(s.st.Mode&0o777) }
func (s statInfo) ModTime() time.Time { return time.Unix(0, s.st.Mtim.Nano()) }
func (s statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s statInfo) Sys() any           { return s.st }

// typeOf maps the file type bits of a stat mode onto fs.FileMode.
func typeOf(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFREG:
		return 0
	}
	return fs.ModeIrregular
}

// CreateTempStamped creates a new temporary file for base in dir, as
// WriteFileAtomic does (see TempPrefix; O_EXCL, mode 0600), and returns it
// with its ctime: a reading of the file system's clock taken now, to
// compare stamps taken afterwards against (see FileStamp.Racy).
func CreateTempStamped(dir, base string) (*os.File, int64, error) {
	f, err := createTemp(dir, base, createOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("creating a temporary file in %q: %w", dir, err)
	}
	s, err := StampFD(f)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, s.ChangeTime, nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
