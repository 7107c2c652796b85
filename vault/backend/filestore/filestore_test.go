package filestore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/backendtest"
)

func newStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := New(filepath.Join(testutil.TempDir(t), "vault"), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestStoreConformance(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"default options", Options{}},
		{"small max blob size", Options{MaxBlobSize: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backend.Backend { return newStore(t, tt.opts) })
		})
	}
}

func TestNewUsesDefaultOrGivenMaxBlobSize(t *testing.T) {
	if got := newStore(t, Options{}).MaxBlobSize(); got != DefaultMaxBlobSize {
		t.Errorf("default MaxBlobSize = %d, want %d", got, DefaultMaxBlobSize)
	}
	if got := newStore(t, Options{MaxBlobSize: 77}).MaxBlobSize(); got != 77 {
		t.Errorf("MaxBlobSize = %d, want 77", got)
	}
	if _, err := New(testutil.TempDir(t), Options{MaxBlobSize: -1}); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("New with negative MaxBlobSize: %v, want an error naming the rule", err)
	}
}

func TestObjectIsOneFileNamedByItsID(t *testing.T) {
	s := newStore(t, Options{})
	id := backendtest.NewID(t)
	if err := s.Put(t.Context(), id, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.Dir(), string(id)))
	if err != nil || string(got) != "sealed" {
		t.Fatalf("reading objects/<id> directly: %q, %v", got, err)
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("objects dir holds %d entries after one Put, want 1", len(entries))
	}
}

