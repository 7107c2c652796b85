package fsutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// publishMode is one way publish can give a temporary file its name; on
// Windows there are two (rename through the handle, MoveFileEx), elsewhere
// one. set selects the mode for the rest of t.
type publishMode struct {
	name string
	set  func(t *testing.T)
	// replacesOpenFile says whether a replacement succeeds at once while a
	// reader that shares delete access holds the file open. Where it does
	// not (MoveFileEx), publish retries until the reader closes.
	replacesOpenFile bool
}

func TestCreateFileExclusiveCreatesOnlyWhenNothingExists(t *testing.T) {
	for _, mode := range publishModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			mode.set(t)
			dir := testutil.TempDir(t)
			existing := filepath.Join(dir, "existing")
			if err := os.WriteFile(existing, []byte("first"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name      string
				path      string
				wantExist bool
				want      string // content afterwards, for files
			}{
				{"missing file is created", filepath.Join(dir, "new"), false, "created"},
				{"existing file is kept", existing, true, "first"},
				{"existing directory is kept", filepath.Join(dir, "adir"), true, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := CreateFileExclusive(tt.path, []byte("created"), 0o600)
					if tt.wantExist != errors.Is(err, fs.ErrExist) || !tt.wantExist && err != nil {
						t.Fatalf("CreateFileExclusive: %v; want fs.ErrExist %v", err, tt.wantExist)
					}
					if tt.want != "" {
						if got, err := os.ReadFile(tt.path); err != nil || string(got) != tt.want {
							t.Errorf("file holds %q (%v), want %q", got, err, tt.want)
						}
					}
				})
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"adir", "existing", "new"}) {
				t.Errorf("directory holds %q, want no temporary files", names)
			}
		})
	}
}

func TestCreateFileExclusiveRaceHasExactlyOneWinner(t *testing.T) {
	for _, mode := range publishModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			mode.set(t)
			dir := testutil.TempDir(t)
			path := filepath.Join(dir, "key")
			const racers = 8
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() { errs[i] = CreateFileExclusive(path, []byte(fmt.Sprintf("racer %d", i)), 0o600) })
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("racers %d and %d both created the file", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, fs.ErrExist):
					t.Errorf("racer %d: %v; want success or fs.ErrExist", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no racer created the file")
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != fmt.Sprintf("racer %d", winner) {
				t.Errorf("file holds %q (%v), want the winner's content", got, err)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"key"}) {
				t.Errorf("directory holds %q, want only \"key\"", names)
			}
		})
	}
}

func TestConcurrentWritesAndReadsSeeWholeContent(t *testing.T) {
	for _, mode := range publishModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			mode.set(t)
			dir := testutil.TempDir(t)
			path := filepath.Join(dir, "obj")
			// Two values of different lengths and bytes: a torn or
			// truncated read matches neither.
			values := [][]byte{bytes.Repeat([]byte("A"), 3000), bytes.Repeat([]byte("b"), 9000)}
			if err := WriteFileAtomic(path, values[0], 0o600); err != nil {
				t.Fatal(err)
			}
			const workers, rounds = 4, 30
			errs := make(chan error, 3*workers*rounds)
			var busy atomic.Int32
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range rounds {
						err := WriteFileAtomic(path, values[(w+i)%2], 0o600)
						if err != nil && !mode.replacesOpenFile && isBusyError(err) {
							// With MoveFileEx, readers that keep the file
							// open without pause can outlast the bounded
							// retry; the write then fails and changes
							// nothing, which the reads below check.
							busy.Add(1)
							continue
						}
						errs <- err
					}
				})
				wg.Go(func() {
					for range rounds {
						got, err := ReadFileLimited(path, 1<<20)
						if err == nil && !bytes.Equal(got, values[0]) && !bytes.Equal(got, values[1]) {
							err = fmt.Errorf("ReadFileLimited returned %d bytes that are neither value", len(got))
						}
						errs <- err
						got, err = ReadPrefix(path, 1<<20)
						if err == nil && !bytes.Equal(got, values[0]) && !bytes.Equal(got, values[1]) {
							err = fmt.Errorf("ReadPrefix returned %d bytes that are neither value", len(got))
						}
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if n := busy.Load(); n > 0 {
				t.Logf("%d of %d writes gave up while readers held the file", n, workers*rounds)
			}
			if got, err := ReadFileLimited(path, 1<<20); err != nil || !bytes.Equal(got, values[0]) && !bytes.Equal(got, values[1]) {
				t.Errorf("afterwards the file holds %d bytes (%v), neither value", len(got), err)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"obj"}) {
				t.Errorf("directory holds %q, want only \"obj\"", names)
			}
		})
	}
}

func TestOpenReaderDoesNotMakeReplaceFail(t *testing.T) {
	for _, mode := range publishModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			mode.set(t)
			path := filepath.Join(testutil.TempDir(t), "obj")
			if err := WriteFileAtomic(path, []byte("old content"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The open ReadFileLimited and ReadPrefix use, held across
			// the writer's replacement.
			f, _, _, err := openRegular(path, false)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			retries := 0
			if !mode.replacesOpenFile {
				// The reader goes away while the writer retries.
				onBusyRetry(t, func() {
					if retries++; retries == 1 {
						f.Close()
					}
				})
			}
			if err := WriteFileAtomic(path, []byte("new content"), 0o600); err != nil {
				t.Fatalf("WriteFileAtomic while a reader holds the file: %v", err)
			}
			if got, err := ReadFileLimited(path, 100); err != nil || string(got) != "new content" {
				t.Errorf("after the replacement the file reads %q (%v), want the new content", got, err)
			}
			if !mode.replacesOpenFile {
				if retries == 0 {
					t.Error("the open reader did not block the first attempt, yet this mode cannot replace an open file")
				}
				return
			}
			if got, err := io.ReadAll(f); err != nil || string(got) != "old content" {
				t.Errorf("the reader opened before the replacement read %q (%v), want the old content", got, err)
			}
		})
	}
}

func TestOpenReaderDoesNotBlockRemove(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "obj")
	if err := WriteFileAtomic(path, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, _, err := openRegular(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Remove(path); err != nil {
		t.Fatalf("os.Remove while a reader holds the file: %v", err)
	}
	if got, err := io.ReadAll(f); err != nil || string(got) != "content" {
		t.Errorf("the reader read %q (%v) after the removal, want the content", got, err)
	}
}
