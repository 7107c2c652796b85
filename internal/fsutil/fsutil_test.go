package fsutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomicReplacesContentAndLeavesNoTemp(t *testing.T) {
	dir := testutil.TempDir(t)
	path := filepath.Join(dir, "obj")
	// Each write is shorter or longer than the last, so a write that
	// truncated or appended instead of replacing would show.
	for _, content := range [][]byte{[]byte("first content, long"), []byte("2nd"), {}, bytes.Repeat([]byte{0, 0xff}, 5000)} {
		if err := WriteFileAtomic(path, content, 0o600); err != nil {
			t.Fatalf("WriteFileAtomic: %v", err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, content) {
			t.Fatalf("file holds %d bytes, want the %d just written", len(got), len(content))
		}
		if names := dirNames(t, dir); len(names) != 1 || names[0] != "obj" {
			t.Fatalf("directory holds %q, want only \"obj\"", names)
		}
	}
}

func TestWriteFileAtomicRefusesSymlinkAndLeavesTargetAlone(t *testing.T) {
	dir := testutil.TempDir(t)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("original"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	testutil.Symlink(t, target, link)

	err := WriteFileAtomic(link, []byte("replacement"), 0o600)
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("WriteFileAtomic through symlink: got %v, want ErrUnsafe", err)
	}
	if !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("error %q does not say the file is a symbolic link", err)
	}
	if got, _ := os.ReadFile(target); string(got) != "original" {
		t.Errorf("symlink target now holds %q, want it untouched", got)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link was replaced or removed (lstat: %v)", err)
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Errorf("directory holds %q, want only link and target (no temp file)", names)
	}
}

func TestWriteFileAtomicFailsWithoutLeavingFiles(t *testing.T) {
	dir := testutil.TempDir(t)
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		unsafe bool
	}{
		{"target is a directory", filepath.Join(dir, "adir"), true},
		{"parent directory missing", filepath.Join(dir, "missing", "obj"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFileAtomic(tt.path, []byte("data"), 0o600)
			if err == nil {
				t.Fatal("WriteFileAtomic succeeded, want an error")
			}
			if got := errors.Is(err, ErrUnsafe); got != tt.unsafe {
				t.Errorf("errors.Is(%v, ErrUnsafe) = %v, want %v", err, got, tt.unsafe)
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] != "adir" {
				t.Errorf("directory holds %q, want only \"adir\"", names)
			}
		})
	}
}

