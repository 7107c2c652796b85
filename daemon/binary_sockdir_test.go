//go:build linux

package daemon_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"github.com/palyra/palyra-vault/internal/testutil"
)

// statDir returns the mode and owner of dir, for comparing before and
// after the daemon ran.
func statDir(t *testing.T, dir string) string {
	t.Helper()
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("mode %v, uid %d", fi.Mode(), st.Uid)
}

// A directory made beforehand for --socket keeps its mode through a start,
// a reload and a stop of the real daemon with socket_shared.
func TestDaemonBinaryLeavesAnExistingSocketDirectoryAlone(t *testing.T) {
	s := newSite(t, fixture.Secrets(), fixture.Config+"\n[daemon]\nsocket_shared = true\n")
	dir := filepath.Join(fixture.ShortTempDir(t), "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	before := statDir(t, dir)
	socket := filepath.Join(dir, "d.sock")
	p := s.startOn(socket)
	if got := statDir(t, dir); got != before {
		t.Fatalf("after start: %s, want %s", got, before)
	}
	if fi, err := os.Stat(socket); err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("shared socket: %v, %v; want mode 0666", fi, err)
	}
	s.WriteConfig(fixture.Config)
	if lr := p.reload(); !lr.OK {
		t.Fatalf("reload: %s", lr.Error)
	}
	if got := statDir(t, dir); got != before {
		t.Fatalf("after reload: %s, want %s", got, before)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit status %d\n%s", code, p.stderr)
	}
	if got := statDir(t, dir); got != before {
		t.Fatalf("after exit: %s, want %s", got, before)
	}
}

// A socket directory another user could change is refused by the real
// daemon: exit status 1, the fix and a hint on stderr, the directory as it
// was, and no daemon directory created.
func TestDaemonBinaryRefusesAnUnsafeSocketDirectory(t *testing.T) {
	tests := []struct {
		name  string
		mode  os.FileMode
		owner int // -1 for the test's own uid
		want  string
	}{
		{"group-writable", 0o775, -1, "is group-writable (mode 0775): run chmod 700"},
		{"world-writable", 0o757, -1, "is world-writable (mode 0757): run chmod 700"},
		{"owned by another uid", 0o755, 65534, "is owned by uid 65534, not by the current user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.owner >= 0 && os.Geteuid() != 0 {
				testutil.SkipOrFailInCI(t, "needs root to give the socket's directory to another uid")
			}
			s := newSite(t, fixture.Secrets(), fixture.Config+"\n[daemon]\nsocket_shared = true\n")
			dir := filepath.Join(fixture.ShortTempDir(t), "run")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			if tt.owner >= 0 {
				if err := os.Chown(dir, tt.owner, tt.owner); err != nil {
					t.Fatal(err)
				}
			}
			before := statDir(t, dir)
			cmd, out := s.command("--socket", filepath.Join(dir, "d.sock"))
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\n%s", err, out)
			}
			wantErr := fmt.Sprintf("palyra: error: socket directory: directory %q %s", dir, tt.want)
			if !strings.Contains(out.String(), wantErr) {
				t.Errorf("stderr does not say %q:\n%s", wantErr, out)
			}
			if !strings.Contains(out.String(), "\npalyra: hint: the daemon checks, and never changes, a socket directory it did not create") {
				t.Errorf("no hint on stderr:\n%s", out)
			}
			if got := statDir(t, dir); got != before {
				t.Errorf("the refused directory changed: %s, was %s", got, before)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the refused directory holds %v", entries)
			}
			if _, err := os.Lstat(filepath.Join(s.Root, api.DirName)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the daemon's directory was created by a refused start (lstat: %v)", err)
			}
		})
	}
}

// DAEMON.md's recipe for a shared daemon: the administrator makes the
// socket's directory (owned by the daemon's user, 0711, in a traversable
// parent, as /run/palyra), the daemon leaves it so, and another user
// reaches the daemon's own peer-credential check through it.
func TestDaemonBinarySharedSocketInTheAdministratorsDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root: the test runs a client as nobody (uid 65534) with setuid")
	}
	s := newSite(t, fixture.Secrets(), fixture.Config+"\n[daemon]\nsocket_shared = true\n")
	run := fixture.ShortTempDir(t) // stands for /run: traversable by all
	if err := os.Chmod(run, 0o711); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(run, "palyra") // install -d -m 0711 -o <user> /run/palyra
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "daemon.sock")
	p := s.startOn(socket)
	if got := statDir(t, dir); !strings.HasPrefix(got, "mode drwx--x--x,") {
		t.Fatalf("the directory is %s, want 0711 as the administrator made it", got)
	}
	r := asNobody(t, socket, api.ResolveRequest{Path: "model_provider.openai_api_key"})
	if r.Status != 403 || r.Code != api.CodeForbidden || !strings.Contains(r.Msg, "uid 65534 may not call this daemon") || r.Value != "" {
		t.Fatalf("nobody through the administrator's 0711 directory: %+v", r)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit status %d\n%s", code, p.stderr)
	}
}
