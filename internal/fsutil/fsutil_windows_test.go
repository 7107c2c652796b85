//go:build windows

package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// publishModes lists both ways publish works on Windows: the rename through
// the handle (which falls back to MoveFileEx by itself where the file
// system lacks POSIX semantics, as under Wine) and the MoveFileEx fallback
// forced.
func publishModes(t *testing.T) []publishMode {
	return []publishMode{
		{name: "rename through handle", set: func(*testing.T) {}, replacesOpenFile: posixRenameWorks(t)},
		{name: "MoveFileEx fallback", set: func(t *testing.T) {
			handleRename = false
			t.Cleanup(func() { handleRename = true })
		}},
	}
}

// posixRenameWorks reports whether a rename through a handle with POSIX
// semantics works in the temporary directory (Windows 10 1607 and later on
// NTFS; not Wine 8, which answers "invalid parameter").
func posixRenameWorks(t *testing.T) bool {
	t.Helper()
	dir := testutil.TempDir(t)
	tmp, err := createTemp(dir, "probe", createOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	dst, err := windows.UTF16FromString(filepath.Join(dir, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	err = renameByHandle(windows.Handle(tmp.Fd()), dst, false)
	if err != nil {
		t.Logf("rename through a handle with POSIX semantics is unsupported here (%v): publish uses MoveFileEx", err)
		tmp.Close()
		_ = os.Remove(tmp.Name())
	}
	return err == nil
}

// onBusyRetry calls fn each time publish waits to retry a blocked
// MoveFileEx, for the rest of t.
func onBusyRetry(t *testing.T, fn func()) {
	testHookBusyRetry = fn
	t.Cleanup(func() { testHookBusyRetry = nil })
}

func TestWriteFileAtomicBlockedByNonSharingReaderFailsAndKeepsOldContent(t *testing.T) {
	dir := testutil.TempDir(t)
	path := filepath.Join(dir, "obj")
	if err := WriteFileAtomic(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// os.Open does not share delete access, so neither the rename through
	// the handle nor MoveFileEx can replace the file while it is open;
	// WriteFileAtomic retries for its bounded time, then gives up.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = WriteFileAtomic(path, []byte("new"), 0o600)
	f.Close()
	if err == nil {
		t.Fatal("WriteFileAtomic replaced a file held open without delete sharing; want an error")
	}
	if !errors.Is(err, windows.ERROR_ACCESS_DENIED) && !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
		t.Errorf("error %v does not wrap the sharing error", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "old" {
		t.Errorf("file holds %q (%v), want the old content", got, err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"obj"}) {
		t.Errorf("directory holds %q, want no temporary file left", names)
	}
	// Once the reader is gone the same write goes through.
	if err := WriteFileAtomic(path, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFileAtomic after the reader closed: %v", err)
	}
}

func TestWriteFileAtomicSDCreatesFileWithGivenDACL(t *testing.T) {
	testutil.SkipUnderWine(t, "Wine does not keep the DACL given to CreateFile")
	// Owner-only: full access for the current user, nothing for others.
	tok := windows.GetCurrentProcessToken()
	user, err := tok.GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + user.User.Sid.String() + ")")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testutil.TempDir(t), "obj")
	if err := WriteFileAtomicSD(path, []byte("sealed"), sd); err != nil {
		t.Fatal(err)
	}
	got, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.String(); s != "D:P(A;;FA;;;"+user.User.Sid.String()+")" {
		t.Errorf("file DACL is %s, want the owner-only one it was written with", s)
	}
	if data, err := ReadFileLimited(path, 100); err != nil || string(data) != "sealed" {
		t.Errorf("ReadFileLimited = %q, %v; want \"sealed\"", data, err)
	}
}

// isBusyError reports whether err is publish giving up on a rename that
// open handles kept blocking.
func isBusyError(err error) bool { return isBusy(err) }
