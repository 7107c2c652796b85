package resolve

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/tomltable"
	"github.com/palyra/palyra-vault/secret"
)

// resolveFile reads a file reference under its policy:
//
//   - the path and every trusted directory are absolute ("~/" expanded) and
//     free of ".." elements (Validate refuses them);
//   - without allow_symlinks the path must lie lexically inside a trusted
//     directory and no element below that directory may be a symbolic link
//     (the trusted directory itself may be one: the policy names it);
//   - with allow_symlinks the path may be anywhere and go through links, but
//     the file it finally names, with every link resolved, must lie inside a
//     trusted directory (also resolved);
//   - the final element is opened without following a link, must be a
//     regular file (a FIFO or device is never read), and is read up to
//     max_bytes only.
//
// The checks protect against a path that escapes its trusted directories by
// mistake or through links planted inside them. They cannot stop someone who
// can write inside a trusted directory from swapping an element between the
// check and the open; such a person controls the secret anyway.
func (r *Resolver) resolveFile(ref Ref) (secret.SensitiveBytes, error) {
	dirs := ref.TrustedDirs
	if len(dirs) == 0 {
		dirs = r.opts.TrustedDirs
	}
	if len(dirs) == 0 {
		return secret.SensitiveBytes{}, fail(Blocked, ref, "no trusted directories: list trusted_dirs in the reference", nil)
	}
	if ref.Form != FormSecretRef && tomltable.HasDotDot(ref.File) {
		return secret.SensitiveBytes{}, fail(Blocked, ref, "the path contains a \"..\" element", nil)
	}
	path, err := ref.localPath(ref.File)
	if err != nil {
		return secret.SensitiveBytes{}, fail(IO, ref, "making the path absolute failed", err)
	}
	trusted := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if msg := ref.checkPath(d); msg != "" {
			return secret.SensitiveBytes{}, fail(Invalid, ref, "trusted directory "+msg, nil)
		}
		d, err := ref.localPath(d)
		if err != nil {
			return secret.SensitiveBytes{}, fail(IO, ref, "making a trusted directory absolute failed", err)
		}
		trusted = append(trusted, d)
	}

	if ref.AllowSymlinks {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return secret.SensitiveBytes{}, pathError(ref, "resolving the path", err)
		}
		inside := false
		for _, d := range trusted {
			if rd, err := filepath.EvalSymlinks(d); err == nil && within(rd, real) {
				inside = true
				break
			}
		}
		if !inside {
			return secret.SensitiveBytes{}, fail(Blocked, ref, "the file, with its links resolved, is outside the trusted directories", nil)
		}
		path = real
	} else {
		base := ""
		for _, d := range trusted {
			if within(d, path) {
				base = d
				break
			}
		}
		if base == "" {
			return secret.SensitiveBytes{}, fail(Blocked, ref, "the file is outside the trusted directories", nil)
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return secret.SensitiveBytes{}, fail(Blocked, ref, "the file is outside the trusted directories", err)
		}
		cur := base
		for _, el := range strings.Split(rel, string(filepath.Separator)) {
			cur = filepath.Join(cur, el)
			fi, err := os.Lstat(cur)
			if err != nil {
				return secret.SensitiveBytes{}, pathError(ref, "checking the path", err)
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				return secret.SensitiveBytes{}, fail(Blocked, ref, "the path goes through a symbolic link below its trusted directory; set allow_symlinks = true to follow it", nil)
			}
		}
	}

	data, err := fsutil.ReadFileLimited(path, int64(ref.Limit())+trailingSlack(ref))
	if err != nil {
		switch {
		case errors.Is(err, fsutil.ErrTooLarge):
			return secret.SensitiveBytes{}, fail(TooLarge, ref, fmt.Sprintf("the file is larger than max_bytes (%d)", ref.Limit()), err)
		case errors.Is(err, fsutil.ErrUnsafe):
			return secret.SensitiveBytes{}, fail(Blocked, ref, "the file is a symbolic link or not a regular file", err)
		}
		return secret.SensitiveBytes{}, pathError(ref, "reading the file", err)
	}
	return secret.NewSensitiveBytes(data), nil
}

// trailingSlack is how many bytes past max_bytes may be read so that a
// value of exactly max_bytes followed by a newline that will be trimmed is
// accepted.
func trailingSlack(ref Ref) int64 {
	if !ref.TrimsNewline() {
		return 0
	}
	return 2
}

// localPath returns p absolute and clean: "~/" expanded and, for the
// *_secret_ref form, a path still relative (one not anchored by InDir,
// given on a command line) joined to the working directory, as Palyra's
// resolver does without a configuration file. Its ".." elements are
// resolved lexically by the cleaning.
func (r Ref) localPath(p string) (string, error) {
	p, err := expandHome(p)
	if err != nil {
		return "", err
	}
	if r.Form == FormSecretRef && !filepath.IsAbs(p) {
		if p, err = filepath.Abs(p); err != nil {
			return "", err
		}
	}
	return filepath.Clean(p), nil
}

// pathError turns a file-system error into an *Error without the path: a
// missing file is Missing, anything else IO with the OS's reason.
func pathError(ref Ref, doing string, err error) *Error {
	if errors.Is(err, fs.ErrNotExist) {
		return fail(Missing, ref, "the file does not exist", err)
	}
	reason := "failed"
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = "failed: " + pe.Err.Error()
	}
	return fail(IO, ref, doing+" "+reason, err)
}

// within reports whether path lies strictly inside dir; both are clean and
// absolute.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return false
	}
	return true
}

// expandHome replaces a leading "~/" with the user's home directory.
func expandHome(p string) (string, error) {
	if !tomltable.IsHomePath(p) {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, p[2:]), nil
}
