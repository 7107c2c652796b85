//go:build unix

package fsutil

import "testing"

// publishModes lists the one way Unix publishes: rename(2), which replaces
// a file readers hold open, or link(2).
func publishModes(*testing.T) []publishMode {
	return []publishMode{{name: "rename", set: func(*testing.T) {}, replacesOpenFile: true}}
}

// onBusyRetry is never needed on Unix, where publish does not retry.
func onBusyRetry(t *testing.T, _ func()) {
	t.Helper()
	t.Fatal("publish never retries on Unix")
}

// isBusyError is false on Unix, where an open file never blocks a rename.
func isBusyError(error) bool { return false }
