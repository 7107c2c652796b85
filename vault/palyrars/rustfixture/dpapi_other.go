//go:build !windows

package rustfixture

import "errors"

// dpapiProtect fails: only Windows has DPAPI, so only a Windows test (or
// one under Wine) writes a windows_dpapi fixture.
func dpapiProtect([]byte) ([]byte, error) {
	return nil, errors.New("rustfixture: windows_dpapi vaults are written on Windows only")
}

// storeKeyFile is what store.rs:379-391 write_store_encryption_key_if_absent
// writes off Windows: the 32 key bytes as they are.
func storeKeyFile(raw []byte) ([]byte, error) { return append([]byte(nil), raw...), nil }
