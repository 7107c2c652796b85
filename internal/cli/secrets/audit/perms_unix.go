//go:build unix

package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault"
)

// checkConfigFile reports a config file (or backup) that others can write,
// or read while it holds plaintext, or that another user owns.
func (a *auditor) checkConfigFile(path string, hasPlaintext, isBackup bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	mode := fi.Mode().Perm()
	what := "the configuration"
	if isBackup {
		what = "this backup of the configuration"
	}
	if mode&0o022 != 0 {
		a.add(High, CodeUnsafePermissions, path, 0,
			fmt.Sprintf("%s is writable by group or others (mode %04o): whoever can write it can point a reference elsewhere, or add an exec reference that runs their command", what, mode),
			"chmod go-w "+shared.ShellQuote(path))
	}
	if hasPlaintext && mode&0o044 != 0 {
		a.add(High, CodeUnsafePermissions, path, 0,
			fmt.Sprintf("%s holds plaintext secrets and is readable by group or others (mode %04o)", what, mode),
			"chmod 600 "+shared.ShellQuote(path)+", and move the secrets into the vault")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		a.add(Medium, CodeUnsafePermissions, path, 0,
			fmt.Sprintf("%s is owned by another user (uid %d)", what, st.Uid),
			"make sure that user is trusted with your secrets' references, or take the file over: chown \"$(id -u)\" "+shared.ShellQuote(path))
	}
}

// checkVault reports a vault root, objects directory or device key that
// others can reach. A vault that does not exist yet is not a finding.
func (a *auditor) checkVault() {
	stateRoot, root, err := shared.VaultPaths(a.opts.VaultConfig)
	if err != nil {
		return
	}
	for _, dir := range []string{root, filepath.Join(root, "objects"), filepath.Dir(vault.DeviceKeyPath(stateRoot))} {
		fi, err := os.Lstat(dir)
		if err != nil {
			continue
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			a.add(High, CodeUnsafePermissions, dir, 0, "a vault directory is a symbolic link, so its contents can be redirected",
				"replace it with a real directory owned by you, mode 0700")
		case !fi.IsDir():
			a.add(High, CodeUnsafePermissions, dir, 0, "a vault directory is not a directory", "move it out of the way")
		default:
			if mode := fi.Mode().Perm(); mode&0o077 != 0 {
				a.add(High, CodeUnsafePermissions, dir, 0,
					fmt.Sprintf("a vault directory is reachable by group or others (mode %04o)", mode),
					"chmod 700 "+shared.ShellQuote(dir))
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
				a.add(High, CodeUnsafePermissions, dir, 0, fmt.Sprintf("a vault directory is owned by another user (uid %d)", st.Uid),
					"a vault must belong to the user who runs palyra")
			}
		}
	}
	key := vault.DeviceKeyPath(stateRoot)
	if err := fsutil.CheckPrivateFile(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.add(High, CodeUnsafePermissions, key, 0, "the device key, which unlocks the vault, is not private: "+err.Error(),
			"make it a regular file owned by you with mode 0600: chmod 600 "+shared.ShellQuote(key))
	}
}
