// Package testutil holds helpers for tests that must also run on Windows
// under Wine, where some standard test facilities break: t.TempDir's
// cleanup (os.RemoveAll) fails with "Invalid function", and os.Symlink
// reports success without creating a link. Import it from _test.go files
// only.
package testutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TempDir returns a new empty directory that is removed when t and its
// subtests finish. Outside Windows it is t.TempDir. On Windows it is made
// with os.MkdirTemp and removed entry by entry with RemoveTree, because
// os.RemoveAll (which t.TempDir's cleanup uses) fails under Wine; a failed
// removal fails the test with t.Errorf.
func TempDir(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "palyra-"+safeName(t.Name())+"-")
	if err != nil {
		t.Fatalf("creating test directory: %v", err)
	}
	t.Cleanup(func() {
		if err := RemoveTree(dir); err != nil {
			t.Errorf("removing test directory: %v", err)
		}
	})
	return dir
}

// safeName turns a test name into at most 40 bytes usable in a file name.
func safeName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, name)
	return name[:min(len(name), 40)]
}

// RemoveTree removes dir and everything under it one entry at a time,
// deepest first, without following symbolic links (a link is removed, not
// what it points to). A missing dir is not an error. It stops at the first
// entry it cannot remove and returns that error.
func RemoveTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		if os.IsNotExist(err) && len(paths) == 0 {
			return nil
		}
		return err
	}
	// WalkDir visits a directory before its contents: reversed, every
	// entry comes before its parent.
	for _, p := range slices.Backward(paths) {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// Symlink creates newname as a symbolic link to oldname, or skips t when
// this system cannot make one: os.Symlink fails (Windows without developer
// mode or the privilege), or reports success without creating a link
// (Wine 8's CreateSymbolicLink is a stub).
func Symlink(t testing.TB, oldname, newname string) {
	t.Helper()
	if err := os.Symlink(oldname, newname); err != nil {
		t.Skipf("cannot create symbolic links here: %v", err)
	}
	if fi, err := os.Lstat(newname); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Skipf("os.Symlink reported success but %q is not a symbolic link (lstat: %v); this system cannot make links (Wine)", newname, err)
	}
}
