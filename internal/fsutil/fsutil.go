// Package fsutil holds the file-system primitives the vault's on-disk state
// is built from: owner-only directories and files whose safety is verified
// rather than assumed, atomic and durable writes (temp file, fsync, rename,
// directory fsync), bounded reads that never follow a symlink, and an
// advisory lock that the kernel releases when its holder dies.
//
// Checks that rest on Unix ownership and permission bits (owner uid,
// group/world bits) apply on Unix-like systems only. On Windows, whose access
// control lives in ACLs that these checks cannot judge, they are skipped:
// there the functions still refuse symbolic links, junctions and wrong file
// types, and directory fsync is a no-op because Windows cannot open a
// directory for it. What Windows needs instead is handled there: files are
// published by renaming through the temporary file's handle (or MoveFileEx
// with a bounded retry), and reads share delete access, so that readers and
// writers of one file never lock each other out.
//
// Every unsafe condition found is reported as an *UnsafeError, which wraps
// ErrUnsafe and whose message names the path, says what is wrong and how to
// fix it.
package fsutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/readlimit"
)

// ErrUnsafe is wrapped by every error that refuses a path because of its type
// (a symbolic link, not a directory, not a regular file), its owner, or its
// permission bits. Those errors are of type *UnsafeError.
var ErrUnsafe = errors.New("unsafe path")

// ErrTooLarge is wrapped by ReadFileLimited's error when a file holds more
// bytes than the caller's limit.
var ErrTooLarge = errors.New("file too large")

// TempPrefix starts the name of every temporary file WriteFileAtomic creates
// (".tmp-<base>-<16 hex digits>"). Readers that list a directory skip names
// with this prefix; RemoveStaleTemps deletes them.
const TempPrefix = ".tmp-"

// maxTempBase bounds how much of the target's base name goes into a temp
// file name, so the temp name stays under common 255-byte name limits.
const maxTempBase = 200

// errLink is returned by openNoFollow on Windows for a symbolic link or
// other reparse point; openRegular turns it into an *UnsafeError. (On Unix
// O_NOFOLLOW fails with ELOOP, which openRegular recognises by Lstat.)
var errLink = errors.New("is a symbolic link or other reparse point")

// IsTemp reports whether name (a base name, not a path) is the name of a
// temporary file made by WriteFileAtomic.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// UnsafeError reports a path refused for its type, owner or permissions.
// Its message reads "<What> <Path quoted> <Problem>: <Fix>", for example
// `directory "/x" is group-writable (mode 0775): run chmod 700 "/x"`, and
// it wraps ErrUnsafe.
type UnsafeError struct {
	What    string // "directory", "file" or "lock file"
	Path    string // the path refused
	Problem string // what is wrong, e.g. "is a symbolic link"
	Fix     string // how to fix it, e.g. `run chmod 700 "/x"`
}

// Error returns the message described on UnsafeError.
func (e *UnsafeError) Error() string {
	return fmt.Sprintf("%s %q %s: %s", e.What, e.Path, e.Problem, e.Fix)
}

// Unwrap returns ErrUnsafe, so errors.Is(err, ErrUnsafe) holds.
func (e *UnsafeError) Unwrap() error { return ErrUnsafe }

// refuse builds an *UnsafeError.
func refuse(what, path, problem, fix string) error {
	return &UnsafeError{What: what, Path: path, Problem: problem, Fix: fix}
}

// WriteFileAtomic replaces the file at path with data so that a reader, or
// the file system after a crash, sees either the old content or the new one
// and never a mix. It creates a temporary file (see TempPrefix) in the same
// directory with O_EXCL and mode 0600, writes data, sets perm (exactly, not
// filtered by the umask), fsyncs it and renames it over path, then makes
// the rename durable (a directory fsync on Unix, a flush of the renamed file
// on Windows), so the new content survives a crash once it returns nil.
//
// On Windows the rename goes through the temporary file's handle with POSIX
// semantics where the file system offers them (Windows 10 1607 and later,
// NTFS), which replaces path even while readers hold it open; elsewhere it
// uses MoveFileEx(MOVEFILE_REPLACE_EXISTING|MOVEFILE_WRITE_THROUGH),
// retried for about two seconds while another process's open handle blocks
// it. Readers in this package (ReadFileLimited, ReadPrefix) share delete
// access, so they never block a writer.
//
// It refuses, with an error wrapping ErrUnsafe, when path exists and is a
// symbolic link (or, on Windows, another reparse point such as a junction)
// or not a regular file. On any failure before the rename it removes the
// temporary file and leaves path untouched. If only the final step that
// makes the rename durable fails, path already holds the new content and
// the error says so. The directory must already exist.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileAtomic(path, data, perm, createOptions{})
}

