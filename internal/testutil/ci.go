package testutil

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI ($CI is "true"), where every
// test is meant to run: the suite runs as root and with the real services.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFailInCI skips t, saying why (reason: what the test needs and
// lacks here, e.g. "needs root to run a listener as another uid"), outside
// CI; in CI, where nothing should be missing, it fails t with the same
// reason, so a test meant for root or for a real service cannot pass there
// by skipping.
func SkipOrFailInCI(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("cannot run in CI ($CI=true): %s", reason)
	}
	t.Skip("skipped: " + reason + " (in CI, with $CI=true, this fails instead)")
}
