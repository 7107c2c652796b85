//go:build windows

package dpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/backendtest"
)

// openBackend opens a backend on a fresh root; the caller closes it.
func openBackend(t *testing.T) *Backend {
	t.Helper()
	b, err := New(testutil.TempDir(t), Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func newTestBackend(t *testing.T) *Backend {
	t.Helper()
	b := openBackend(t)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return openBackend(t) })
}

func TestNewCreatesMissingRoot(t *testing.T) {
	root := filepath.Join(testutil.TempDir(t), "state", "keys", "os")
	b, err := New(root, Options{})
	if err != nil {
		t.Fatalf("New with a missing root: %v", err)
	}
	defer b.Close()
	if fi, err := os.Stat(b.Dir()); err != nil || !fi.IsDir() {
		t.Fatalf("object directory after New: %v", err)
	}
}

func testID(name string) backend.ObjectID {
	sum := sha256.Sum256([]byte(name))
	return backend.ObjectID("obj_" + hex.EncodeToString(sum[:]))
}

// secretBlob is recognisable on disk if it is ever written in the clear.
var secretBlob = []byte("PLAINTEXT-MARKER sk-live-0123456789abcdef PLAINTEXT-MARKER")

func TestProbeSucceedsForCurrentUser(t *testing.T) {
	if err := Probe(); err != nil {
		t.Fatalf("Probe: %v", err)
	}
}

func TestObjectFileHoldsNoPlaintext(t *testing.T) {
	b := newTestBackend(t)
	id := testID("plain")
	if err := b.Put(context.Background(), id, secretBlob); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(b.Dir(), string(id)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(fileMagic+"\x01")) {
		t.Errorf("object file starts %q, want the %q header", data[:min(len(data), 8)], fileMagic)
	}
	for _, needle := range [][]byte{secretBlob, []byte("PLAINTEXT-MARKER"), []byte("sk-live")} {
		if bytes.Contains(data, needle) {
			t.Errorf("object file contains %q in the clear", needle)
		}
	}
}