// writeFileAtomic is WriteFileAtomic with platform options for the
// temporary file (on Windows, its security descriptor).
func writeFileAtomic(path string, data []byte, perm os.FileMode, co createOptions) (err error) {
	if fi, lerr := os.Lstat(path); lerr == nil {
		if fi.Mode()&fs.ModeSymlink != 0 {
			return refuse("file", path, "is a symbolic link", "remove the link; files are never written through symlinks")
		}
		if !fi.Mode().IsRegular() {
			return refuse("file", path, "is not a regular file ("+describeType(fi.Mode())+")", "move it out of the way")
		}
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return fmt.Errorf("writing %q: %w", path, lerr)
	}

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := createTemp(dir, base, co)
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	tmpName := tmp.Name()
	published := false
	defer func() {
		if err != nil && !published {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err = fillTemp(tmp, data, perm); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	published, err = publish(tmp, path, true)
	if err != nil {
		if published {
			// The new content is in place: removing anything now would
			// lose it, so report without the deferred cleanup.
			return fmt.Errorf("wrote %q but could not make it durable: %w", path, err)
		}
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if serr := SyncDir(dir); serr != nil {
		return fmt.Errorf("wrote %q but could not make its directory entry durable: %w", path, serr)
	}
	return nil
}

// fillTemp writes data to the new temporary file tmp, sets perm when it is
// not the 0600 tmp was created with, and fsyncs it.
func fillTemp(tmp *os.File, data []byte, perm os.FileMode) error {
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if perm.Perm() != 0o600 {
		if err := tmp.Chmod(perm.Perm()); err != nil {
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	return nil
}

// createTemp creates a new temp file for base in dir with O_EXCL and 0600.
func createTemp(dir, base string, co createOptions) (*os.File, error) {
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	var lastErr error
	for range 10 {
		var rnd [8]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, TempPrefix+base+"-"+hex.EncodeToString(rnd[:]))
		f, err := openTemp(name, co)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

// RemoveStaleTemps deletes the temporary files WriteFileAtomic leaves behind
// when a process dies mid-write (names starting with TempPrefix) from dir,
// and reports how many it removed. Directories are left alone. Call it only
// while holding the writers' lock: a temp file of a write in progress would
// otherwise be removed under it. Errors for single files are joined; the
// count covers the files that were removed.
func RemoveStaleTemps(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("removing stale temporary files: %w", err)
	}
	var errs []error
	n := 0
	for _, e := range entries {
		if !IsTemp(e.Name()) || e.IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing stale temporary file: %w", err))
			}
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// SyncDir fsyncs the directory dir so that entries created, renamed or
// removed in it survive a crash. On Windows it does nothing (directories
// cannot be opened for syncing there; NTFS journals metadata itself).
func SyncDir(dir string) error { return syncDir(dir) }

// EnsurePrivateDir makes sure path is a directory only its owner can change.
// When path does not exist it creates it with mode 0700 (and any missing
// parents, also 0700). When it exists it verifies, without following a
// symbolic link in the last component, that it is a real directory, that it
// is owned by the current user, and that neither group nor others can write
// to it. It never changes an existing directory: an unsafe one is refused
// with an error wrapping ErrUnsafe that says what is wrong and how to fix it,
// for example:
//
//	directory "/x" is group-writable (mode 0775): run chmod 700 "/x"
//
// Symbolic links in parent components are followed (a home directory on a
// symlinked disk is common and harmless). The ownership and mode checks are
// skipped on Windows.
func EnsurePrivateDir(path string) error {
	_, err := EnsurePrivateDirCreated(path)
	return err
}

// EnsurePrivateDirCreated is EnsurePrivateDir that also reports whether
// this call created path (its own mkdir made it; a directory that appeared
// meanwhile was checked like any existing one and counts as not created).
// A caller may go on to manage the mode of a directory it created, and
// must leave the mode of any other as it found it: EnsurePrivateDir's
// check (a real directory, owned by the current user, writable by no one
// else) is all that is asked of a directory someone else made.
func EnsurePrivateDirCreated(path string) (created bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if parent := filepath.Dir(path); parent != path {
			if err := os.MkdirAll(parent, 0o700); err != nil {
				return false, fmt.Errorf("creating directory %q: %w", path, err)
			}
		}
		if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return false, fmt.Errorf("creating directory %q: %w", path, err)
		} else if err == nil {
			created = true
			// Mkdir's mode passed through the umask; make it exactly 0700.
			if err := os.Chmod(path, 0o700); err != nil {
				return created, fmt.Errorf("creating directory %q: %w", path, err)
			}
		}
		fi, err = os.Lstat(path)
	}
	if err != nil {
		return created, fmt.Errorf("checking directory %q: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return created, refuse("directory", path, "is a symbolic link", "replace it with a real directory; symlinks are refused so the data cannot be redirected")
	}
	if !fi.IsDir() {
		return created, refuse("directory", path, "is not a directory ("+describeType(fi.Mode())+")", "move it out of the way")
	}
	return created, checkOwnerAndMode(path, fi, true)
}

// CheckPrivateFile verifies, without following a symbolic link, that path is
// a regular file owned by the current user that neither group nor others can
// read or write (mode 0600 or stricter). It returns an error wrapping
// ErrUnsafe that says what is wrong and how to fix it, or the error from
// Lstat (wrapping fs.ErrNotExist when the file is missing). The ownership
// and mode checks are skipped on Windows.
func CheckPrivateFile(path string) error { return Check(path, false) }

// describeType names the type of a non-regular file for error messages.
func describeType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a regular file"
	default:
		return "an irregular file"
	}
}

// ReadFileLimited reads the whole regular file at path, refusing to follow a
// symbolic link in its last component (O_NOFOLLOW on Unix; on Windows the
// file is opened with FILE_FLAG_OPEN_REPARSE_POINT and any reparse point is
// refused: a symbolic link or junction, and also a cloud placeholder or
// deduplicated file, whose content the opened handle would not show). On
// Windows it opens the file sharing read, write and delete access, so a
// reader never blocks WriteFileAtomic replacing the file or os.Remove
// deleting it. It fails with an error wrapping ErrTooLarge when the file
// holds more than max bytes, wrapping ErrUnsafe for a symlink or a file that
// is not regular (a FIFO is never waited on), and wrapping fs.ErrNotExist
// when the file is missing. It reads as readlimit.ReadAll does, leaving no
// copy of the content in memory it drops.
func ReadFileLimited(path string, max int64) ([]byte, error) {
	data, _, err := readFileLimited(path, max, false)
	return data, err
}

// readFileLimited is ReadFileLimited, and ReadPrivateFile when private is
// set.
func readFileLimited(path string, max int64, private bool) ([]byte, Tightening, error) {
	if max < 0 {
		return nil, Tightening{}, fmt.Errorf("reading %q: negative size limit %d", path, max)
	}
	f, fi, t, err := openRegular(path, private)
	if err != nil {
		return nil, Tightening{}, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, t, fmt.Errorf("reading %q: file is %d bytes, more than the %d-byte limit: %w", path, fi.Size(), max, ErrTooLarge)
	}
	// The file may have grown since Stat: the limit still holds.
	data, err := readlimit.ReadAll(f, int(min(max, math.MaxInt-1)), int(fi.Size()))
	if errors.Is(err, readlimit.ErrTooLarge) {
		return nil, t, fmt.Errorf("reading %q: file is more than the %d-byte limit: %w", path, max, ErrTooLarge)
	}
	if err != nil {
		return nil, t, fmt.Errorf("reading %q: %w", path, err)
	}
	return data, t, nil
}

// ReadPrefix returns at most the first n bytes of the regular file at path
// (fewer when the file is shorter), reading nothing beyond them. It opens the
// file as ReadFileLimited does and fails the same ways, except that a file
// is never too large.
func ReadPrefix(path string, n int) ([]byte, error) {
	data, _, err := readPrefix(path, n, false)
	return data, err
}

// readPrefixFile is ReadPrefix (ReadPrivatePrefix when private is set)
// through an *os.File (see openRegular).
func readPrefixFile(path string, n int, private bool) ([]byte, Tightening, error) {
	if n < 0 {
		return nil, Tightening{}, fmt.Errorf("reading %q: negative prefix length %d", path, n)
	}
	f, fi, t, err := openRegular(path, private)
	if err != nil {
		return nil, Tightening{}, err
	}
	defer f.Close()
	size := int64(n)
	if fi.Size() < size {
		size = fi.Size()
	}
	buf := make([]byte, size)
	m, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, t, fmt.Errorf("reading %q: %w", path, err)
	}
	return buf[:m], t, nil
}

// openRegular opens path for reading without following a final symlink and
// checks that what it opened is a regular file. When private is set it
// also applies Secure's rule to the opened file (see ReadPrivateFile).
func openRegular(path string, private bool) (*os.File, fs.FileInfo, Tightening, error) {
	f, err := openNoFollow(path)
	if err != nil {
		if errors.Is(err, errLink) {
			return nil, nil, Tightening{}, refuse("file", path, "is a symbolic link", "replace it with a regular file; symlinks are never followed")
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, Tightening{}, fmt.Errorf("reading %q: %w", path, err)
		}
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, nil, Tightening{}, refuse("file", path, "is a symbolic link", "replace it with a regular file; symlinks are never followed")
		}
		return nil, nil, Tightening{}, fmt.Errorf("reading %q: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, Tightening{}, fmt.Errorf("reading %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, Tightening{}, refuse("file", path, "is not a regular file ("+describeType(fi.Mode())+")", "move it out of the way")
	}
	var t Tightening
	if private {
		if t, err = tighten(path, fi, false, f.Chmod); err != nil {
			f.Close()
			return nil, nil, Tightening{}, err
		}
	}
	return f, fi, t, nil
}
