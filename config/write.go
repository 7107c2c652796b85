package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

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

// ErrLockTimeout means UpdateConfig gave up waiting for the configuration's
// lock file because another process held it for UpdateOptions.LockTimeout.
var ErrLockTimeout = fsutil.ErrLockTimeout

// LockWaitNotice is how long UpdateConfig waits for the configuration's lock
// before it calls UpdateOptions.OnLockWait.
const LockWaitNotice = time.Second

// LockPath returns the lock file that makes rewrites of the configuration
// file target exclusive: ".<name>.lock" in target's directory, so
// ".palyra.toml.lock" beside palyra.toml. target is the file itself, not a
// symbolic link to it (UpdateConfig follows the link first). The
// configuration file cannot be its own lock: a rewrite replaces it by
// rename, so a process waiting on the old inode would lock a file nobody
// else opens. The lock file is created with mode 0600, stays empty, and is
// never removed (removing it would let two processes lock two different
// files).
func LockPath(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".lock")
}

// UpdateOptions say how UpdateConfig writes and waits.
type UpdateOptions struct {
	// Backups is how many rotating backups to keep, 0 to MaxBackups (see
	// DefaultBackups).
	Backups int
	// LockTimeout, when positive, bounds the wait for another process's
	// rewrite of the same file: UpdateConfig then fails with an error
	// wrapping ErrLockTimeout. Zero waits until ctx is done.
	LockTimeout time.Duration
	// OnLockWait, when set, is called once, with the lock file's path, when
	// the wait has lasted LockWaitNotice; the wait goes on after it
	// returns.
	OnLockWait func(lockPath string)
}

// EditFunc computes a configuration file's new content from its current
// content (nil and exists false when there is no file yet). It returns
// write false to leave the file as it is, or an error to stop without
// writing; UpdateConfig returns that error unchanged.
type EditFunc func(current []byte, exists bool) (data []byte, write bool, err error)

// UpdateConfig is the one way to rewrite a configuration file: a
// read-modify-write that is exclusive across processes. It follows path
// when it is a symbolic link, takes the exclusive lock on LockPath of the
// file it names (creating a missing parent directory with mode 0700 first),
// reads the file, calls edit with its content, and writes edit's result as
// described below, then releases the lock. Two concurrent UpdateConfig
// calls on one file, in one process or in two, therefore run one after the
// other: the second edit sees the first one's result, and no change is
// lost. A hand edit by a program that does not take the lock is not
// excluded; an edit function that must not overwrite one compares current
// with what it read earlier.
//
// existed reports whether the file existed when it was read under the
// lock, and wrote whether edit asked for a write (which then succeeded).
//
// The write replaces the file with data, keeping up to opts.Backups copies
// of earlier versions:
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
// It fails, before changing anything, when opts.Backups is negative or
// above MaxBackups, when path exists and is not a regular file, when the
// lock cannot be taken (an error wrapping ErrLockTimeout after
// opts.LockTimeout, or ctx's error), when edit fails, or when edit's data
// is larger than MaxSize; a failure after the rotation leaves the old file
// in place and its copy in .bak.1.
func UpdateConfig(ctx context.Context, path string, opts UpdateOptions, edit EditFunc) (existed, wrote bool, err error) {
	if opts.Backups < 0 || opts.Backups > MaxBackups {
		return false, false, fmt.Errorf("writing configuration: backups %d is not between 0 and %d", opts.Backups, MaxBackups)
	}
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return false, false, fmt.Errorf("writing configuration %q: following its symbolic link: %w", path, err)
		}
	}
	dir := filepath.Dir(target)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, false, fmt.Errorf("writing configuration: %w", err)
		}
	}
	unlock, err := fsutil.LockExclusiveWait(ctx, LockPath(target), fsutil.LockWait{
		Timeout:     opts.LockTimeout,
		NoticeAfter: LockWaitNotice,
		Notice:      opts.OnLockWait,
	})
	if err != nil {
		return false, false, fmt.Errorf("locking configuration %q against another rewrite: %w", target, err)
	}
	defer func() { _ = unlock() }()

	current, err := readConfig(target)
	switch {
	case err == nil:
		existed = true
	case errors.Is(err, fs.ErrNotExist):
		current = nil
	default:
		return false, false, err
	}
	data, write, err := edit(current, existed)
	if err != nil || !write {
		return existed, false, err
	}
	if testHookBeforeWrite != nil {
		testHookBeforeWrite()
	}
	if err := writeConfig(target, data, opts.Backups); err != nil {
		return existed, false, err
	}
	return existed, true, nil
}

// testHookBeforeWrite, when set (by this package's tests only), runs between
// UpdateConfig's read and its write, to widen the window a concurrent
// writer could use if the lock did not exclude it.
var testHookBeforeWrite func()

// writeConfig is UpdateConfig's write, without the lock: every caller goes
// through UpdateConfig.
func writeConfig(path string, data []byte, backups int) error {
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
