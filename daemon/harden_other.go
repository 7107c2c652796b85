//go:build !unix

package daemon

// harden does nothing: the daemon does not run here.
func harden() error { return nil }
