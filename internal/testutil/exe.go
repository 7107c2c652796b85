package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// CopyTestBinary copies the running test binary to dir/name, mode 0755,
// and returns its path: for a test that runs it as another user (who may
// not reach the build cache where go test keeps the original).
func CopyTestBinary(t testing.TB, dir, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
