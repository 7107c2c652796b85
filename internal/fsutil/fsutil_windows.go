//go:build windows

package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// createOptions choose how openTemp creates a temporary file on Windows.
type createOptions struct {
	// sd, when not nil, is the security descriptor of the new file (and so
	// of the published one); nil means the one inherited from the directory.
	sd *windows.SECURITY_DESCRIPTOR
}

// WriteFileAtomicSD is WriteFileAtomic (mode 0600) with the temporary file,
// and so the file published at path, created with the security descriptor
// sd instead of the access control inherited from the directory. Since the
// descriptor is set when the file is created, the data is never readable
// under a wider DACL. It exists on Windows only and fails like
// WriteFileAtomic; a nil sd is WriteFileAtomic.
func WriteFileAtomicSD(path string, data []byte, sd *windows.SECURITY_DESCRIPTOR) error {
	return writeFileAtomic(path, data, 0o600, createOptions{sd: sd})
}

// Retry bounds for the MoveFileEx fallback of publish, while another
// process's open handle blocks the rename (antivirus scanners and indexers
// open new files briefly; readers in this package share delete access, but
// other programs may not). The waits double from renameBackoff up to
// maxRenameBackoff: about 2.4 s in all.
const (
	renameAttempts   = 30
	renameBackoff    = time.Millisecond
	maxRenameBackoff = 100 * time.Millisecond
)

// testHookBusyRetry, when not nil, is called each time publish waits to
// retry a MoveFileEx that an open handle blocked; tests use it to close
// that handle at a known point.
var testHookBusyRetry func()

// handleRename, when false, makes publish skip the rename through the
// handle and go straight to MoveFileEx; tests set it to cover the fallback
// on systems where the first choice works.
var handleRename = true

