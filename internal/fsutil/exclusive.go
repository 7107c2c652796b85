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
// visible: it is written to a temporary file and fsynced, then published
// with an operation that never replaces an existing file (a hard link on
// Unix; on Windows a rename without replacement, through the file's handle
// with POSIX semantics or with MoveFileEx(MOVEFILE_WRITE_THROUGH)), and the
// publication is made durable. Two processes racing to create the same file
// (say, a new key) therefore agree on one winner, and the loser reads its
// content. If only the final durability step fails, path exists with the
// new content and the error says so.
func CreateFileExclusive(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := createTemp(dir, base, createOptions{})
	if err != nil {
		return fmt.Errorf("creating %q: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		// After a hard link (Unix) the temporary name still exists and
		// goes; after a rename (Windows) it is gone and Remove fails
		// harmlessly.
		_ = tmp.Close()
		_ = os.Remove(tmpName)
	}()
	if err = fillTemp(tmp, data, perm); err != nil {
		return fmt.Errorf("creating %q: %w", path, err)
	}
	published, err := publish(tmp, path, false)
	if err != nil {
		if published {
			return fmt.Errorf("created %q but could not make it durable: %w", path, err)
		}
		return fmt.Errorf("creating %q: %w", path, err)
	}
	if err = SyncDir(dir); err != nil {
		return fmt.Errorf("created %q but could not make its directory entry durable: %w", path, err)
	}
	return nil
}
