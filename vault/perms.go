package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
)

// securePaths applies fsutil.Secure's rule, on every Open, to the vault
// root (created 0700 when missing), the files in it, its objects/
// directory, and the key store: the state root's keys/ directory and the
// key files in it. Paths that do not exist yet are skipped. Each
// tightening is passed to report (when not nil); the first refusal is
// returned as a permission error and stops the walk, so a refused path
// is never changed. Object files are checked when they are read (see
// filestore), which keeps Open's cost independent of the number of
// secrets: a few lstat calls and one read of keys/.
func securePaths(stateRoot, root string, report func(fsutil.Tightening)) error {
	if err := fsutil.EnsurePrivateDir(root); err != nil {
		return permissionError("vault root", err)
	}
	secure := func(what, path string, dir bool) error {
		t, err := fsutil.Secure(path, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return permissionError(what, err)
		}
		if t.Changed() && report != nil {
			report(t)
		}
		return nil
	}
	if err := secure("vault root", root, true); err != nil {
		return err
	}
	for _, name := range []string{markerFile, idFile, keySourceFile, lockFile, migrateFromFile} {
		if err := secure("vault file", filepath.Join(root, name), false); err != nil {
			return err
		}
	}
	if err := secure("vault objects directory", filepath.Join(root, filestore.ObjectsDir), true); err != nil {
		return err
	}
	keys := filepath.Dir(DeviceKeyPath(stateRoot))
	if err := secure("key directory", keys, true); err != nil {
		return err
	}
	entries, err := os.ReadDir(keys)
	if err != nil {
		return nil // missing (no device key yet) or unreadable: loading a key reports it
	}
	for _, e := range entries {
		if fsutil.IsTemp(e.Name()) {
			continue
		}
		if err := secure("key file", filepath.Join(keys, e.Name()), e.IsDir()); err != nil {
			return err
		}
	}
	return nil
}
