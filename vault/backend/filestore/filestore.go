// Package filestore is the storage of the encrypted_file backend: one file
// per object in <root>/objects/, named exactly by its ObjectID. It stores
// the sealed envelopes the vault hands it and never sees plaintext; the
// encryption happens above it, in the vault.
//
// The objects directory is created 0700 and, when it exists, held to
// fsutil.Secure's rule on New: a symlinked, foreign-owned, group- or
// world-writable directory is refused, one others can only read is
// tightened to 0700. Object files are written 0600 with
// fsutil.WriteFileAtomic (temp file, fsync, rename, directory fsync), so a
// crash at any instant leaves either the old blob or the new one. Reads
// never follow a symlink, are bounded by MaxBlobSize, and hold each object
// file to the same rule from the opened descriptor's fstat: refused when
// another user owns it or others can write it, tightened to 0600 when
// others can read it. Each operation touches one file, so its cost does
// not grow with the number of objects; only List reads the directory.
//
// Writes from several processes must be serialised by the vault's lock;
// within one process a Store is safe for concurrent use.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

// DefaultMaxBlobSize is the MaxBlobSize used when Options.MaxBlobSize is 0:
// 65 KiB, room for a 64 KiB secret plus 1 KiB of envelope header and
// authentication overhead.
const DefaultMaxBlobSize = 64<<10 + 1<<10

// ObjectsDir is the name of the directory under the root that holds the
// object files.
const ObjectsDir = "objects"

// CacheFile is the name of the header cache under the root (see
// ListPrefixes and docs/FORMAT.md): a copy of every object's header that
// lets a listing skip reading the object files. It is never the source of
// truth; deleting it is always safe.
const CacheFile = "headers.cache"

// Options configure a Store. The zero value is the default.
type Options struct {
	// MaxBlobSize is the largest blob Put accepts and Get reads, in bytes.
	// Zero means DefaultMaxBlobSize; a negative value is an error.
	MaxBlobSize int
	// OnTightened, when set, is called for every directory or object
	// file whose mode the store tightened (see fsutil.Secure): at New for
	// the root and the objects directory, and when a read finds an object
	// file that others can read. It may be called from several goroutines
	// at once.
	OnTightened func(fsutil.Tightening)
}

// Store is an encrypted_file backend rooted at one directory. It implements
// backend.Backend, backend.HeaderReader and backend.HeaderLister.
type Store struct {
	dir    string // <root>/objects
	max    int
	onT    func(fsutil.Tightening) // Options.OnTightened
	closed atomic.Bool
	// objectReads counts the object files ListPrefixes read (not those it
	// took from the header cache); tests watch it.
	objectReads atomic.Int64
}

var (
	_ backend.Backend      = (*Store)(nil)
	_ backend.HeaderReader = (*Store)(nil)
)

// New opens the store under root, creating root and root/objects with mode
// 0700 when they are missing. Both directories must be real directories
// (not symlinks) owned by the current user and not writable by group or
// others; otherwise New fails with an error wrapping backend.ErrPermission
// (and fsutil.ErrUnsafe) that says how to fix it. One that others can only
// read is tightened to 0700 and reported to Options.OnTightened. It fails for a negative
// Options.MaxBlobSize.
func New(root string, opts Options) (*Store, error) {
	max := opts.MaxBlobSize
	switch {
	case max < 0:
		return nil, fmt.Errorf("opening encrypted_file store: max blob size %d must not be negative", max)
	case max == 0:
		max = DefaultMaxBlobSize
	}
	dir := filepath.Join(root, ObjectsDir)
	s := &Store{dir: dir, max: max, onT: opts.OnTightened}
	for _, d := range []string{root, dir} {
		if err := fsutil.EnsurePrivateDir(d); err != nil {
			return nil, fmt.Errorf("opening encrypted_file store: %w", classify(err))
		}
		t, err := fsutil.Secure(d, true)
		if err != nil {
			return nil, fmt.Errorf("opening encrypted_file store: %w", classify(err))
		}
		s.report(t)
	}
	return s, nil
}

// report passes a tightening to Options.OnTightened.
func (s *Store) report(t fsutil.Tightening) {
	if t.Changed() && s.onT != nil {
		s.onT(t)
	}
}

