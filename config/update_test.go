package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/secret"
)

// A child process of this test binary runs one UpdateConfig when
// childRoleEnv is set: TestMain runs it instead of the tests.
const (
	childRoleEnv    = "PALYRA_CONFIG_TEST_ROLE"
	childPathEnv    = "PALYRA_CONFIG_TEST_PATH"
	childSettingEnv = "PALYRA_CONFIG_TEST_SETTING"
	childDelayEnv   = "PALYRA_CONFIG_TEST_DELAY"
)

func TestMain(m *testing.M) {
	if role, ok := os.LookupEnv(childRoleEnv); ok {
		if role != "update" {
			fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
			os.Exit(2)
		}
		os.Exit(childUpdate())
	}
	os.Exit(m.Run())
}

// childUpdate points the setting $childSettingEnv of the file
// $childPathEnv at vault://global/<its last key>, as "palyra secrets
// configure" does under the lock, sleeping $childDelayEnv between the read
// and the write so that a writer not excluded by the lock would overwrite
// the file between them.
func childUpdate() int {
	delay, err := time.ParseDuration(os.Getenv(childDelayEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child parameter:", err)
		return 2
	}
	testHookBeforeWrite = func() { time.Sleep(delay) }
	setting := os.Getenv(childSettingEnv)
	ref := secret.Ref{Scope: "global", Key: childKey(setting)}
	_, _, err = UpdateConfig(context.Background(), os.Getenv(childPathEnv), UpdateOptions{Backups: DefaultBackups},
		func(current []byte, exists bool) ([]byte, bool, error) {
			out, err := SetVaultRef(current, setting, ref)
			return out, err == nil, err
		})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func childKey(setting string) string { return "k_" + filepath.Ext(setting)[1:] }

// Concurrent UpdateConfig calls in separate processes, each adding its own
// setting to one file while holding the window between read and write open,
// lose no change: every setting ends up in the file, which parses. Without
// the lock, every process reads the same original and the last write wins.
func TestUpdateConfigConcurrentProcessesLoseNoChange(t *testing.T) {
	const n = 6
	tests := []struct {
		name    string
		initial *string // nil: no file yet
	}{
		{name: "existing file", initial: ptr("# settings\n[tools]\nkeep = 1\n")},
		{name: "no file yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "conf")
			path := filepath.Join(dir, FileName)
			if tt.initial != nil {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(*tt.initial), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			settings := make([]string, n)
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range settings {
				settings[i] = "tools.s" + strconv.Itoa(i)
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(),
					childRoleEnv+"=update",
					childPathEnv+"="+path,
					childSettingEnv+"="+settings[i],
					childDelayEnv+"=150ms")
				wg.Add(1)
				go func() {
					defer wg.Done()
					if out, err := cmd.CombinedOutput(); err != nil {
						errs[i] = fmt.Errorf("child %d: %v: %s", i, err, out)
					}
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			data := readString(t, path)
			doc, err := Parse([]byte(data))
			if err != nil {
				t.Fatalf("the file does not parse: %v\n%s", err, data)
			}
			tools, _ := doc.Tree()["tools"].(map[string]any)
			for _, s := range settings {
				field := filepath.Ext(s)[1:] + RefSuffix
				if got, want := tools[field], "vault://global/"+childKey(s); got != want {
					t.Errorf("%s = %v, want %q (a change was lost)", field, got, want)
				}
			}
			if tt.initial != nil && tools["keep"] != int64(1) {
				t.Errorf("tools.keep = %v, want the original 1", tools["keep"])
			}
			if t.Failed() {
				t.Logf("file:\n%s", data)
			}
			fi, err := os.Lstat(LockPath(path))
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Fatalf("lock file %s: %v, %v; want a regular file with mode 0600 left in place", LockPath(path), fi, err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// A rewrite that finds the lock held waits, says so after LockWaitNotice,
// and either gives up after LockTimeout with ErrLockTimeout, leaving the
// file alone, or goes on once the holder lets go, editing what the holder
// wrote.
func TestUpdateConfigWaitsForTheLock(t *testing.T) {
	tests := []struct {
		name       string
		timeout    time.Duration
		releaseIn  time.Duration // 0: never
		wantErr    error
		wantNotice int
		want       string
	}{
		{name: "holder never lets go", timeout: LockWaitNotice + 300*time.Millisecond, wantErr: ErrLockTimeout, wantNotice: 1, want: "a = 1\n"},
		{name: "timeout before the notice", timeout: 200 * time.Millisecond, wantErr: ErrLockTimeout, want: "a = 1\n"},
		{name: "holder lets go", timeout: time.Minute, releaseIn: LockWaitNotice + 300*time.Millisecond, wantNotice: 1, want: "a = 2\nb = 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, []byte("a = 1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			unlock, err := fsutil.LockExclusive(context.Background(), LockPath(path))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = unlock() }()
			if tt.releaseIn > 0 {
				time.AfterFunc(tt.releaseIn, func() {
					// The holder's own rewrite, then it lets go.
					if err := writeConfig(path, []byte("a = 2\n"), 0); err != nil {
						t.Error(err)
					}
					_ = unlock()
				})
			}
			var notices []string
			var mu sync.Mutex
			_, wrote, err := UpdateConfig(context.Background(), path, UpdateOptions{
				LockTimeout: tt.timeout,
				OnLockWait: func(p string) {
					mu.Lock()
					defer mu.Unlock()
					notices = append(notices, p)
				},
			}, func(current []byte, exists bool) ([]byte, bool, error) {
				return append(current, "b = 1\n"...), true, nil
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != wrote {
				t.Fatalf("UpdateConfig = wrote %v, %v; want %v", wrote, err, tt.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(notices) != tt.wantNotice || len(notices) == 1 && notices[0] != LockPath(path) {
				t.Fatalf("notices = %q, want %d naming %s", notices, tt.wantNotice, LockPath(path))
			}
			if got := readString(t, path); got != tt.want {
				t.Fatalf("file = %q, want %q", got, tt.want)
			}
		})
	}
}

// The lock file is named after the file, beside it; a symbolic link is
// followed first, so every name for one file shares one lock.
func TestLockPath(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "palyra.toml")
	if got, want := LockPath(real), filepath.Join(dir, "dotfiles", ".palyra.toml.lock"); got != want {
		t.Fatalf("LockPath = %q, want %q", got, want)
	}
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("a = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "other.toml")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if _, _, err := UpdateConfig(context.Background(), link, UpdateOptions{}, func(c []byte, _ bool) ([]byte, bool, error) {
		return append(c, "b = 2\n"...), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(LockPath(real)); err != nil {
		t.Fatalf("no lock beside the link's target: %v", err)
	}
	if _, err := os.Lstat(LockPath(link)); err == nil {
		t.Fatal("a lock file was created beside the link, not beside the file it names")
	}
}
