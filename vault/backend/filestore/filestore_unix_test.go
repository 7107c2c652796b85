//go:build unix

package filestore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/backendtest"
)

// writerEnv makes the test binary a writer child: "<root>|<id>" opens the
// store, prints "ready" after its first Put, then overwrites id with the two
// blobs of crashBlobs in turn until it is killed.
const writerEnv = "FILESTORE_TEST_WRITER"

// crashBlobs are the two values the writer child alternates between. They
// differ in length and content, so any mix or truncation is visible.
func crashBlobs() [2][]byte {
	return [2][]byte{bytes.Repeat([]byte("A"), 60<<10), bytes.Repeat([]byte("bb"), 1<<10)}
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		os.Exit(writerChild(spec))
	}
	os.Exit(m.Run())
}

func writerChild(spec string) int {
	root, id, _ := strings.Cut(spec, "|")
	s, err := New(root, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	blobs := crashBlobs()
	for i := 0; ; i++ {
		if err := s.Put(context.Background(), backend.ObjectID(id), blobs[i%2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if i == 0 {
			fmt.Println("ready")
		}
	}
}

// TestKillDuringPutLeavesOldOrNewBlob kills a process that is overwriting
// one object in a loop with SIGKILL, at whatever point it has reached, and
// checks the object is intact and the leftovers are harmless.
func TestKillDuringPutLeavesOldOrNewBlob(t *testing.T) {
	blobs := crashBlobs()
	root := filepath.Join(t.TempDir(), "vault")
	id := backendtest.NewID(t)
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+root+"|"+string(id))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("round %d: writer printed %q (%v); stderr: %s", round, line, err, stderr.String())
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		s, err := New(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("round %d: Get after kill: %v", round, err)
		}
		if !bytes.Equal(got, blobs[0]) && !bytes.Equal(got, blobs[1]) {
			t.Fatalf("round %d: object holds %d bytes that are neither blob written", round, len(got))
		}
		ids, err := s.List(t.Context())
		if err != nil || len(ids) != 1 || ids[0] != id {
			t.Fatalf("round %d: List after kill: %q, %v; want only %q", round, ids, err, id)
		}
		n, err := s.RemoveStaleTemps()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed writer left %d temporary files", round, n)
		entries, err := os.ReadDir(s.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("round %d: %d entries left after RemoveStaleTemps, want 1", round, len(entries))
		}
	}
}

func withUmask(mask int, f func()) {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func TestObjectFilesAndDirsAreOwnerOnly(t *testing.T) {
	root := filepath.Join(t.TempDir(), "vault")
	id := backendtest.NewID(t)
	var s *Store
	var err error
	// A permissive umask must not leak into the modes.
	withUmask(0, func() {
		s, err = New(root, Options{})
		if err == nil {
			err = s.Put(t.Context(), id, []byte("sealed"))
			if err == nil {
				err = s.Put(t.Context(), id, []byte("resealed"))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{root: 0o700, s.Dir(): 0o700, filepath.Join(s.Dir(), string(id)): 0o600} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
	if err := fsutil.CheckPrivateFile(filepath.Join(s.Dir(), string(id))); err != nil {
		t.Error(err)
	}
}

func TestNewRefusesUnsafeDirectories(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) // root exists, 0700
		wantMsg string                          // with %[1]q for root/objects and %[2]q for root
	}{
		{
			name: "objects dir group-writable",
			setup: func(t *testing.T, root string) {
				mkdir(t, filepath.Join(root, ObjectsDir), 0o770)
			},
			wantMsg: `directory %[1]q is group-writable (mode 0770): run chmod 700 %[1]q`,
		},
		{
			name: "objects dir world-writable",
			setup: func(t *testing.T, root string) {
				mkdir(t, filepath.Join(root, ObjectsDir), 0o707)
			},
			wantMsg: `directory %[1]q is world-writable (mode 0707): run chmod 700 %[1]q`,
		},
		{
			name: "objects dir is a symlink to a private dir",
			setup: func(t *testing.T, root string) {
				elsewhere := filepath.Join(t.TempDir(), "elsewhere")
				mkdir(t, elsewhere, 0o700)
				if err := os.Symlink(elsewhere, filepath.Join(root, ObjectsDir)); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: `directory %[1]q is a symbolic link`,
		},
		{
			name: "root group-writable",
			setup: func(t *testing.T, root string) {
				if err := os.Chmod(root, 0o775); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: `directory %[2]q is group-writable (mode 0775): run chmod 700 %[2]q`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "vault")
			mkdir(t, root, 0o700)
			tt.setup(t, root)
			before := snapshot(t, root)

			_, err := New(root, Options{})
			if !errors.Is(err, backend.ErrPermission) || !errors.Is(err, fsutil.ErrUnsafe) {
				t.Fatalf("New: %v; want ErrPermission and fsutil.ErrUnsafe", err)
			}
			want := fmt.Sprintf(tt.wantMsg, filepath.Join(root, ObjectsDir), root)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\ndoes not contain %q", err, want)
			}
			if after := snapshot(t, root); after != before {
				t.Errorf("New changed the vault root:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func mkdir(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes the names and modes under root, without following links.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v; ", path, fi.Mode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
