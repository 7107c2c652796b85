package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// CreateFileExclusive creates path holding data with mode perm, but only if
// nothing exists at path yet; otherwise it fails with an error satisfying
// errors.Is(err, fs.ErrExist) and leaves the existing file alone. Like
// WriteFileAtomic, the content is complete and durable before it becomes
// visible: it is written to a temporary file, fsynced, then hard-linked into
// place (link, unlike rename, never replaces an existing file), and the
// directory is fsynced. Two processes racing to create the same file (say,
// a new key) therefore agree on one winner, and the loser reads its content.
func CreateFileExclusive(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("creating %q: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmpName)
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("creating %q: %w", path, err)
	}
	if perm.Perm() != 0o600 {
		if err = tmp.Chmod(perm.Perm()); err != nil {
			return fmt.Errorf("creating %q: %w", path, err)
		}
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("creating %q: syncing: %w", path, err)
	}
	if err = os.Link(tmpName, path); err != nil {
		return fmt.Errorf("creating %q: %w", path, err)
	}
	if err = SyncDir(dir); err != nil {
		return fmt.Errorf("created %q but could not make its directory entry durable: %w", path, err)
	}
	return nil
}
