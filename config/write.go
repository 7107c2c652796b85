package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/palyra/palyra-vault/internal/fsutil"
)

// Backups.
const (
	// DefaultBackups is how many backups a command keeps unless told
	// otherwise (palyra secrets configure --backups).
	DefaultBackups = 5
	// MaxBackups is the most backups WriteConfig keeps.
	MaxBackups = 100
)

// BackupPath returns the name of the n-th backup of the file at path:
// "<path>.bak.<n>", n = 1 being the newest.
func BackupPath(path string, n int) string { return path + ".bak." + strconv.Itoa(n) }

// WriteConfig replaces the configuration file at path with data, keeping up
// to backups copies of earlier versions.
//
//   - When path is a symbolic link (a dotfiles checkout, say), the file it
//     points to is written and the link is kept; backups go next to that
//     file.
//   - Before the write, the existing backups rotate (.bak.1 becomes .bak.2,
//     …, and .bak.<backups> is replaced) and the current content becomes
//     .bak.1. Backups are written with mode 0600 whatever the file's mode,
//     because an earlier version may hold the plaintext secret that the
//     rewrite removed; delete them once the new file is known to work.
//     backups = 0 keeps none and touches no existing backup.
//   - The new content is written atomically and durably
//     (fsutil.WriteFileAtomic: temp file, fsync, rename, directory fsync)
//     with the file's current permission bits, or 0600 for a new file
//     (whose missing parent directories are created with mode 0700). Its
//     owner becomes the writing user.
//
// It fails, before changing anything, when backups is negative or above
// MaxBackups, when data is larger than MaxSize, or when path exists and is
// not a regular file; a failure after the rotation leaves the old file in
// place and its copy in .bak.1.
func WriteConfig(path string, data []byte, backups int) error {
	if backups < 0 || backups > MaxBackups {
		return fmt.Errorf("writing configuration: backups %d is not between 0 and %d", backups, MaxBackups)
	}
	if len(data) > MaxSize {
		return fmt.Errorf("writing configuration: %d bytes, more than the %d-byte limit", len(data), MaxSize)
	}
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return fmt.Errorf("writing configuration %q: following its symbolic link: %w", path, err)
		}
	}
	mode := fs.FileMode(0o600)
	fi, err := os.Stat(target)
	exists := err == nil
	switch {
	case exists && !fi.Mode().IsRegular():
		return fmt.Errorf("writing configuration %q: not a regular file", target)
	case exists:
		mode = fi.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("writing configuration: %w", err)
	}
	if !exists {
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return fmt.Errorf("writing configuration: %w", err)
		}
	}
	if exists && backups > 0 {
		if err := backup(target, backups); err != nil {
			return err
		}
	}
	if err := fsutil.WriteFileAtomic(target, data, mode); err != nil {
		return fmt.Errorf("writing configuration: %w", err)
	}
	return nil
}

// backup rotates the backups of target and copies target to .bak.1.
func backup(target string, keep int) error {
	old, err := readConfig(target)
	if err != nil {
		return fmt.Errorf("backing up configuration: %w", err)
	}
	name := func(n int) string { return BackupPath(target, n) }
	if err := fsutil.RotateNumbered(name, keep, 0); err != nil {
		return fmt.Errorf("rotating configuration backups: %w", err)
	}
	// The renames must be durable before .bak.1 is replaced, or a crash
	// could lose the newest old backup.
	if err := fsutil.SyncDir(filepath.Dir(target)); err != nil {
		return fmt.Errorf("rotating configuration backups: %w", err)
	}
	bak := BackupPath(target, 1)
	if fi, err := os.Lstat(bak); err == nil && !fi.Mode().IsRegular() {
		// keep == 1 leaves .bak.1 in place; refuse to write through a link.
		return fmt.Errorf("backing up configuration: %q is not a regular file; remove it", bak)
	}
	if err := fsutil.WriteFileAtomic(bak, old, 0o600); err != nil {
		return fmt.Errorf("backing up configuration: %w", err)
	}
	return nil
}