// longPath returns p in the \\?\ form that lifts the 260-character limit
// of Win32 paths when it is absolute and long enough to need it (as the os
// package does for the paths it opens), and p otherwise.
func longPath(p string) string {
	if len(p) < 248 || strings.HasPrefix(p, `\\?\`) || !filepath.IsAbs(p) {
		return p
	}
	p = filepath.Clean(p)
	if strings.HasPrefix(p, `\\`) { // \\server\share\... -> \\?\UNC\server\share\...
		return `\\?\UNC\` + p[2:]
	}
	return `\\?\` + p
}

// openTemp creates the new temporary file name (failing with an error
// matching fs.ErrExist when it exists) with the access rights publish needs
// to rename it through its handle (DELETE). Others may open it to read, and
// may delete or rename over it, but not write to it: a reader that opens
// the published file before its writer closed the handle is not refused.
func openTemp(name string, co createOptions) (*os.File, error) {
	p16, err := windows.UTF16PtrFromString(longPath(name))
	if err != nil {
		return nil, fmt.Errorf("file name %q: %w", name, err)
	}
	var sa *windows.SecurityAttributes
	if co.sd != nil {
		sa = &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: co.sd}
	}
	h, err := windows.CreateFile(p16, windows.GENERIC_READ|windows.GENERIC_WRITE|windows.DELETE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_DELETE, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(h), name), nil
}

// publish gives the complete, flushed temporary file tmp the name path and
// closes it. When replace is set an existing file at path is replaced;
// otherwise publish fails with an error matching fs.ErrExist when anything
// exists at path.
//
// First choice: a rename through tmp's handle (FileRenameInfoEx) with POSIX
// semantics, which replaces path even while readers hold it open (readers
// sharing delete access keep the old content), followed by a flush of the
// file so the rename is durable too. Where that is unsupported (before
// Windows 10 1607, file systems other than NTFS, Wine) or refused: close
// tmp and MoveFileEx with MOVEFILE_WRITE_THROUGH (plus
// MOVEFILE_REPLACE_EXISTING when replacing), retried with backoff while an
// open handle blocks it (ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION).
//
// It reports whether path holds the new content, which can be true along
// with an error when only the final flush or close failed.
func publish(tmp *os.File, path string, replace bool) (published bool, err error) {
	dst16, err := windows.UTF16FromString(longPath(path))
	if err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("file name %q: %w", path, err)
	}
	if handleRename {
		if rerr := renameByHandle(windows.Handle(tmp.Fd()), dst16, replace); rerr == nil {
			if err := tmp.Sync(); err != nil { // FlushFileBuffers: the rename too
				_ = tmp.Close()
				return true, fmt.Errorf("flushing after rename: %w", err)
			}
			if err := tmp.Close(); err != nil {
				return true, err
			}
			return true, nil
		} else if !replace && isExist(rerr) {
			_ = tmp.Close()
			return false, &os.LinkError{Op: "rename", Old: tmp.Name(), New: path, Err: rerr}
		}
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	src16, err := windows.UTF16PtrFromString(longPath(tmp.Name()))
	if err != nil {
		return false, fmt.Errorf("file name %q: %w", tmp.Name(), err)
	}
	flags := uint32(windows.MOVEFILE_WRITE_THROUGH)
	if replace {
		flags |= windows.MOVEFILE_REPLACE_EXISTING
	}
	wait := renameBackoff
	for attempt := 1; ; attempt++ {
		err = windows.MoveFileEx(src16, &dst16[0], flags)
		if err == nil {
			return true, nil
		}
		if attempt == renameAttempts || !isBusy(err) {
			return false, &os.LinkError{Op: "rename", Old: tmp.Name(), New: path, Err: err}
		}
		if testHookBusyRetry != nil {
			testHookBusyRetry()
		}
		time.Sleep(wait)
		wait = min(2*wait, maxRenameBackoff)
	}
}

// isBusy reports whether err is what Windows returns when an open handle
// blocks a rename or replacement.
func isBusy(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}

// isExist reports whether err says the rename's target exists.
func isExist(err error) bool {
	return errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_FILE_EXISTS)
}

// fileRenameInfo is FILE_RENAME_INFO with the Flags member of the union
// that FileRenameInfoEx uses; FileName extends past the struct.
type fileRenameInfo struct {
	Flags          uint32
	RootDirectory  windows.Handle
	FileNameLength uint32
	FileName       [1]uint16
}

// renameByHandle renames the file open as h (with DELETE access) to the
// NUL-terminated path dst with POSIX semantics: an open file at dst is
// unlinked, its readers keep the old content. Without replace it fails
// with ERROR_ALREADY_EXISTS when dst exists.
func renameByHandle(h windows.Handle, dst []uint16, replace bool) error {
	nameOff := unsafe.Offsetof(fileRenameInfo{}.FileName)
	size := nameOff + uintptr(len(dst))*2
	buf := make([]uint64, (size+7)/8) // 8-byte aligned
	info := (*fileRenameInfo)(unsafe.Pointer(&buf[0]))
	info.Flags = windows.FILE_RENAME_POSIX_SEMANTICS
	if replace {
		info.Flags |= windows.FILE_RENAME_REPLACE_IF_EXISTS
	}
	info.FileNameLength = uint32((len(dst) - 1) * 2) // bytes, without the NUL
	copy(unsafe.Slice(&info.FileName[0], len(dst)), dst)
	return windows.SetFileInformationByHandle(h, windows.FileRenameInfoEx, (*byte)(unsafe.Pointer(info)), uint32(size))
}

// openNoFollow opens path read-only without following a symbolic link or
// other reparse point in its last component (FILE_FLAG_OPEN_REPARSE_POINT
// opens the link itself, which is then refused with errLink). It shares
// read, write and delete access, so it never blocks a writer replacing or
// deleting the file. Directories open too (FILE_FLAG_BACKUP_SEMANTICS), so
// that openRegular can name what it found.
func openNoFollow(path string) (*os.File, error) {
	p16, err := windows.UTF16PtrFromString(longPath(path))
	if err != nil {
		return nil, fmt.Errorf("file name %q: %w", path, err)
	}
	h, err := windows.CreateFile(p16, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		_ = windows.CloseHandle(h)
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		_ = windows.CloseHandle(h)
		return nil, errLink
	}
	return os.NewFile(uintptr(h), path), nil
}

// lockOpenFlags are the flags the lock file is opened with.
const lockOpenFlags = os.O_CREATE | os.O_RDONLY

// fileOwner reports no owner on Windows: access is governed by ACLs, which
// Unix owner and mode bits cannot describe, so the owner and mode rules
// (assess) are skipped there.
func fileOwner(fs.FileInfo) (owner uint32, me int, ok bool) { return 0, 0, false }

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
	if fi.Mode()&fs.ModeSymlink != 0 || fi.Mode()&fs.ModeIrregular != 0 {
		return refuse("lock file", path, "is a symbolic link or other reparse point", "remove it; the lock file must be a regular file")
	}
	return nil
}