func TestSymlinkedObjectFileIsRefused(t *testing.T) {
	s := newStore(t, Options{})
	outside := filepath.Join(testutil.TempDir(t), "outside")
	if err := os.WriteFile(outside, []byte("not a vault object"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := backendtest.NewID(t)
	testutil.Symlink(t, outside, filepath.Join(s.Dir(), string(id)))
	ctx := t.Context()

	if got, err := s.Get(ctx, id); !errors.Is(err, backend.ErrPermission) || !errors.Is(err, fsutil.ErrUnsafe) || got != nil {
		t.Errorf("Get through symlink: %q, %v; want ErrPermission and no data", got, err)
	}
	if got, err := s.GetPrefix(ctx, id, 5); !errors.Is(err, backend.ErrPermission) || got != nil {
		t.Errorf("GetPrefix through symlink: %q, %v; want ErrPermission and no data", got, err)
	}
	if err := s.Put(ctx, id, []byte("new")); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("Put over symlink: %v; want ErrPermission", err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "not a vault object" {
		t.Errorf("symlink target changed to %q", got)
	}
	if ids, err := s.List(ctx); err != nil || len(ids) != 0 {
		t.Errorf("List: %q, %v; want no ids (a symlink is not an object)", ids, err)
	}
	// Delete removes the link, never the target.
	if existed, err := s.Delete(ctx, id); err != nil || !existed {
		t.Errorf("Delete of symlink: existed %v, err %v; want true, nil", existed, err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("symlink target removed: %v", err)
	}
}

func TestTempFilesAreIgnoredAndRemovable(t *testing.T) {
	s := newStore(t, Options{})
	ctx := t.Context()
	id := backendtest.NewID(t)
	if err := s.Put(ctx, id, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	// What a writer killed mid-Put leaves behind, for this id and a new one.
	orphan := backendtest.NewID(t)
	for _, name := range []string{
		fsutil.TempPrefix + string(id) + "-0123456789abcdef",
		fsutil.TempPrefix + string(orphan) + "-fedcba9876543210",
	} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("half-writ"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if ids, err := s.List(ctx); err != nil || !slices.Equal(ids, []backend.ObjectID{id}) {
		t.Errorf("List: %q, %v; want only %q", ids, err, id)
	}
	if got, err := s.Get(ctx, id); err != nil || string(got) != "kept" {
		t.Errorf("Get of id with a stale temp: %q, %v; want \"kept\"", got, err)
	}
	if _, err := s.Get(ctx, orphan); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Get of id that has only a temp file: %v; want ErrNotFound", err)
	}

	n, err := s.RemoveStaleTemps()
	if err != nil || n != 2 {
		t.Fatalf("RemoveStaleTemps: %d, %v; want 2, nil", n, err)
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != string(id) {
		t.Errorf("after RemoveStaleTemps the dir holds %d entries, want only the object", len(entries))
	}
}

func TestListSkipsForeignEntries(t *testing.T) {
	s := newStore(t, Options{})
	id := backendtest.NewID(t)
	if err := s.Put(t.Context(), id, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"README", "obj_ABC", strings.ToUpper(string(backendtest.NewID(t))), string(id) + ".bak"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.Dir(), string(backendtest.NewID(t))), 0o700); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.List(t.Context()); err != nil || !slices.Equal(ids, []backend.ObjectID{id}) {
		t.Errorf("List: %q, %v; want only %q", ids, err, id)
	}
}

func TestGetRefusesFileOverMaxBlobSize(t *testing.T) {
	s := newStore(t, Options{MaxBlobSize: 100})
	id := backendtest.NewID(t)
	if err := os.WriteFile(filepath.Join(s.Dir(), string(id)), bytes.Repeat([]byte{1}, 101), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(t.Context(), id); !errors.Is(err, backend.ErrTooLarge) || got != nil {
		t.Errorf("Get of a 101-byte file with a 100-byte limit: %d bytes, %v; want ErrTooLarge", len(got), err)
	}
	// The header of such a file is still readable, bounded by the limit.
	if got, err := s.GetPrefix(t.Context(), id, 1000); err != nil || len(got) != 100 {
		t.Errorf("GetPrefix(1000): %d bytes, %v; want 100", len(got), err)
	}
}

func TestDeleteRefusesDirectoryNamedLikeObject(t *testing.T) {
	s := newStore(t, Options{})
	id := backendtest.NewID(t)
	if err := os.Mkdir(filepath.Join(s.Dir(), string(id)), 0o700); err != nil {
		t.Fatal(err)
	}
	if existed, err := s.Delete(t.Context(), id); !errors.Is(err, backend.ErrPermission) || existed {
		t.Errorf("Delete: existed %v, err %v; want ErrPermission", existed, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), string(id))); err != nil {
		t.Errorf("directory removed: %v", err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s := newStore(t, Options{})
	id := backendtest.NewID(t)
	if err := s.Put(t.Context(), id, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, getErr := s.Get(ctx, id)
	_, listErr := s.List(ctx)
	_, delErr := s.Delete(ctx, id)
	_, prefixErr := s.GetPrefix(ctx, id, 1)
	_, tempErr := s.RemoveStaleTemps()
	for name, err := range map[string]error{
		"Put": s.Put(ctx, id, []byte("y")), "Get": getErr, "List": listErr,
		"Delete": delErr, "GetPrefix": prefixErr, "RemoveStaleTemps": tempErr,
	} {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s after Close: %v; want ErrUnavailable", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), string(id))); err != nil {
		t.Errorf("object changed after Close: %v", err)
	}
}

func TestCancelledContextChangesNothing(t *testing.T) {
	s := newStore(t, Options{})
	id := backendtest.NewID(t)
	if err := s.Put(t.Context(), id, []byte("before")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, id, []byte("after")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with cancelled context: %v; want context.Canceled", err)
	}
	if existed, err := s.Delete(ctx, id); !errors.Is(err, context.Canceled) || existed {
		t.Errorf("Delete with cancelled context: %v, %v; want context.Canceled", existed, err)
	}
	if got, err := s.Get(t.Context(), id); err != nil || string(got) != "before" {
		t.Errorf("Get: %q, %v; want \"before\"", got, err)
	}
}

func TestNewRefusesObjectsPathThatIsNotADirectory(t *testing.T) {
	root := filepath.Join(testutil.TempDir(t), "vault")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ObjectsDir), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(root, Options{}); !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("New: %v; want ErrPermission saying objects is not a directory", err)
	}
}
