//go:build !windows

package palyrars

// unwrapStoreKey returns the identity store key file's content: on Unix the
// crate stores the 32 key bytes raw (store.rs read_store_encryption_key).
func unwrapStoreKey(raw []byte) ([]byte, error) { return append([]byte(nil), raw...), nil }
