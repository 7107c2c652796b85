package testutil

import "testing"

// SkipUnderWine skips t when it runs under Wine, saying what Wine cannot
// show (what), so the skip message explains itself; on real Windows and
// elsewhere it does nothing.
func SkipUnderWine(t testing.TB, what string) {
	t.Helper()
	if UnderWine() {
		t.Skipf("skipped under Wine: %s; this test runs on real Windows", what)
	}
}
