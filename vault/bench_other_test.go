//go:build !unix

package vault

import "github.com/palyra/palyra-vault/internal/fsutil"

// rawDurableWrite is fsutil.WriteFileAtomic where there are no bare Unix
// system calls to measure against.
func rawDurableWrite(path string, data []byte) error {
	return fsutil.WriteFileAtomic(path, data, 0o600)
}
