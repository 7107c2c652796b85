//go:build !windows

package testutil

// UnderWine reports whether this Windows binary runs under Wine; outside
// Windows it is always false.
func UnderWine() bool { return false }