// Dir returns the directory holding the object files, <root>/objects.
func (s *Store) Dir() string { return s.dir }

// Kind reports backend.KindEncryptedFile.
func (s *Store) Kind() backend.Kind { return backend.KindEncryptedFile }

// MaxBlobSize reports the largest blob Put accepts, in bytes.
func (s *Store) MaxBlobSize() int { return s.max }

// path returns the file name of a valid id.
func (s *Store) path(id backend.ObjectID) string { return filepath.Join(s.dir, string(id)) }

// ready fails when the store is closed, ctx is done, or id is invalid.
func (s *Store) ready(ctx context.Context, op string, id backend.ObjectID) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: encrypted_file store is closed: %w", op, backend.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := backend.CheckID(id); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Put atomically and durably replaces the object file of id with blob,
// mode 0600. It fails with backend.ErrTooLarge, before touching the disk,
// when blob is over MaxBlobSize; with backend.ErrPermission when the object
// file is a symlink or not a regular file or access is denied. On failure
// the previous blob, if any, is kept.
func (s *Store) Put(ctx context.Context, id backend.ObjectID, blob []byte) error {
	if err := s.ready(ctx, "storing object", id); err != nil {
		return err
	}
	if len(blob) > s.max {
		return fmt.Errorf("storing object %q: blob is %d bytes, more than the %d-byte limit: %w", id, len(blob), s.max, backend.ErrTooLarge)
	}
	if err := fsutil.WriteFileAtomic(s.path(id), blob, 0o600); err != nil {
		return fmt.Errorf("storing object %q: %w", id, classify(err))
	}
	return nil
}

// Get returns the blob stored under id. It fails with backend.ErrNotFound
// when there is no object file, backend.ErrPermission when the object file
// is a symlink (never followed) or not a regular file, and
// backend.ErrTooLarge when the file is over MaxBlobSize (it was not written
// by Put).
func (s *Store) Get(ctx context.Context, id backend.ObjectID) ([]byte, error) {
	if err := s.ready(ctx, "reading object", id); err != nil {
		return nil, err
	}
	data, t, err := fsutil.ReadPrivateFile(s.path(id), int64(s.max))
	s.report(t)
	if err != nil {
		return nil, readError(id, err)
	}
	return data, nil
}

// GetPrefix returns at most the first n bytes of the blob stored under id,
// reading only those bytes from disk. It fails like Get, and for a negative n.
func (s *Store) GetPrefix(ctx context.Context, id backend.ObjectID, n int) ([]byte, error) {
	if err := s.ready(ctx, "reading object", id); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("reading object %q: prefix length %d must not be negative", id, n)
	}
	data, t, err := fsutil.ReadPrivatePrefix(s.path(id), min(n, s.max))
	s.report(t)
	if err != nil {
		return nil, readError(id, err)
	}
	return data, nil
}

// Delete removes the object file of id and fsyncs the directory. It reports
// whether the object existed; a missing object is not an error. A symlink
// under the object's name is removed (never its target) and counts as
// existing; a directory under that name is refused with
// backend.ErrPermission.
func (s *Store) Delete(ctx context.Context, id backend.ObjectID) (bool, error) {
	if err := s.ready(ctx, "deleting object", id); err != nil {
		return false, err
	}
	path := s.path(id)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting object %q: %w", id, classify(err))
	}
	if fi.IsDir() {
		err := &fsutil.UnsafeError{What: "object file", Path: path, Problem: "is a directory", Fix: "move it out of the way"}
		return false, fmt.Errorf("deleting object %q: %w", id, classify(err))
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // deleted concurrently
		}
		return false, fmt.Errorf("deleting object %q: %w", id, classify(err))
	}
	if err := fsutil.SyncDir(s.dir); err != nil {
		return true, fmt.Errorf("deleted object %q but could not make the removal durable: %w", id, err)
	}
	return true, nil
}

