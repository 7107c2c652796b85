//go:build !unix

package audit

// checkConfigFile does nothing here: POSIX permission bits do not describe
// who can read a file on this system.
func (a *auditor) checkConfigFile(path string, hasPlaintext, isBackup bool) {}

// checkVault does nothing here; the vault checks its own ACLs when opened.
func (a *auditor) checkVault() {}
