package testhook

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyTestsMark fails when a file that goes into a release binary (any
// .go file of the module that is not a _test.go file) calls
// MarkTestBinary: a release binary must never believe it is a test.
func TestOnlyTestsMark(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "MarkTestBinary()") && !strings.HasSuffix(path, filepath.Join("testhook", "testhook.go")) {
			t.Errorf("%s calls testhook.MarkTestBinary; only _test.go files may", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMarkTestBinaryAndCheapKDF(t *testing.T) {
	check := func(when string, env string, want bool) {
		t.Helper()
		t.Setenv(EnvCheapKDF, env)
		if got := CheapKDF(); got != want {
			t.Errorf("%s, $%s=%q: CheapKDF() = %v, want %v", when, EnvCheapKDF, env, got, want)
		}
	}
	if InTestBinary() {
		t.Fatal("InTestBinary before MarkTestBinary")
	}
	// Not (yet) marked: the variable is ignored, as in a release binary.
	check("before MarkTestBinary", "1", false)
	check("before MarkTestBinary", "", false)
	MarkTestBinary()
	if !InTestBinary() {
		t.Fatal("InTestBinary after MarkTestBinary is false")
	}
	for _, tt := range []struct {
		env  string
		want bool
	}{{"1", true}, {"", false}, {"0", false}, {"yes", false}, {"1 ", false}} {
		check("after MarkTestBinary", tt.env, tt.want)
	}
}
