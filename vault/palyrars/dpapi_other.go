//go:build !windows

package palyrars

import "errors"

// dpapiUnprotect fails: DPAPI exists only on Windows, so a vault on
// windows_dpapi is read on the Windows account that wrote it.
func dpapiUnprotect([]byte) ([]byte, error) {
	return nil, errors.New("the vault's backend is windows_dpapi: only Windows, signed in as the user who wrote it, can decrypt it; import it there with palyra secrets import-palyra")
}
