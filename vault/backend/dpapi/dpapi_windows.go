//go:build windows

package dpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

// Backend is the windows_dpapi backend. It is safe for concurrent use.
type Backend struct {
	dir    string
	fileSD *windows.SECURITY_DESCRIPTOR // owner-only, for new object files
	closed atomic.Bool
}

var _ backend.Backend = (*Backend)(nil)

// New opens the windows_dpapi backend of the store rooted at root (the
// vault root), creating root and its parents when missing (they inherit
// their parent's access control). It creates root\objects-dpapi with an
// owner-only protected DACL when missing; when present it must be a real directory (not a
// symbolic link or junction: error wrapping backend.ErrPermission), and a
// DACL that is not owner-only is replaced by the owner-only one. New does
// not call DPAPI; use Probe for that.
func New(root string, _ Options) (*Backend, error) {
	if root == "" {
		return nil, errors.New("opening windows_dpapi backend: vault root must not be empty")
	}
	sid, err := currentUserSID()
	if err != nil {
		return nil, fmt.Errorf("opening windows_dpapi backend: %w: %w", backend.ErrUnavailable, err)
	}
	dirSD, err := ownerOnlySD(sid, true)
	if err != nil {
		return nil, fmt.Errorf("opening windows_dpapi backend: %w", err)
	}
	fileSD, err := ownerOnlySD(sid, false)
	if err != nil {
		return nil, fmt.Errorf("opening windows_dpapi backend: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("opening windows_dpapi backend: creating %q: %w", root, err)
	}
	dir := filepath.Join(root, DirName)
	if err := ensureDir(dir, sid, dirSD); err != nil {
		return nil, fmt.Errorf("opening windows_dpapi backend: %w", err)
	}
	return &Backend{dir: dir, fileSD: fileSD}, nil
}

// ensureDir creates dir with the owner-only descriptor sd, or checks an
// existing one and makes its DACL owner-only.
func ensureDir(dir string, sid *windows.SID, sd *windows.SECURITY_DESCRIPTOR) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		p16, perr := windows.UTF16PtrFromString(dir)
		if perr != nil {
			return fmt.Errorf("directory name %q: %w", dir, perr)
		}
		if cerr := windows.CreateDirectory(p16, securityAttributes(sd)); cerr != nil && !errors.Is(cerr, windows.ERROR_ALREADY_EXISTS) {
			return fmt.Errorf("creating directory %q: %w", dir, cerr)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("checking directory %q: %w", dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 || fi.Mode()&fs.ModeIrregular != 0 {
		return fmt.Errorf("directory %q is a symbolic link or junction; replace it with a real directory: %w", dir, backend.ErrPermission)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%q is not a directory; move it out of the way: %w", dir, backend.ErrPermission)
	}
	ok, err := isOwnerOnly(dir, sid)
	if err != nil {
		return err
	}
	if !ok {
		if err := setOwnerOnly(dir, sd); err != nil {
			return fmt.Errorf("%w: %w", backend.ErrPermission, err)
		}
	}
	return nil
}

// Kind returns backend.KindDPAPI.
func (b *Backend) Kind() backend.Kind { return backend.KindDPAPI }

// MaxBlobSize returns MaxBlobSize.
func (b *Backend) MaxBlobSize() int { return MaxBlobSize }

// Dir returns the directory that holds the object files.
func (b *Backend) Dir() string { return b.dir }

// check refuses a closed backend, a done context and an invalid id.
func (b *Backend) check(ctx context.Context, id *backend.ObjectID) error {
	if b.closed.Load() {
		return fmt.Errorf("windows_dpapi backend is closed: %w", backend.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if id != nil {
		return backend.CheckID(*id)
	}
	return nil
}

// Put protects blob with DPAPI for the current user and atomically replaces
// the object file of id. It fails with backend.ErrTooLarge when blob is
// longer than MaxBlobSize, with backend.ErrUnavailable when DPAPI refuses
// to protect (for example in a session without a user profile), and with
// backend.ErrPermission when the object's name is a symbolic link, junction
// or directory (it is left alone). On failure the previous blob is kept.
func (b *Backend) Put(ctx context.Context, id backend.ObjectID, blob []byte) error {
	if err := b.check(ctx, &id); err != nil {
		return err
	}
	if len(blob) > MaxBlobSize {
		return fmt.Errorf("putting object %q: blob is %d bytes, more than the %d-byte limit: %w", id, len(blob), MaxBlobSize, backend.ErrTooLarge)
	}
	protected, err := protect(innerEncode(blob), entropy(id))
	if err != nil {
		return fmt.Errorf("putting object %q: %w: %w", id, backend.ErrUnavailable, err)
	}
	if err := fsutil.WriteFileAtomicSD(filepath.Join(b.dir, string(id)), encodeFile(protected), b.fileSD); err != nil {
		if errors.Is(err, fsutil.ErrUnsafe) {
			return fmt.Errorf("putting object %q: %w: %w", id, backend.ErrPermission, err)
		}
		return fmt.Errorf("putting object %q: %w", id, err)
	}
	return nil
}

// Get reads and decrypts the object file of id. It fails with an error
// wrapping backend.ErrNotFound when there is none, backend.ErrPermission
// when the object's name is a link or directory, and ErrCorrupt when the
// file is not a valid object or DPAPI refuses to decrypt it.
func (b *Backend) Get(ctx context.Context, id backend.ObjectID) ([]byte, error) {
	if err := b.check(ctx, &id); err != nil {
		return nil, err
	}
	data, err := fsutil.ReadFileLimited(filepath.Join(b.dir, string(id)), int64(maxFileSize))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("getting object %q: %w", id, backend.ErrNotFound)
	case errors.Is(err, fsutil.ErrUnsafe):
		return nil, fmt.Errorf("getting object %q: %w: %w", id, backend.ErrPermission, err)
	case errors.Is(err, fsutil.ErrTooLarge):
		return nil, fmt.Errorf("getting object %q: %w: %w", id, ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("getting object %q: %w", id, err)
	}
	protected, err := decodeFile(data)
	if err != nil {
		return nil, fmt.Errorf("getting object %q: %w", id, err)
	}
	plain, err := unprotect(protected, entropy(id))
	if err != nil {
		return nil, fmt.Errorf("getting object %q: dpapi could not decrypt it (altered, copied from another object, or protected by another user or machine): %w: %w", id, ErrCorrupt, err)
	}
	blob, err := innerDecode(plain)
	if err != nil {
		return nil, fmt.Errorf("getting object %q: %w", id, err)
	}
	return blob, nil
}

// Delete removes the object file of id and reports whether it existed.
func (b *Backend) Delete(ctx context.Context, id backend.ObjectID) (bool, error) {
	if err := b.check(ctx, &id); err != nil {
		return false, err
	}
	err := os.Remove(filepath.Join(b.dir, string(id)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("deleting object %q: %w", id, err)
	}
}

// List returns the IDs of the object files. Temporary files and any other
// name that is not a valid object ID are skipped.
func (b *Backend) List(ctx context.Context) ([]backend.ObjectID, error) {
	if err := b.check(ctx, nil); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	ids := make([]backend.ObjectID, 0, len(entries))
	for _, e := range entries {
		id := backend.ObjectID(e.Name())
		if id.Valid() && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// RemoveStaleTemps deletes the temporary files that a process killed in the
// middle of Put leaves in the object directory and reports how many it
// removed. Call it only while holding the vault's writers' lock, or it may
// remove the temporary file of a Put in progress.
func (b *Backend) RemoveStaleTemps() (int, error) {
	if b.closed.Load() {
		return 0, fmt.Errorf("windows_dpapi backend is closed: %w", backend.ErrUnavailable)
	}
	return fsutil.RemoveStaleTemps(b.dir)
}

// Close marks the backend closed; later calls fail with an error wrapping
// backend.ErrUnavailable. It holds no handles, so it cannot fail.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return nil
}

// probeBlob is what Probe protects and decrypts.
var probeBlob = []byte("palyra-vault windows_dpapi probe")

// Probe reports whether DPAPI works for the current user here: it protects
// and decrypts a constant, with an entropy no object uses. It returns nil
// or an error wrapping backend.ErrUnavailable.
func Probe() error {
	ent := []byte(entropyPrefix + "probe")
	protected, err := protect(probeBlob, ent)
	if err != nil {
		return fmt.Errorf("probing windows_dpapi: %w: %w", backend.ErrUnavailable, err)
	}
	got, err := unprotect(protected, ent)
	if err != nil {
		return fmt.Errorf("probing windows_dpapi: %w: %w", backend.ErrUnavailable, err)
	}
	if !bytes.Equal(got, probeBlob) {
		return fmt.Errorf("probing windows_dpapi: decrypted probe differs from what was protected: %w", backend.ErrUnavailable)
	}
	return nil
}

// blobOf points a DATA_BLOB at b (nil data for an empty slice).
func blobOf(b []byte) *windows.DataBlob {
	d := &windows.DataBlob{Size: uint32(len(b))}
	if len(b) > 0 {
		d.Data = &b[0]
	}
	return d
}

// takeBlob copies the LocalAlloc'ed output of a DPAPI call, wipes it when
// wipe is set, and frees it.
func takeBlob(out *windows.DataBlob, wipe bool) []byte {
	if out.Data == nil {
		return []byte{}
	}
	src := unsafe.Slice(out.Data, out.Size)
	res := bytes.Clone(src)
	if wipe {
		clear(src)
	}
	_, _ = windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return res
}

// protect runs CryptProtectData for the current user without UI.
func protect(plain, ent []byte) ([]byte, error) {
	desc, err := windows.UTF16PtrFromString(Description)
	if err != nil {
		return nil, err
	}
	var out windows.DataBlob
	if err := windows.CryptProtectData(blobOf(plain), desc, blobOf(ent), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("CryptProtectData: %w", err)
	}
	return takeBlob(&out, false), nil
}

// unprotect runs CryptUnprotectData without UI and wipes DPAPI's copy of
// the result.
func unprotect(protected, ent []byte) ([]byte, error) {
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(blobOf(protected), nil, blobOf(ent), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, fmt.Errorf("CryptUnprotectData: %w", err)
	}
	return takeBlob(&out, true), nil
}
