package testutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveTreeRemovesNestedEntriesAndToleratesMissingDir(t *testing.T) {
	base, err := os.MkdirTemp("", "palyra-testutil-")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a/b/c", "d"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"top", "a/one", "a/b/c/deep", "d/.hidden"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTree(base); err != nil {
		t.Fatalf("RemoveTree: %v", err)
	}
	if _, err := os.Lstat(base); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("directory still there after RemoveTree (lstat: %v)", err)
	}
	if err := RemoveTree(base); err != nil {
		t.Errorf("RemoveTree of a missing directory: %v, want nil", err)
	}
}

func TestTempDirIsEmptyAndDistinct(t *testing.T) {
	a, b := TempDir(t), TempDir(t)
	if a == b {
		t.Fatalf("two calls returned the same directory %q", a)
	}
	for _, d := range []string{a, b} {
		entries, err := os.ReadDir(d)
		if err != nil || len(entries) != 0 {
			t.Errorf("TempDir %q: %d entries, err %v; want an empty directory", d, len(entries), err)
		}
	}
}