func TestGetOfAlteredFileFailsAsCorrupt(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := testID("tamper")
	if err := b.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.Dir(), string(id))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) func([]byte) []byte {
		return func(d []byte) []byte {
			if i < 0 {
				i += len(d)
			}
			d[i] ^= 0x55
			return d
		}
	}
	tests := []struct {
		name     string
		edit     func([]byte) []byte
		wineSkip string // why Wine cannot show this one, if it cannot
		wantMsg  string
	}{
		{name: "last byte flipped (mac)", edit: flip(-1), wantMsg: "dpapi could not decrypt"},
		{name: "byte near end flipped", edit: flip(-20), wantMsg: "dpapi could not decrypt"},
		{name: "ciphertext byte flipped", edit: flip(-60), wantMsg: "dpapi could not decrypt"},
		{name: "dpapi header byte flipped", edit: flip(headerLen + 8), wineSkip: "Wine's DPAPI does not authenticate the blob header", wantMsg: "dpapi could not decrypt"},
		{name: "truncated by one byte", edit: func(d []byte) []byte { return d[:len(d)-1] }, wantMsg: "dpapi could not decrypt"},
		{name: "byte appended", edit: func(d []byte) []byte { return append(d, 0) }, wineSkip: "Wine's DPAPI ignores trailing bytes", wantMsg: "dpapi could not decrypt"},
		{name: "magic changed", edit: flip(0), wantMsg: "not a windows_dpapi object file"},
		{name: "unknown version", edit: func(d []byte) []byte { d[len(fileMagic)] = 9; return d }, wantMsg: "unsupported windows_dpapi object version 9"},
		{name: "header only", edit: func(d []byte) []byte { return d[:headerLen] }, wantMsg: "truncated after its header"},
		{name: "empty file", edit: func([]byte) []byte { return nil }, wantMsg: "not a windows_dpapi object file"},
		{name: "garbage", edit: func([]byte) []byte { return []byte("this is not a dpapi blob at all, just text\n") }, wantMsg: "not a windows_dpapi object file"},
		{name: "header then garbage", edit: func([]byte) []byte { return append([]byte(fileMagic+"\x01"), bytes.Repeat([]byte{0xee}, 300)...) }, wantMsg: "dpapi could not decrypt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wineSkip != "" {
				testutil.SkipUnderWine(t, tc.wineSkip)
			}
			if err := os.WriteFile(path, tc.edit(bytes.Clone(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := b.Get(ctx, id)
			if err == nil {
				t.Fatalf("Get of altered file returned %d bytes and no error", len(got))
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Get error %q does not wrap ErrCorrupt", err)
			}
			if errors.Is(err, backend.ErrNotFound) {
				t.Errorf("Get error %q wraps ErrNotFound for a file that exists", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), string(id)) {
				t.Errorf("Get error %q does not name the object and say %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), "PLAINTEXT-MARKER") {
				t.Errorf("Get error %q contains the blob", err)
			}
		})
	}
}

func TestGetOfDecryptableFileWithoutVersionByteFails(t *testing.T) {
	b := newTestBackend(t)
	id := testID("noversion")
	// Protected exactly as Put would, except that the inner version byte
	// is missing: DPAPI decrypts it, the inner check must refuse it.
	protected, err := protect(secretBlob, entropy(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir(), string(id)), encodeFile(protected), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(context.Background(), id)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version byte") {
		t.Fatalf("Get = %d bytes, %v; want ErrCorrupt about the version byte", len(got), err)
	}
}

func TestConcurrentPutsAndGetsSeeWholeBlobs(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := testID("race")
	blobs := [][]byte{bytes.Repeat([]byte("A"), 4096), bytes.Repeat([]byte("B"), 8192)}
	if err := b.Put(ctx, id, blobs[0]); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 4, 25
	errs := make(chan error, 2*workers*rounds)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				errs <- b.Put(ctx, id, blobs[(w+i)%2])
			}
		})
		wg.Go(func() {
			for range rounds {
				got, err := b.Get(ctx, id)
				if err == nil && !bytes.Equal(got, blobs[0]) && !bytes.Equal(got, blobs[1]) {
					err = fmt.Errorf("Get returned %d bytes that are neither blob", len(got))
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
}

func TestGetOfFileCopiedFromAnotherObjectFails(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	a, other := testID("a"), testID("b")
	if err := b.Put(ctx, a, secretBlob); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(b.Dir(), string(a)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir(), string(other)), data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, other)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a blob copied from another object id = %d bytes, %v; want ErrCorrupt", len(got), err)
	}
}

func TestOversizedObjectFileIsRefusedUnread(t *testing.T) {
	b := newTestBackend(t)
	id := testID("huge")
	f, err := os.Create(filepath.Join(b.Dir(), string(id)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(maxFileSize) + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = b.Get(context.Background(), id)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("Get of an oversized file: %v; want ErrCorrupt naming the limit", err)
	}
}

func TestListSkipsTemporaryAndForeignFiles(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := testID("listed")
	if err := b.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		fsutil.TempPrefix + string(id) + "-0123456789abcdef",
		"notes.txt",
		"OBJ_" + strings.Repeat("a", 64),
		string(testID("x"))[:20],
	} {
		if err := os.WriteFile(filepath.Join(b.Dir(), name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(b.Dir(), string(testID("dir"))), 0o700); err != nil {
		t.Fatal(err)
	}
	ids, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []backend.ObjectID{id}) {
		t.Fatalf("List = %v, want only %v", ids, id)
	}
}

func TestRemoveStaleTempsRemovesOnlyTemporaryFiles(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := testID("kept")
	if err := b.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(b.Dir(), fsutil.TempPrefix+string(id)+"-0011223344556677")
	if err := os.WriteFile(stale, []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := b.RemoveStaleTemps()
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemps = %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temporary file still there (stat: %v)", err)
	}
	if got, err := b.Get(ctx, id); err != nil || !bytes.Equal(got, secretBlob) {
		t.Fatalf("Get after RemoveStaleTemps = %d bytes, %v; want the blob", len(got), err)
	}
}

func TestPutLeavesNoTemporaryFile(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := testID("tmp")
	for range 3 {
		if err := b.Put(ctx, id, secretBlob); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(b.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{string(id)}) {
		t.Fatalf("directory holds %v, want only %v", names, id)
	}
}

func TestNewKeepsObjectsAcrossReopen(t *testing.T) {
	root := testutil.TempDir(t)
	ctx := context.Background()
	b1, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := testID("reopen")
	if err := b1.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	b1.Close()
	b2, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	got, err := b2.Get(ctx, id)
	if err != nil || !bytes.Equal(got, secretBlob) {
		t.Fatalf("Get after reopen = %d bytes, %v; want the blob", len(got), err)
	}
}

func TestNewRefusesObjectDirThatIsAFile(t *testing.T) {
	root := testutil.TempDir(t)
	if err := os.WriteFile(filepath.Join(root, DirName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(root, Options{})
	if !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("New with %s as a file: %v; want ErrPermission saying not a directory", DirName, err)
	}
}

func TestNewRefusesObjectDirThatIsASymlink(t *testing.T) {
	root := testutil.TempDir(t)
	target := testutil.TempDir(t)
	testutil.Symlink(t, target, filepath.Join(root, DirName))
	_, err := New(root, Options{})
	if !errors.Is(err, backend.ErrPermission) {
		t.Fatalf("New with %s as a symlink: %v; want ErrPermission", DirName, err)
	}
}

func TestObjectNameThatIsASymlinkIsRefused(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	outside := filepath.Join(testutil.TempDir(t), "outside")
	if err := os.WriteFile(outside, []byte("not a vault object"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := testID("link")
	testutil.Symlink(t, outside, filepath.Join(b.Dir(), string(id)))
	if got, err := b.Get(ctx, id); !errors.Is(err, backend.ErrPermission) || got != nil {
		t.Errorf("Get through a symlink = %d bytes, %v; want ErrPermission", len(got), err)
	}
	if err := b.Put(ctx, id, secretBlob); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("Put over a symlink = %v; want ErrPermission", err)
	}
	if got, err := os.ReadFile(outside); err != nil || string(got) != "not a vault object" {
		t.Errorf("symlink target now holds %q (%v), want it untouched", got, err)
	}
}

func TestClosedBackendIsUnavailable(t *testing.T) {
	b := newTestBackend(t)
	b.Close()
	ctx := context.Background()
	id := testID("closed")
	errs := map[string]error{"Put": b.Put(ctx, id, secretBlob)}
	_, errs["Get"] = b.Get(ctx, id)
	_, errs["Delete"] = b.Delete(ctx, id)
	_, errs["List"] = b.List(ctx)
	for op, err := range errs {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s after Close: %v; want ErrUnavailable", op, err)
		}
	}
}

func TestObjectDirAndFilesAreOwnerOnly(t *testing.T) {
	testutil.SkipUnderWine(t, "Wine accepts SetNamedSecurityInfo but neither stores nor enforces the DACL")
	b := newTestBackend(t)
	id := testID("acl")
	if err := b.Put(context.Background(), id, secretBlob); err != nil {
		t.Fatal(err)
	}
	sid, err := currentUserSID()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{b.Dir(), filepath.Join(b.Dir(), string(id))} {
		ok, err := isOwnerOnly(p, sid)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s: DACL is not protected and owner-only", p)
		}
	}
}

func TestNewRestoresOwnerOnlyDACL(t *testing.T) {
	testutil.SkipUnderWine(t, "Wine accepts SetNamedSecurityInfo but neither stores nor enforces the DACL")
	root := testutil.TempDir(t)
	b, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	sid, err := currentUserSID()
	if err != nil {
		t.Fatal(err)
	}
	// Widen the directory's DACL: Everyone (WD) gets full access.
	wide, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;" + sid.String() + ")(A;OICI;FA;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	if err := setOwnerOnly(b.Dir(), wide); err != nil {
		t.Fatal(err)
	}
	if ok, _ := isOwnerOnly(b.Dir(), sid); ok {
		t.Fatal("widened DACL still reads as owner-only; the check cannot fail")
	}
	b2, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b2.Close()
	if ok, err := isOwnerOnly(b2.Dir(), sid); err != nil || !ok {
		t.Fatalf("after New the directory DACL is owner-only = %v (%v), want true", ok, err)
	}
}

// That another user cannot decrypt the blob needs a second account, so no
// test shows it (and Wine's DPAPI does not enforce it); this checks that the
// blob is not machine-scoped, which Wine's blob format does record.
func TestBlobIsProtectedForTheUserNotTheMachine(t *testing.T) {
	b := newTestBackend(t)
	id := testID("scope")
	if err := b.Put(context.Background(), id, secretBlob); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(b.Dir(), string(id)))
	if err != nil {
		t.Fatal(err)
	}
	// DPAPI blob: version (4), provider GUID (16), master key version (4),
	// master key GUID (16), flags (4). CRYPTPROTECT_LOCAL_MACHINE is 0x4.
	blob := data[headerLen:]
	if len(blob) < 44 {
		t.Fatalf("dpapi blob is %d bytes, too short for its header", len(blob))
	}
	if flags := binary.LittleEndian.Uint32(blob[40:44]); flags&0x4 != 0 {
		t.Fatalf("dpapi blob flags %#x include CRYPTPROTECT_LOCAL_MACHINE", flags)
	}
}
