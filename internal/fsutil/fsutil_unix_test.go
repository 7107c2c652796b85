//go:build unix

package fsutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// childEnv makes the test binary act as a lock-holding child process:
// "hold:<path>" takes the lock, prints "locked" and waits for stdin to close;
// "try:<path>" tries the lock once and prints "acquired" or "busy".
const childEnv = "FSUTIL_TEST_LOCK_CHILD"

func TestMain(m *testing.M) {
	if mode, path, ok := strings.Cut(os.Getenv(childEnv), ":"); ok {
		os.Exit(lockChild(mode, path))
	}
	os.Exit(m.Run())
}

func lockChild(mode, path string) int {
	switch mode {
	case "hold":
		if _, err := LockExclusive(context.Background(), path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin) // hold until killed or stdin closes
		return 0
	case "try":
		unlock, ok, err := tryLock(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if ok {
			_ = unlock()
			fmt.Println("acquired")
		} else {
			fmt.Println("busy")
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
	return 2
}

// startLockChild runs this test binary as a child in the given mode and
// returns it with the first line it printed.
func startLockChild(t *testing.T, mode, path string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode+":"+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child %s produced no line (%v); stderr: %s", mode, err, stderr.String())
	}
	return cmd, strings.TrimSpace(line)
}

// withUmask runs f with the process umask set to mask.
func withUmask(mask int, f func()) {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func TestLockHeldByAnotherProcessIsReleasedWhenItIsKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	child, line := startLockChild(t, "hold", path)
	if line != "locked" {
		t.Fatalf("child printed %q, want \"locked\"", line)
	}

	if _, ok, err := tryLock(path); err != nil || ok {
		t.Fatalf("tryLock while child holds the lock: ok %v, err %v; want ok false", ok, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := LockExclusive(ctx, path)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), path) {
		t.Fatalf("LockExclusive with a cancelled context while held: %v; want context.Canceled naming the path", err)
	}

	// A waiter blocked on the lock gets it once the holder dies by SIGKILL,
	// which runs no cleanup code in the child: the kernel releases the lock.
	got := make(chan error, 1)
	go func() {
		unlock, err := LockExclusive(t.Context(), path)
		if err == nil {
			err = unlock()
		}
		got <- err
	}()
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	werr := child.Wait()
	var exitErr *exec.ExitError
	if !errors.As(werr, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", werr)
	}
	if err := <-got; err != nil {
		t.Fatalf("LockExclusive after the holder was killed: %v", err)
	}
}

func TestLockHeldHereExcludesAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := LockExclusive(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, line := startLockChild(t, "try", path); line != "busy" {
		t.Fatalf("child trying the held lock printed %q, want \"busy\"", line)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, line := startLockChild(t, "try", path); line != "acquired" {
		t.Fatalf("child trying the released lock printed %q, want \"acquired\"", line)
	}
}

func TestLockFileIsCreatedOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	var unlock func() error
	var err error
	withUmask(0, func() { unlock, err = LockExclusive(t.Context(), path) })
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %04o, want 0600", fi.Mode().Perm())
	}
}

func TestWriteFileAtomicSetsExactMode(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		perm os.FileMode
	}{
		{"owner read-write", 0o600},
		{"owner read-only", 0o400},
		{"world-readable on request", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			// Written twice: the second write replaces a file of this mode.
			for i := range 2 {
				var err error
				withUmask(0o077, func() { err = WriteFileAtomic(path, []byte{byte(i)}, tt.perm) })
				if err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.perm {
				t.Errorf("mode %04o, want %04o", fi.Mode().Perm(), tt.perm)
			}
		})
	}
}

func TestEnsurePrivateDirCreatesMode0700WhateverTheUmask(t *testing.T) {
	for _, mask := range []int{0, 0o022, 0o077, 0o200} {
		t.Run(fmt.Sprintf("umask %04o", mask), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vault")
			var err error
			withUmask(mask, func() { err = EnsurePrivateDir(path) })
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("mode %04o, want 0700", fi.Mode().Perm())
			}
		})
	}
}

func TestEnsurePrivateDirChecksModeAndLeavesDirAlone(t *testing.T) {
	tests := []struct {
		mode    os.FileMode
		wantErr string // "" when the mode is accepted
	}{
		{0o700, ""},
		{0o750, ""},
		{0o755, ""},
		{0o500, ""},
		{0o770, "is group-writable (mode 0770): run chmod 700"},
		{0o775, "is group-writable (mode 0775): run chmod 700"},
		{0o720, "is group-writable (mode 0720): run chmod 700"},
		{0o702, "is world-writable (mode 0702): run chmod 700"},
		{0o757, "is world-writable (mode 0757): run chmod 700"},
		{0o777, "is group-writable (mode 0777): run chmod 700"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("mode %04o", tt.mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vault")
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			err := EnsurePrivateDir(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("EnsurePrivateDir refused mode %04o: %v", tt.mode, err)
				}
			} else {
				if !errors.Is(err, ErrUnsafe) {
					t.Fatalf("EnsurePrivateDir: %v, want ErrUnsafe", err)
				}
				want := fmt.Sprintf("directory %q %s %q", path, tt.wantErr, path)
				if err.Error() != want {
					t.Errorf("error %q\nwant      %q", err, want)
				}
				var ue *UnsafeError
				if !errors.As(err, &ue) || ue.Path != path {
					t.Errorf("error is not an *UnsafeError for %q: %#v", path, err)
				}
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("mode changed to %04o; EnsurePrivateDir must not touch an existing directory", fi.Mode().Perm())
			}
		})
	}
}

func TestPrivateChecksRefuseAnotherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root to give a file to another user")
	}
	const otherUID = 54321
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, file} {
		if err := os.Lchown(p, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprintf("is owned by uid %d, not by the current user (uid 0)", otherUID)
	for name, err := range map[string]error{"EnsurePrivateDir": EnsurePrivateDir(dir), "CheckPrivateFile": CheckPrivateFile(file)} {
		if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want ErrUnsafe saying %q", name, err, want)
		}
	}
}

func TestCheckPrivateFileChecksMode(t *testing.T) {
	tests := []struct {
		mode    os.FileMode
		wantErr string
	}{
		{0o600, ""},
		{0o400, ""},
		{0o644, "is readable by group or others (mode 0644): run chmod 600"},
		{0o604, "is readable by group or others (mode 0604): run chmod 600"},
		{0o660, "is writable by group or others (mode 0660): run chmod 600"},
		{0o666, "is writable by group or others (mode 0666): run chmod 600"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("mode %04o", tt.mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			err := CheckPrivateFile(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused mode %04o: %v", tt.mode, err)
				}
				return
			}
			want := fmt.Sprintf("file %q %s %q", path, tt.wantErr, path)
			if !errors.Is(err, ErrUnsafe) || err.Error() != want {
				t.Errorf("CheckPrivateFile: %v\nwant ErrUnsafe %q", err, want)
			}
		})
	}
}

func TestReadFileLimitedRefusesFIFOWithoutBlocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	// With no writer, an open that waited would hang this test.
	if _, err := ReadFileLimited(path, 100); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("ReadFileLimited on a FIFO: %v, want ErrUnsafe naming a named pipe", err)
	}
}