func TestIsTempRecognisesOnlyTempNames(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{".tmp-obj_abc-0123456789abcdef", true},
		{TempPrefix + "x", true},
		{"obj_0123", false},
		{"tmp-obj", false},
		{"x.tmp-", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsTemp(tt.name); got != tt.want {
			t.Errorf("IsTemp(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRemoveStaleTempsRemovesOnlyTempFiles(t *testing.T) {
	dir := testutil.TempDir(t)
	for _, name := range []string{"keep", TempPrefix + "keep-1", TempPrefix + "other-2"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with the prefix is not ours to delete.
	if err := os.Mkdir(filepath.Join(dir, TempPrefix+"dir"), 0o700); err != nil {
		t.Fatal(err)
	}

	n, err := RemoveStaleTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("RemoveStaleTemps removed %d files, want 2", n)
	}
	want := []string{TempPrefix + "dir", "keep"}
	if got := dirNames(t, dir); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("directory holds %q, want %q", got, want)
	}
}

func TestEnsurePrivateDirCreatesMissingDirectories(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "a", "b", "vault")
	if err := EnsurePrivateDir(path); err != nil {
		t.Fatalf("EnsurePrivateDir: %v", err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() {
		t.Fatalf("not created as a directory (lstat: %v)", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("created with mode %04o, want 0700", fi.Mode().Perm())
	}
	// A second call accepts what the first made.
	if err := EnsurePrivateDir(path); err != nil {
		t.Errorf("EnsurePrivateDir on the directory it created: %v", err)
	}
}

func TestEnsurePrivateDirCreatedReportsWhoMadeIt(t *testing.T) {
	base := testutil.TempDir(t)
	existing := filepath.Join(base, "existing")
	if err := os.Mkdir(existing, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		path        string
		wantCreated bool
		wantUnsafe  bool
	}{
		{"missing, with missing parents", filepath.Join(base, "a", "b", "new"), true, false},
		{"missing", filepath.Join(base, "new"), true, false},
		{"existing", existing, false, false},
		{"a regular file", file, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := EnsurePrivateDirCreated(tt.path)
			if created != tt.wantCreated || errors.Is(err, ErrUnsafe) != tt.wantUnsafe || (err != nil) != tt.wantUnsafe {
				t.Fatalf("EnsurePrivateDirCreated = %v, %v; want created %v, unsafe %v", created, err, tt.wantCreated, tt.wantUnsafe)
			}
			// Called again, the directory exists: nobody created it now.
			if created, err := EnsurePrivateDirCreated(tt.path); created || (err != nil) != tt.wantUnsafe {
				t.Fatalf("second EnsurePrivateDirCreated = %v, %v; want not created", created, err)
			}
		})
	}
}

func TestEnsurePrivateDirRefusesSymlinkAndFile(t *testing.T) {
	base := testutil.TempDir(t)
	realDir := filepath.Join(base, "real")
	if err := os.Mkdir(realDir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		wantMsg string
	}{
		{"symlink to a private directory", func(t *testing.T) string {
			link := filepath.Join(base, "link")
			testutil.Symlink(t, realDir, link)
			return link
		}, "is a symbolic link"},
		{"regular file", func(*testing.T) string { return file }, "is not a directory (a regular file)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			err := EnsurePrivateDir(path)
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("EnsurePrivateDir: got %v, want ErrUnsafe", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), fmt.Sprintf("%q", path)) {
				t.Errorf("error %q does not name the path and say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestReadFileLimitedEnforcesLimit(t *testing.T) {
	dir := testutil.TempDir(t)
	path := filepath.Join(dir, "f")
	content := bytes.Repeat([]byte{1, 2, 3, 0}, 25) // 100 bytes
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		max      int64
		want     []byte
		tooLarge bool
	}{
		{"limit above size", path, 1000, content, false},
		{"limit equal to size", path, 100, content, false},
		{"limit one below size", path, 99, nil, true},
		{"limit zero on non-empty file", path, 0, nil, true},
		{"empty file", empty, 0, []byte{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFileLimited(tt.path, tt.max)
			if tt.tooLarge {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("got %d bytes, err %v; want ErrTooLarge", len(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}

func TestReadsRefuseSymlinkDirectoryAndMissingFile(t *testing.T) {
	dir := testutil.TempDir(t)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	readers := []struct {
		name string
		read func(string) ([]byte, error)
	}{
		{"ReadFileLimited", func(p string) ([]byte, error) { return ReadFileLimited(p, 1<<20) }},
		{"ReadPrefix", func(p string) ([]byte, error) { return ReadPrefix(p, 3) }},
	}
	tests := []struct {
		name     string
		path     func(t *testing.T, reader string) string
		sentinel error
	}{
		{"symlink", func(t *testing.T, reader string) string {
			link := filepath.Join(dir, "link-"+reader)
			testutil.Symlink(t, target, link)
			return link
		}, ErrUnsafe},
		{"directory", func(*testing.T, string) string { return dir }, ErrUnsafe},
		{"missing file", func(*testing.T, string) string { return filepath.Join(dir, "missing") }, fs.ErrNotExist},
	}
	for _, r := range readers {
		for _, tt := range tests {
			t.Run(r.name+" "+tt.name, func(t *testing.T) {
				got, err := r.read(tt.path(t, r.name))
				if !errors.Is(err, tt.sentinel) {
					t.Fatalf("got %q, err %v; want error wrapping %v", got, err, tt.sentinel)
				}
				if got != nil {
					t.Errorf("returned %d bytes alongside the error", len(got))
				}
			})
		}
	}
}

func TestReadPrefixReturnsAtMostNBytes(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "f")
	content := []byte("0123456789")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		n    int
		want string
	}{
		{0, ""},
		{4, "0123"},
		{10, "0123456789"},
		{1000, "0123456789"},
	}
	for _, tt := range tests {
		got, err := ReadPrefix(path, tt.n)
		if err != nil {
			t.Fatalf("ReadPrefix(%d): %v", tt.n, err)
		}
		if string(got) != tt.want {
			t.Errorf("ReadPrefix(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if _, err := ReadPrefix(path, -1); err == nil {
		t.Error("ReadPrefix(-1) succeeded, want an error")
	}
}

func TestCheckPrivateFileRefusesSymlinkAndDirectory(t *testing.T) {
	dir := testutil.TempDir(t)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     func(t *testing.T) string
		sentinel error // nil: accepted
	}{
		{"fresh 0600 file", func(*testing.T) string { return target }, nil},
		{"symlink", func(t *testing.T) string {
			link := filepath.Join(dir, "link")
			testutil.Symlink(t, target, link)
			return link
		}, ErrUnsafe},
		{"directory", func(*testing.T) string { return dir }, ErrUnsafe},
		{"missing file", func(*testing.T) string { return filepath.Join(dir, "missing") }, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPrivateFile(tt.path(t))
			if tt.sentinel == nil && err != nil || tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("CheckPrivateFile = %v, want %v", err, tt.sentinel)
			}
		})
	}
}

func TestLockExcludesSecondLockerInSameProcess(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "lock")
	unlock, ok, err := tryLock(path)
	if err != nil || !ok {
		t.Fatalf("first tryLock: ok %v, err %v", ok, err)
	}
	if _, ok, err := tryLock(path); err != nil || ok {
		t.Fatalf("second tryLock while held: ok %v, err %v; want ok false", ok, err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v, want nil", err)
	}
	unlock2, ok, err := tryLock(path)
	if err != nil || !ok {
		t.Fatalf("tryLock after unlock: ok %v, err %v", ok, err)
	}
	_ = unlock2()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("lock file is gone after unlock (%v); it must stay", err)
	}
}

func TestLockRefusesSymlinkedLockFile(t *testing.T) {
	dir := testutil.TempDir(t)
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "lock")
	testutil.Symlink(t, target, link)
	if _, err := LockExclusive(t.Context(), link); !errors.Is(err, ErrUnsafe) {
		t.Errorf("LockExclusive on symlink = %v, want ErrUnsafe", err)
	}
	if _, _, err := tryLock(link); !errors.Is(err, ErrUnsafe) {
		t.Errorf("tryLock on symlink = %v, want ErrUnsafe", err)
	}
}

// TestLockWaitTellsOnceAndTimesOut checks LockWait on both ways to lock:
// while another holder has the lock, Notice is called once with the path
// after NoticeAfter, and the call fails with ErrLockTimeout after Timeout;
// a free lock is taken with no notice.
func TestLockWaitTellsOnceAndTimesOut(t *testing.T) {
	lockers := map[string]func(ctx context.Context, path string, w LockWait) (func(), error){
		"LockExclusiveWait": func(ctx context.Context, path string, w LockWait) (func(), error) {
			unlock, err := LockExclusiveWait(ctx, path, w)
			if err != nil {
				return nil, err
			}
			return func() { _ = unlock() }, nil
		},
		"HeldLock.AcquireWait": func(ctx context.Context, path string, w LockWait) (func(), error) {
			l := NewHeldLock(path)
			release, err := l.AcquireWait(ctx, w)
			if err != nil {
				_ = l.Close()
				return nil, err
			}
			return func() { release(); _ = l.Close() }, nil
		},
	}
	tests := []struct {
		name        string
		held        bool
		noticeAfter time.Duration
		wantErr     error
		wantNotices int
	}{
		{"held: notice, then timeout", true, 20 * time.Millisecond, ErrLockTimeout, 1},
		{"held: timeout before the notice", true, time.Hour, ErrLockTimeout, 0},
		{"free: no notice", false, 0, nil, 0},
	}
	for name, lock := range lockers {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				path := filepath.Join(testutil.TempDir(t), "lock")
				if tt.held {
					unlock, ok, err := tryLock(path)
					if err != nil || !ok {
						t.Fatalf("tryLock: ok %v, err %v", ok, err)
					}
					defer unlock()
				}
				var notices []string
				w := LockWait{Timeout: 150 * time.Millisecond, NoticeAfter: tt.noticeAfter, Notice: func(p string) { notices = append(notices, p) }}
				release, err := lock(t.Context(), path, w)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err == nil {
					release()
				} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", path)) || !strings.Contains(err.Error(), "150ms") {
					t.Errorf("error %q does not name the path and the timeout", err)
				}
				if len(notices) != tt.wantNotices || len(notices) > 0 && notices[0] != path {
					t.Errorf("notices = %q, want %d with %q", notices, tt.wantNotices, path)
				}
			})
		}
	}
}
