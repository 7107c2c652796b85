//go:build !unix

package daemon

// checkConfigFile does nothing where Unix permission bits do not apply; the
// daemon does not start there anyway (it cannot identify callers).
func checkConfigFile(string) error { return nil }
