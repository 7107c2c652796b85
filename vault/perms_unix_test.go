//go:build unix

package vault

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/testutil"
)

// tightenedLog collects Config.OnTightened calls.
type tightenedLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *tightenedLog) record(path string, from, to fs.FileMode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, path+" "+from.String()+" "+to.String())
}

func (l *tightenedLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// permTarget is one file or directory of a vault or its key store, and
// whether the rule applies to it when the vault opens (false: when the
// object file is read).
type permTarget struct {
	name   string
	path   func(cfg Config) string
	dir    bool
	atOpen bool
}

func permTargets() []permTarget {
	in := func(name string) func(Config) string {
		return func(cfg Config) string { return filepath.Join(cfg.Root, name) }
	}
	return []permTarget{
		{"vault root", func(cfg Config) string { return cfg.Root }, true, true},
		{"objects", in("objects"), true, true},
		{"keys", func(cfg Config) string { return filepath.Dir(DeviceKeyPath(cfg.StateRoot)) }, true, true},
		{"backend.kind", in(markerFile), false, true},
		{"vault.id", in(idFile), false, true},
		{"keysource.json", in(keySourceFile), false, true},
		{"lock", in(lockFile), false, true},
		{"device key", func(cfg Config) string { return DeviceKeyPath(cfg.StateRoot) }, false, true},
		{"object file", func(cfg Config) string { return objectPath(cfg, "global", "a") }, false, false},
	}
}

// permVault makes a vault holding global/a and returns its config, whose
// OnTightened records into the returned log.
func permVault(t *testing.T) (Config, *tightenedLog) {
	t.Helper()
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "value-a")
	v.Close()
	log := &tightenedLog{}
	cfg.OnTightened = log.record
	return cfg, log
}

// useVault opens the vault and reads global/a, through List and Get.
func useVault(cfg Config) error {
	v, err := Open(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer v.Close()
	// Get first: a refused object fails it before List could record the
	// failure in the header cache (a derived file, but a change).
	s, _, err := v.Get(context.Background(), "global", "a")
	if err != nil {
		return err
	}
	if string(s.Reveal()) != "value-a" {
		return errors.New("Get returned the wrong value")
	}
	_, err = v.List(context.Background(), "global")
	return err
}

func TestOpenTightensWhatOthersCanOnlyRead(t *testing.T) {
	for _, tt := range permTargets() {
		t.Run(tt.name, func(t *testing.T) {
			cfg, log := permVault(t)
			path := tt.path(cfg)
			loose, want := fs.FileMode(0o644), fs.FileMode(0o600)
			if tt.dir {
				loose, want = 0o755, 0o700
			}
			if err := os.Chmod(path, loose); err != nil {
				t.Fatal(err)
			}
			if err := useVault(cfg); err != nil {
				t.Fatalf("vault with %s at %04o: %v", tt.name, loose, err)
			}
			wantCall := path + " " + loose.String() + " " + want.String()
			if calls := log.all(); len(calls) != 1 || calls[0] != wantCall {
				t.Fatalf("OnTightened calls = %q, want exactly [%q]", calls, wantCall)
			}
			fi, err := os.Lstat(path)
			if err != nil || fi.Mode().Perm() != want {
				t.Fatalf("%s now has mode %v (lstat: %v), want %04o", tt.name, fi.Mode(), err, want)
			}
			// Once tightened, nothing more is reported.
			if err := useVault(cfg); err != nil || len(log.all()) != 1 {
				t.Fatalf("second use: %v, calls %q", err, log.all())
			}
		})
	}
}

// assertRefusedUnchanged uses the vault and checks that it failed with a
// permission error whose message holds hint, changed nothing on disk, and
// reported no tightening.
func assertRefusedUnchanged(t *testing.T, cfg Config, log *tightenedLog, hint string) {
	t.Helper()
	state := filepath.Dir(cfg.Root)
	before := hashTree(t, state)
	err := useVault(cfg)
	if !errors.Is(err, ErrPermission) || !errors.Is(err, fsutil.ErrUnsafe) || !strings.Contains(err.Error(), hint) {
		t.Fatalf("using the vault = %v, want ErrPermission (and fsutil.ErrUnsafe) saying %q", err, hint)
	}
	if hashTree(t, state) != before {
		t.Fatal("the refused vault was changed on disk")
	}
	if calls := log.all(); len(calls) != 0 {
		t.Fatalf("OnTightened called for a refused vault: %q", calls)
	}
}

func TestOpenRefusesWhatOthersCanWrite(t *testing.T) {
	for _, tt := range permTargets() {
		t.Run(tt.name, func(t *testing.T) {
			cfg, log := permVault(t)
			path := tt.path(cfg)
			mode, hint := fs.FileMode(0o666), "chmod 600"
			if tt.dir {
				mode, hint = 0o777, "chmod 700"
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			assertRefusedUnchanged(t, cfg, log, hint)
			if fi, _ := os.Lstat(path); fi.Mode().Perm() != mode {
				t.Fatalf("mode is now %v, want %04o left alone", fi.Mode(), mode)
			}
		})
	}
}

func TestOpenRefusesSymlinks(t *testing.T) {
	for _, tt := range permTargets() {
		t.Run(tt.name, func(t *testing.T) {
			cfg, log := permVault(t)
			path := tt.path(cfg)
			// The link points at a private copy: even a safe target is
			// refused, since whoever can replace the link redirects it.
			moved := filepath.Join(testutil.TempDir(t), "moved")
			if err := os.Rename(path, moved); err != nil {
				t.Fatal(err)
			}
			testutil.Symlink(t, moved, path)
			assertRefusedUnchanged(t, cfg, log, "symbolic link")
		})
	}
}

func TestOpenRefusesWhatAnotherUserOwns(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root to chown a file to another user")
	}
	const otherUID = 4242
	for _, tt := range permTargets() {
		t.Run(tt.name, func(t *testing.T) {
			cfg, log := permVault(t)
			path := tt.path(cfg)
			if err := os.Lchown(path, otherUID, otherUID); err != nil {
				t.Fatal(err)
			}
			assertRefusedUnchanged(t, cfg, log, "chown")
		})
	}
}

func TestVerifyCallsNoLooseModeHealthy(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "v")
	// Loosened after Open, which would have tightened them.
	for _, dir := range []string{cfg.Root, filepath.Join(cfg.Root, "objects")} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rep := verify(t, v)
	var paths []string
	for _, p := range problemsOf(rep, ProblemPermission) {
		paths = append(paths, p.Path+": "+p.Hint)
	}
	got := strings.Join(paths, "\n")
	for _, dir := range []string{cfg.Root, filepath.Join(cfg.Root, "objects")} {
		if !strings.Contains(got, dir+": run chmod 700") {
			t.Errorf("permission problems %q miss %s at 0755", paths, dir)
		}
	}
}
