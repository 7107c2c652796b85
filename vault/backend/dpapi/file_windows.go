//go:build windows

package dpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/palyra/palyra-vault/internal/fsutil"
)

// tempPrefix starts the name of every temporary file writeFileAtomic makes;
// it is fsutil's, so fsutil.RemoveStaleTemps recognises them.
const tempPrefix = fsutil.TempPrefix

// renameAttempts and renameBackoff bound how long writeFileAtomic retries a
// rename that another process's open handle blocks (antivirus scanners and
// indexers open new files briefly; readers of this package share delete
// access, but other programs may not).
const (
	renameAttempts   = 30
	renameBackoff    = time.Millisecond
	maxRenameBackoff = 100 * time.Millisecond
)

// writeFileAtomic replaces dir\name with data: it creates a new temporary
// file in dir with the owner-only security descriptor sd, writes data,
// flushes it to disk, and renames it over dir\name: through its handle with
// FileRenameInfoEx and POSIX semantics where the system supports that
// (Windows 10 1607 and later on NTFS), which succeeds even while readers
// hold dir\name open, followed by a second flush; elsewhere with
// MoveFileEx(MOVEFILE_REPLACE_EXISTING|MOVEFILE_WRITE_THROUGH), retried for
// up to about two seconds while an open handle blocks it. A reader sees the
// old content or the new one, never a mix; once it returns nil the new
// content survives a crash. On failure the temporary file is removed and
// dir\name is untouched.
func writeFileAtomic(dir, name string, data []byte, sd *windows.SECURITY_DESCRIPTOR) (err error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("naming temporary file: %w", err)
	}
	tmp := filepath.Join(dir, tempPrefix+name+"-"+hex.EncodeToString(rnd[:]))
	tmp16, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return fmt.Errorf("temporary file name %q: %w", tmp, err)
	}
	h, err := windows.CreateFile(tmp16, windows.GENERIC_READ|windows.GENERIC_WRITE|windows.DELETE, 0,
		securityAttributes(sd), windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return fmt.Errorf("creating temporary file %q: %w", tmp, err)
	}
	f := os.NewFile(uintptr(h), tmp)
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing temporary file %q: %w", tmp, err)
	}
	if err = f.Sync(); err != nil { // FlushFileBuffers
		return fmt.Errorf("flushing temporary file %q: %w", tmp, err)
	}
	dst := filepath.Join(dir, name)
	dst16, err := windows.UTF16FromString(dst)
	if err != nil {
		return fmt.Errorf("file name %q: %w", dst, err)
	}
	// First choice: a POSIX-semantics rename through the open handle, which
	// replaces dst even while readers hold it open (they share delete).
	if perr := renamePOSIX(h, dst16); perr == nil {
		if err = f.Sync(); err != nil { // make the rename durable too
			return fmt.Errorf("flushing %q after rename: %w", dst, err)
		}
		closed = true
		if err = f.Close(); err != nil {
			return fmt.Errorf("closing %q: %w", dst, err)
		}
		return nil
	}
	// Fallback (before Windows 10 1607, file systems without POSIX
	// semantics, Wine): MoveFileEx, retried while a reader's handle blocks
	// the replacement.
	closed = true
	if err = f.Close(); err != nil {
		return fmt.Errorf("closing temporary file %q: %w", tmp, err)
	}
	for attempt, wait := 1, renameBackoff; ; attempt, wait = attempt+1, min(2*wait, maxRenameBackoff) {
		err = windows.MoveFileEx(tmp16, &dst16[0], windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
		if err == nil {
			return nil
		}
		if attempt == renameAttempts || !(errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)) {
			return fmt.Errorf("renaming %q over %q: %w", tmp, dst, err)
		}
		time.Sleep(wait)
	}
}

// fileRenameInfo is FILE_RENAME_INFO with the Flags member of the union
// that FileRenameInfoEx uses; FileName extends past the struct.
type fileRenameInfo struct {
	Flags          uint32
	RootDirectory  windows.Handle
	FileNameLength uint32
	FileName       [1]uint16
}

// renamePOSIX renames the file open as h to the NUL-terminated path dst,
// replacing dst with POSIX semantics (an open dst is unlinked, its readers
// keep the old content).
func renamePOSIX(h windows.Handle, dst []uint16) error {
	nameOff := unsafe.Offsetof(fileRenameInfo{}.FileName)
	size := nameOff + uintptr(len(dst))*2
	buf := make([]uint64, (size+7)/8) // 8-byte aligned
	info := (*fileRenameInfo)(unsafe.Pointer(&buf[0]))
	info.Flags = windows.FILE_RENAME_REPLACE_IF_EXISTS | windows.FILE_RENAME_POSIX_SEMANTICS
	info.FileNameLength = uint32((len(dst) - 1) * 2) // bytes, without the NUL
	copy(unsafe.Slice(&info.FileName[0], len(dst)), dst)
	return windows.SetFileInformationByHandle(h, windows.FileRenameInfoEx, (*byte)(unsafe.Pointer(info)), uint32(size))
}

// readFileLimited reads the regular file at path, at most max bytes. It
// opens the file sharing read, write and delete access, so that a
// concurrent writeFileAtomic or Delete is not blocked by the reader, and
// without following a symbolic link or other reparse point. A missing file
// yields an error wrapping os.ErrNotExist; a reparse point or directory, an
// error wrapping errNotRegular; a larger file, errTooBig.
func readFileLimited(path string, max int64) ([]byte, error) {
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("file name %q: %w", path, err)
	}
	h, err := windows.CreateFile(p16, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return nil, fmt.Errorf("opening %q: %w", path, os.ErrNotExist)
		}
		return nil, fmt.Errorf("opening %q: %w", path, err)
	}
	f := os.NewFile(uintptr(h), path)
	defer f.Close()
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return nil, fmt.Errorf("inspecting %q: %w", path, err)
	}
	if info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		return nil, fmt.Errorf("%q: %w", path, errNotRegular)
	}
	size := int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow)
	if size > max {
		return nil, fmt.Errorf("%q is %d bytes, more than the %d-byte limit: %w", path, size, max, errTooBig)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%q grew past the %d-byte limit while read: %w", path, max, errTooBig)
	}
	return data, nil
}

var (
	errNotRegular = errors.New("is a symbolic link, junction or directory, not a regular file")
	errTooBig     = errors.New("file too large")
)