// List returns the IDs of the objects stored, in directory order. It reads
// only the directory: temporary files (fsutil.TempPrefix), names that are
// not valid ObjectIDs, and entries that are not regular files (symlinks,
// directories) are skipped.
func (s *Store) List(ctx context.Context) ([]backend.ObjectID, error) {
	if err := s.listReady(ctx); err != nil {
		return nil, err
	}
	f, err := os.Open(s.dir)
	if err != nil {
		return nil, listError(err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1) // unsorted: callers sort what they need
	if err != nil {
		return nil, listError(err)
	}
	ids := make([]backend.ObjectID, 0, len(entries))
	for _, e := range entries {
		if isObject(e) {
			ids = append(ids, backend.ObjectID(e.Name()))
		}
	}
	return ids, nil
}

// isObject reports whether a directory entry is an object file: a regular
// file named by a valid ObjectID (never a temporary file).
func isObject(e fs.DirEntry) bool {
	return !fsutil.IsTemp(e.Name()) && backend.ObjectID(e.Name()).Valid() && e.Type().IsRegular()
}

// listReady fails when the store is closed or ctx is done.
func (s *Store) listReady(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("listing objects: encrypted_file store is closed: %w", backend.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("listing objects: %w", err)
	}
	return nil
}

// listError wraps a failure to list the objects directory.
func listError(err error) error { return fmt.Errorf("listing objects: %w", classify(err)) }

// RemoveStaleTemps deletes temporary files left in the objects directory by
// writers that died mid-Put, and those of header caches left in the root by
// listings that died, and reports how many it removed. Call it only
// while holding the vault's writer lock, so no Put is in progress.
func (s *Store) RemoveStaleTemps() (int, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("removing stale temporary files: encrypted_file store is closed: %w", backend.ErrUnavailable)
	}
	n, err := fsutil.RemoveStaleTemps(s.dir)
	if err != nil {
		return n, classify(err)
	}
	// Header caches being written when their writer died; a listing
	// writing one now loses it, harmlessly (it is rebuilt).
	root := filepath.Dir(s.dir)
	if entries, err := os.ReadDir(root); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), fsutil.TempPrefix+CacheFile+"-") && e.Type().IsRegular() && os.Remove(filepath.Join(root, e.Name())) == nil {
				n++
			}
		}
	}
	return n, nil
}

// Close marks the store closed; later calls fail with backend.ErrUnavailable.
// A Store holds no open files between calls, so Close never fails.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// readError maps a read failure of object id onto the backend sentinels.
func readError(id backend.ObjectID, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading object %q: %w", id, backend.ErrNotFound)
	}
	return fmt.Errorf("reading object %q: %w", id, classify(err))
}

// classify adds the backend sentinel that matches a file-system error,
// keeping the error's own message (and chain) intact.
func classify(err error) error {
	switch {
	case errors.Is(err, fsutil.ErrUnsafe), errors.Is(err, fs.ErrPermission):
		return &tagged{err: err, sentinel: backend.ErrPermission}
	case errors.Is(err, fsutil.ErrTooLarge):
		return &tagged{err: err, sentinel: backend.ErrTooLarge}
	}
	return err
}

// tagged is err that also matches sentinel with errors.Is, without adding
// the sentinel's text to the message.
type tagged struct {
	err, sentinel error
}

func (t *tagged) Error() string   { return t.err.Error() }
func (t *tagged) Unwrap() []error { return []error{t.err, t.sentinel} }

// Describe names the directory that holds the object files.
func (s *Store) Describe() string { return "one 0600 file per object in " + s.dir }

// listPrefixes answers ListPrefixes from the object files alone: one
// directory read, then one prefix read per object.
func (s *Store) listPrefixes(ctx context.Context, q backend.PrefixQuery) ([]backend.Prefix, error) {
	ids, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]backend.Prefix, len(ids))
	for i, id := range ids {
		b, err := s.GetPrefix(ctx, id, q.Max)
		out[i] = backend.Prefix{ID: id, Data: keep(q, b), Err: err}
		if err != nil {
			out[i].Data = nil
		}
	}
	return out, nil
}

// keep shortens a prefix to what q.Keep asks for.
func keep(q backend.PrefixQuery, b []byte) []byte {
	if q.Keep == nil {
		return b
	}
	if n := q.Keep(b); n >= 0 && n <= len(b) {
		return b[:n:n]
	}
	return b
}
