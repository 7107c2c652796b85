package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSkipOrFailInCI runs a test that calls SkipOrFailInCI in a child
// process, with and without CI=true, and checks that it skips outside CI
// and fails in it.
func TestSkipOrFailInCI(t *testing.T) {
	if os.Getenv("TESTUTIL_SKIP_CHILD") == "1" {
		SkipOrFailInCI(t, "needs something missing")
		return
	}
	tests := []struct {
		ci       string
		wantFail bool
		wantOut  string
	}{
		{"", false, "--- SKIP"},
		{"false", false, "--- SKIP"},
		{"true", true, "cannot run in CI ($CI=true): needs something missing"},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSkipOrFailInCI$", "-test.v")
			cmd.Env = append(os.Environ(), "TESTUTIL_SKIP_CHILD=1", "CI="+tt.ci)
			out, err := cmd.CombinedOutput()
			if (err != nil) != tt.wantFail || !strings.Contains(string(out), tt.wantOut) {
				t.Fatalf("CI=%q: err %v, output:\n%s", tt.ci, err, out)
			}
		})
	}
}
