//go:build race

package daemon_test

// raceEnabled says the tests run with -race; the daemon binary they build
// is then built with -race too.
const raceEnabled = true
