//go:build windows

package palyrars

// unwrapStoreKey returns the identity store key: on Windows the crate
// protects it with DPAPI for the current user (store.rs
// read_store_encryption_key, palyra-common windows_security.rs
// dpapi_unprotect_current_user).
func unwrapStoreKey(raw []byte) ([]byte, error) { return dpapiUnprotect(raw) }
