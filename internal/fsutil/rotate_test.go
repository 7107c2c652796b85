package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

func TestRotateNumberedShiftsCopiesUpAndDropsTheOldest(t *testing.T) {
	tests := []struct {
		name       string
		have       []int // copies present before, each holding its number
		keep, drop int
		want       map[int]string // copy number → the number it had before
	}{
		{"none yet", nil, 3, 0, map[int]string{}},
		{"fewer than keep", []int{1, 2}, 3, 0, map[int]string{2: "1", 3: "2"}},
		{"full: the oldest is replaced", []int{1, 2, 3}, 3, 0, map[int]string{2: "1", 3: "2"}},
		{"gap: skipped, an older copy stays", []int{1, 3}, 3, 0, map[int]string{2: "1", 3: "3"}},
		{"gap with drop: the oldest is removed", []int{1, 3}, 3, 3, map[int]string{2: "1"}},
		{"keep 1 renames nothing", []int{1, 2}, 1, 0, map[int]string{1: "1", 2: "2"}},
		{"keep 1 with drop frees 1", []int{1, 2}, 1, 5, map[int]string{}},
		{"keep shrank: copies beyond it go", []int{1, 2, 3, 4, 5}, 2, 10, map[int]string{2: "1"}},
		{"keep shrank without drop: they stay", []int{1, 2, 3, 4, 5}, 2, 0, map[int]string{2: "1", 3: "3", 4: "4", 5: "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testutil.TempDir(t)
			name := func(n int) string { return filepath.Join(dir, "f.bak."+strconv.Itoa(n)) }
			for _, n := range tt.have {
				if err := os.WriteFile(name(n), []byte(strconv.Itoa(n)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := RotateNumbered(name, tt.keep, tt.drop); err != nil {
				t.Fatal(err)
			}
			got := map[int]string{}
			for n := 1; n <= 12; n++ {
				if b, err := os.ReadFile(name(n)); err == nil {
					got[n] = string(b)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("copies after rotation = %v, want %v", got, tt.want)
			}
			if names := dirNames(t, dir); len(names) != len(tt.want) {
				t.Errorf("directory holds %v, want only the %d copies", names, len(tt.want))
			}
		})
	}
}

func TestRotateNumberedStopsAtTheFirstFailure(t *testing.T) {
	dir := testutil.TempDir(t)
	name := func(n int) string { return filepath.Join(dir, fmt.Sprintf("f.%d", n)) }
	for _, n := range []int{1, 2} {
		if err := os.WriteFile(name(n), []byte(strconv.Itoa(n)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A non-empty directory where copy 3 goes: renaming copy 2 onto it fails.
	if err := os.MkdirAll(filepath.Join(name(3), "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := RotateNumbered(name, 3, 0); err == nil {
		t.Fatal("rotation onto a non-empty directory succeeded")
	}
	// Copy 1 was not moved: the rotation stopped before it.
	if b, err := os.ReadFile(name(1)); err != nil || string(b) != "1" {
		t.Errorf("copy 1 = %q, %v; want it untouched", b, err)
	}
	if err := RotateNumbered(name, 0, 0); err == nil {
		t.Error("keep 0 accepted")
	}
}
