package fsutil

import (
	"fmt"
	"io/fs"
	"os"
)

// Tightening records a mode change made by Secure (or by a private read,
// see ReadPrivateFile): Path had mode From and now has To. The zero value
// means nothing was changed.
type Tightening struct {
	Path     string
	From, To fs.FileMode
}

// Changed reports whether t records a change.
func (t Tightening) Changed() bool { return t.Path != "" && t.From != t.To }

// assess applies the vault's permission rule to fi, the Lstat or Fstat of
// path, which is a directory when isDir is set. It is the one place that
// rule lives (docs/SECURITY.md):
//
//   - owned by another user: refused (hint: chown);
//   - writable by group or others: refused (hint: chmod 700 or 600);
//   - readable (or searchable) by group or others and nothing worse: want
//     is the mode without any group or other bit, which the caller may
//     set (Secure does) or refuse (CheckPrivateFile does for files);
//   - otherwise want is the current mode.
//
// On Windows, where files carry no Unix owner, it accepts anything and
// want is the current mode.
func assess(path string, fi fs.FileInfo, isDir bool) (want fs.FileMode, err error) {
	what, fixMode := "file", "600"
	if isDir {
		what, fixMode = "directory", "700"
	}
	perm := fi.Mode().Perm()
	owner, me, ok := fileOwner(fi)
	if !ok {
		return perm, nil
	}
	if int(owner) != me {
		return perm, refuse(what, path,
			fmt.Sprintf("is owned by uid %d, not by the current user (uid %d)", owner, me),
			fmt.Sprintf("run chown %d %q or use a %s you own", me, path, what))
	}
	if perm&0o022 != 0 {
		var problem string
		switch {
		case !isDir:
			problem = "is writable by group or others"
		case perm&0o020 != 0:
			problem = "is group-writable"
		default:
			problem = "is world-writable"
		}
		return perm, refuse(what, path,
			fmt.Sprintf("%s (mode %04o)", problem, uint32(perm)),
			fmt.Sprintf("run chmod %s %q", fixMode, path))
	}
	return perm &^ 0o077, nil
}

// checkOwnerAndMode is assess for EnsurePrivateDir, which checks without
// changing anything and asks of a directory only that it is the user's and
// nobody else can write it.
func checkOwnerAndMode(path string, fi fs.FileInfo, isDir bool) error {
	_, err := assess(path, fi, isDir)
	return err
}

// Check reports, without changing anything, whether the existing file or
// directory at path (a directory when dir is set) already satisfies
// Secure's rule: it fails with an error wrapping ErrUnsafe for anything
// Secure would refuse, and also for what Secure would tighten (group or
// other read permission), with the chmod that fixes it. A missing path
// fails with an error wrapping fs.ErrNotExist. On Windows only the symlink
// and type checks apply.
func Check(path string, dir bool) error {
	fi, err := lstatKind(path, dir)
	if err != nil {
		return err
	}
	want, err := assess(path, fi, dir)
	if err != nil || want == fi.Mode().Perm() {
		return err
	}
	what, fixMode := "file", "600"
	if dir {
		what, fixMode = "directory", "700"
	}
	return refuse(what, path,
		fmt.Sprintf("is readable by group or others (mode %04o)", uint32(fi.Mode().Perm())),
		fmt.Sprintf("run chmod %s %q", fixMode, path))
}

// lstatKind returns the Lstat of path after refusing a symbolic link and
// anything that is not a directory (dir set) or a regular file.
func lstatKind(path string, dir bool) (fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("checking %q: %w", path, err)
	}
	what := "file"
	if dir {
		what = "directory"
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, refuse(what, path, "is a symbolic link", "replace it with a real "+what+"; symlinks are refused so the data cannot be redirected")
	}
	if dir && !fi.IsDir() {
		return nil, refuse(what, path, "is not a directory ("+describeType(fi.Mode())+")", "move it out of the way")
	}
	if !dir && !fi.Mode().IsRegular() {
		return nil, refuse(what, path, "is not a regular file ("+describeType(fi.Mode())+")", "move it out of the way")
	}
	return fi, nil
}

// Secure enforces the vault's permission rule on the existing file or
// directory at path (a directory when dir is set), the rule Open applies
// to every file and directory of a vault and its key store:
//
//   - a symbolic link (never followed), the wrong file type, an owner other
//     than the current user, or group or other write permission: refused
//     with an error wrapping ErrUnsafe (an *UnsafeError) that says how to
//     fix it, and nothing is changed;
//   - group or other read (or search) permission and nothing worse, as in
//     0755 or 0644: the mode is tightened to the owner's bits alone (0700,
//     0600) and the change is returned, so the caller can say so;
//   - otherwise it changes nothing and returns the zero Tightening.
//
// A missing path fails with an error wrapping fs.ErrNotExist. On Windows
// only the symlink and type checks apply and nothing is ever changed.
func Secure(path string, dir bool) (Tightening, error) {
	fi, err := lstatKind(path, dir)
	if err != nil {
		return Tightening{}, err
	}
	return tighten(path, fi, dir, func(m fs.FileMode) error { return os.Chmod(path, m) })
}

// tighten applies assess to fi and, when only read permission for others
// is in excess, sets the owner-only mode with chmod.
func tighten(path string, fi fs.FileInfo, dir bool, chmod func(fs.FileMode) error) (Tightening, error) {
	want, err := assess(path, fi, dir)
	if err != nil {
		return Tightening{}, err
	}
	from := fi.Mode().Perm()
	if want == from {
		return Tightening{}, nil
	}
	if err := chmod(want); err != nil {
		return Tightening{}, fmt.Errorf("tightening the mode of %q from %04o to %04o: %w", path, uint32(from), uint32(want), err)
	}
	return Tightening{Path: path, From: from, To: want}, nil
}

// ReadPrivateFile is ReadFileLimited for a file of the vault: the opened
// file is also held to Secure's rule, judged from the descriptor's own
// fstat (no extra lookup): a file another user owns or others can write is
// refused before anything is read, and one others can only read is
// tightened to 0600 through the descriptor and the change returned.
func ReadPrivateFile(path string, max int64) ([]byte, Tightening, error) {
	return readFileLimited(path, max, true)
}

// ReadPrivatePrefix is ReadPrefix with ReadPrivateFile's rule.
func ReadPrivatePrefix(path string, n int) ([]byte, Tightening, error) {
	return readPrefix(path, n, true)
}
