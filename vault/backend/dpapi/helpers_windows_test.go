//go:build windows

package dpapi

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/windows"
)

// underWine reports whether this Windows binary runs under Wine, which
// exports wine_get_version from ntdll.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// skipUnderWine skips t under Wine, saying which property Wine cannot show.
func skipUnderWine(t *testing.T, what string) {
	t.Helper()
	if underWine() {
		t.Skipf("skipped under Wine: %s; this test runs on real Windows", what)
	}
}

// tempDir makes a fresh directory and removes it after the test, file by
// file. t.TempDir is not used because its cleanup (os.RemoveAll) fails
// under Wine with "Invalid function".
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "palyra-dpapi-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeTree(dir); err != nil {
			t.Errorf("removing test directory: %v", err)
		}
	})
	return dir
}

// removeTree removes dir and everything under it one entry at a time,
// deepest first.
func removeTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
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
