//go:build unix

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"github.com/palyra/palyra-vault/internal/testutil"
)

// dirState describes path as the tests compare it before and after the
// daemon ran: type and mode, owner, and the names inside.
func dirState(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	var names []string
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	return fmt.Sprintf("mode %v, uid %d, gid %d, entries %q", fi.Mode(), st.Uid, st.Gid, names)
}

func permOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// sharedConfig is the fixture's configuration, with socket_shared on or
// off.
func sharedConfig(shared bool) string {
	return fixture.Config + fmt.Sprintf("\n[daemon]\nsocket_shared = %v\n", shared)
}

// An existing directory given with --socket is the admin's: the daemon
// never changes its mode, whatever socket_shared says, at start, on reload
// and at shutdown. The socket's own mode follows socket_shared.
func TestSocketDirectoryTheDaemonDidNotCreateKeepsItsMode(t *testing.T) {
	tests := []struct {
		name     string
		mode     os.FileMode
		shared   bool
		wantWarn bool // no other user can traverse it: warned, not opened
	}{
		{"0755, shared", 0o755, true, false},
		{"0755, private", 0o755, false, false},
		{"0711, shared", 0o711, true, false},
		{"0750, shared with a group", 0o750, true, false},
		{"0700, shared", 0o700, true, true},
		{"0700, private", 0o700, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fixture.Secrets(), sharedConfig(tt.shared))
			dir := filepath.Join(fixture.ShortTempDir(t), "s")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			opts := e.options()
			opts.Socket = filepath.Join(dir, "d.sock")
			e.startWith(opts)
			if _, err := e.client.Health(context.Background()); err != nil {
				t.Fatal(err)
			}
			check := func(when string, shared bool) {
				t.Helper()
				if got := permOf(t, dir); got != tt.mode {
					t.Errorf("%s: directory mode %v, want %v as it was", when, got, tt.mode)
				}
				want := os.FileMode(0o600)
				if shared {
					want = 0o666
				}
				if got := permOf(t, opts.Socket); got != want {
					t.Errorf("%s: socket mode %v, want %v", when, got, want)
				}
			}
			check("at start", tt.shared)
			warned := strings.Contains(e.logs.String(), "no other user can traverse the socket's directory")
			if warned != tt.wantWarn {
				t.Errorf("warned about a directory others cannot traverse: %v, want %v\n%s", warned, tt.wantWarn, e.logs)
			}
			if tt.wantWarn && (!strings.Contains(e.logs.String(), "fix=\"chmod 711 ") || !strings.Contains(e.logs.String(), dir)) {
				t.Errorf("the warning does not give the fix:\n%s", e.logs)
			}
			e.WriteConfig(sharedConfig(!tt.shared))
			if err := e.d.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			check("after a reload that flips socket_shared", !tt.shared)
			if _, err := e.d.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := permOf(t, dir); got != tt.mode {
				t.Errorf("after shutdown: directory mode %v, want %v", got, tt.mode)
			}
			if _, err := os.Lstat(opts.Socket); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket left after shutdown (lstat: %v)", err)
			}
		})
	}
}

// A socket directory that another user could change is refused with the
// fix and a hint, and neither it nor anything else is changed: no socket,
// no lock file, no daemon directory.
func TestSocketDirectoryThatIsNotSafeIsRefusedAndLeftAlone(t *testing.T) {
	tests := []struct {
		name  string
		mode  os.FileMode
		root  bool                                  // needs root (chown to another uid)
		setup func(t *testing.T, dir string) string // nil, or changes dir and returns the socket's directory
		want  string                                // in the error, after "socket directory: directory <dir> "
	}{
		{"group-writable", 0o775, false, nil, "is group-writable (mode 0775): run chmod 700"},
		{"world-writable", 0o703, false, nil, "is world-writable (mode 0703): run chmod 700"},
		{"world-writable and sticky, as /tmp", 0o777 | os.ModeSticky, false, nil, "is group-writable (mode 0777): run chmod 700"},
		{"a symbolic link to a private directory", 0o700, false, func(t *testing.T, dir string) string {
			link := dir + "-link"
			if err := os.Symlink(dir, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "is a symbolic link"},
		{"owned by another uid", 0o755, true, func(t *testing.T, dir string) string {
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "is owned by uid 65534, not by the current user (uid 0): run chown 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				testutil.SkipOrFailInCI(t, "needs root to give the socket's directory to another uid")
			}
			e := newEnv(t, fixture.Secrets(), sharedConfig(true))
			dir := filepath.Join(fixture.ShortTempDir(t), "s")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			sockDir := dir
			if tt.setup != nil {
				sockDir = tt.setup(t, dir)
			}
			before := []string{dirState(t, sockDir), dirState(t, dir)}
			opts := e.options()
			opts.Socket = filepath.Join(sockDir, "d.sock")
			_, err := Start(context.Background(), opts)
			want := fmt.Sprintf("socket directory: directory %q %s", sockDir, tt.want)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("Start = %v\nwant an error starting %q", err, want)
			}
			var h interface{ Hint() string }
			if !errors.As(err, &h) || !strings.Contains(h.Hint(), "never changes, a socket directory it did not create") {
				t.Errorf("the error carries no hint about the socket directory: %#v", err)
			}
			if after := []string{dirState(t, sockDir), dirState(t, dir)}; !slices.Equal(after, before) {
				t.Errorf("the refused directory changed:\nbefore %q\nafter  %q", before, after)
			}
			if _, err := os.Lstat(filepath.Join(e.Root, api.DirName)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the daemon's directory was created by a refused start (lstat: %v)", err)
			}
		})
	}
}

// A socket directory the daemon creates is its own: 0711 with
// socket_shared, 0700 without, following the setting on reload.
func TestSocketDirectoryTheDaemonCreatesFollowsSocketShared(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), sharedConfig(true))
	dir := filepath.Join(fixture.ShortTempDir(t), "s")
	opts := e.options()
	opts.Socket = filepath.Join(dir, "d.sock")
	e.startWith(opts)
	if d, s := permOf(t, dir), permOf(t, opts.Socket); d != 0o711 || s != 0o666 {
		t.Fatalf("shared: directory %v, socket %v; want 0711 and 0666", d, s)
	}
	e.WriteConfig(sharedConfig(false))
	if err := e.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d, s := permOf(t, dir), permOf(t, opts.Socket); d != 0o700 || s != 0o600 {
		t.Fatalf("after reload without socket_shared: directory %v, socket %v; want 0700 and 0600", d, s)
	}
}
