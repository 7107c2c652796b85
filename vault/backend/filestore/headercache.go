//go:build linux || darwin

package filestore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

var _ backend.HeaderLister = (*Store)(nil)

// The header cache file (docs/FORMAT.md, "The header cache"): a header
// of cacheFixed bytes, the entries, and an HMAC-SHA256 of everything before
// it under PrefixQuery.CacheKey.
const (
	cacheMagic    = "PVHC"
	cacheVersion  = 1
	stampSize     = 5 * 8
	cacheFixed    = 4 + 1 + 4 + stampSize + 1 + 4
	entryFixed    = 32 + stampSize + 1 + 2
	cacheMaxSize  = 64 << 20 // larger caches are neither read nor written
	maxCachedData = 1<<16 - 1

	idLen = len("obj_") + 64

	flagTrusted = 1 << 0 // stamp taken strictly before the cache's clock reading
	flagFailed  = 1 << 1 // the object could not be read: read it every time
)

// granularity, when not zero, truncates every time in a stamp and the
// clock reading to a multiple of it, as a file system with coarse
// timestamps (ext3, HFS+: one second) would. Tests set it to make changes
// in the same tick as the cache's build common.
var granularity int64

// coarse applies granularity to a stamp.
func coarse(s fsutil.FileStamp) fsutil.FileStamp {
	if granularity != 0 {
		s.ModTime -= s.ModTime % granularity
		s.ChangeTime -= s.ChangeTime % granularity
	}
	return s
}

// cacheEntry is what the header cache knows of one object.
type cacheEntry struct {
	stamp fsutil.FileStamp
	flags byte
	data  []byte
}

// headerCache is a parsed, authenticated header cache.
type headerCache struct {
	dir     fsutil.FileStamp // the objects directory when the names were read
	trusted bool             // dir was not racy then
	ids     []backend.ObjectID
	list    []cacheEntry // list[i] is the entry of ids[i]
	payload []byte       // the bytes under the MAC
}

// byID returns the entries by object ID, or nil when an ID repeats (the
// cache was not written by this package).
func (c *headerCache) byID() map[backend.ObjectID]cacheEntry {
	m := make(map[backend.ObjectID]cacheEntry, len(c.ids))
	for i, id := range c.ids {
		if _, dup := m[id]; dup {
			return nil
		}
		m[id] = c.list[i]
	}
	return m
}

// ListPrefixes returns the first q.Max bytes of every object (shortened by
// q.Keep), answering from the header cache <root>/headers.cache what it
// can vouch for and reading the rest from the object files.
//
// The cache is never the source of truth. It is used only when its MAC
// under q.CacheKey holds, and then only as far as the file system shows
// nothing changed since it was written: when the objects directory's stamp
// (device, inode, size, mtime, ctime) is the one recorded, no object was
// created, replaced (every write renames a new file into place) or
// removed, and its entries stand without a look at the files; when the
// directory changed, each entry stands only while its object file's stamp
// is the one recorded, and the other objects are read again. Stamps taken
// in the same tick of the file system's clock as the cache was built are
// never trusted (fsutil.FileStamp.Racy). Whenever it read an object file,
// ListPrefixes rewrites the cache, best effort and without fsync: a cache
// lost, torn or stale after a crash is only ignored and rebuilt.
//
// What a cache check cannot see: an object file rewritten in place (not by
// this package, which always renames), while the directory is unchanged,
// is listed as it was until the next change to the directory. Get and
// GetPrefix always read the file.
func (s *Store) ListPrefixes(ctx context.Context, q backend.PrefixQuery) ([]backend.Prefix, error) {
	if err := s.listReady(ctx); err != nil {
		return nil, err
	}
	if len(q.CacheKey) == 0 || q.Max < 0 || q.Max > maxCachedData {
		return s.listPrefixes(ctx, q)
	}
	dir, err := os.Open(s.dir)
	if err != nil {
		return nil, listError(err)
	}
	defer dir.Close()
	d0, err := fsutil.StampFD(dir)
	if err != nil {
		return nil, listError(err)
	}
	d0 = coarse(d0)
	old := s.loadCache(q)
	b := &cacheBuild{s: s, q: q, dir: dir}
	defer b.discard()

	fast := old != nil && old.trusted && old.dir == d0
	size := 64
	if old != nil {
		size = len(old.ids)
	}
	out := make([]backend.Prefix, 0, size)
	b.ids, b.entries = make([]backend.ObjectID, 0, size), make([]cacheEntry, 0, size)
	if fast {
		// Nothing was created, replaced or removed since the cache was
		// built: its names are the objects, and its trusted entries stand.
		b.dirStamp, b.dirTrusted = d0, true
		for i, id := range old.ids {
			if e := old.list[i]; e.flags&flagTrusted != 0 {
				out = append(out, backend.Prefix{ID: id, Data: e.data})
				b.add(id, e)
			} else if p, ok := b.read(id); ok {
				out = append(out, p)
			}
		}
	} else {
		b.startTemp() // read the clock before the directory
		if b.dirStamp, err = fsutil.StampFD(dir); err != nil {
			return nil, listError(err)
		}
		b.dirStamp = coarse(b.dirStamp)
		b.dirTrusted = b.tmp != nil && !b.dirStamp.Racy(b.clock)
		entries, err := dir.ReadDir(-1)
		if err != nil {
			return nil, listError(err)
		}
		var known map[backend.ObjectID]cacheEntry
		if old != nil {
			known = old.byID()
		}
		for i, de := range entries {
			if !isObject(de) {
				continue
			}
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, listError(err)
				}
			}
			id := backend.ObjectID(de.Name())
			// An entry stands while its file keeps the stamp it had.
			if e, ok := known[id]; ok && e.flags&flagTrusted != 0 && b.unchanged(id, e.stamp) {
				out = append(out, backend.Prefix{ID: id, Data: e.data})
				b.add(id, e)
			} else if p, ok := b.read(id); ok {
				out = append(out, p)
			}
		}
	}
	if b.tmp != nil {
		payload := b.encode()
		if old == nil || !bytes.Equal(payload, old.payload) {
			b.publish(payload)
		}
	}
	return out, nil
}

// cacheBuild collects the entries of the next cache while ListPrefixes runs.
type cacheBuild struct {
	s   *Store
	q   backend.PrefixQuery
	dir *os.File

	tmp     *os.File // the next cache, nil when it cannot be written
	tried   bool
	clock   int64 // ctime of tmp: stamps at or after it are racy
	tmpName string

	dirStamp   fsutil.FileStamp
	dirTrusted bool
	ids        []backend.ObjectID
	entries    []cacheEntry
}

// startTemp creates the next cache's temporary file, once; its ctime is
// the clock reading every stamp taken afterwards is judged against.
func (b *cacheBuild) startTemp() {
	if b.tried {
		return
	}
	b.tried = true
	f, clock, err := fsutil.CreateTempStamped(filepath.Dir(b.s.dir), CacheFile)
	if err == nil {
		b.tmp, b.clock, b.tmpName = f, coarse(fsutil.FileStamp{ChangeTime: clock}).ChangeTime, f.Name()
	}
}

// unchanged reports whether object id's file still has stamp s.
func (b *cacheBuild) unchanged(id backend.ObjectID, s fsutil.FileStamp) bool {
	st, regular, err := fsutil.StampAt(b.dir, string(id))
	return err == nil && regular && coarse(st) == s
}

// read reads object id's prefix from its file and records it. It reports
// false for an object that vanished meanwhile.
func (b *cacheBuild) read(id backend.ObjectID) (backend.Prefix, bool) {
	b.startTemp() // read the clock before the file
	b.s.objectReads.Add(1)
	data, st, t, err := fsutil.ReadPrefixAt(b.dir, string(id), b.q.Max)
	b.s.report(t)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return backend.Prefix{}, false
		}
		b.add(id, cacheEntry{flags: flagFailed})
		return backend.Prefix{ID: id, Err: readError(id, err)}, true
	}
	data = keep(b.q, data)
	e := cacheEntry{stamp: coarse(st), data: data}
	if b.tmp != nil && !e.stamp.Racy(b.clock) {
		e.flags |= flagTrusted
	}
	b.add(id, e)
	return backend.Prefix{ID: id, Data: data}, true
}

func (b *cacheBuild) add(id backend.ObjectID, e cacheEntry) {
	b.ids = append(b.ids, id)
	b.entries = append(b.entries, e)
}

// encode returns the next cache's bytes, without the MAC.
func (b *cacheBuild) encode() []byte {
	size := cacheFixed
	for _, e := range b.entries {
		size += entryFixed + len(e.data)
	}
	p := make([]byte, 0, size+sha256.Size)
	p = append(p, cacheMagic...)
	p = append(p, cacheVersion)
	p = binary.BigEndian.AppendUint32(p, uint32(b.q.Max))
	p = appendStamp(p, b.dirStamp)
	p = append(p, boolByte(b.dirTrusted))
	p = binary.BigEndian.AppendUint32(p, uint32(len(b.ids)))
	for i, id := range b.ids {
		e := b.entries[i]
		var raw [32]byte
		_, _ = hex.Decode(raw[:], []byte(id[len("obj_"):])) // a valid ID
		p = append(p, raw[:]...)
		p = appendStamp(p, e.stamp)
		p = append(p, e.flags)
		p = binary.BigEndian.AppendUint16(p, uint16(len(e.data)))
		p = append(p, e.data...)
	}
	return p
}

// publish writes payload and its MAC to the temporary file and renames it
// over the cache, best effort: no fsync, since a cache lost in a crash is
// only rebuilt. The file is 0600 from its creation.
func (b *cacheBuild) publish(payload []byte) {
	if len(payload)+sha256.Size > cacheMaxSize {
		return
	}
	m := hmac.New(sha256.New, b.q.CacheKey)
	m.Write(payload)
	if _, err := b.tmp.Write(m.Sum(payload)); err != nil {
		return
	}
	if err := b.tmp.Close(); err != nil {
		return
	}
	b.tmp = nil
	if os.Rename(b.tmpName, filepath.Join(filepath.Dir(b.s.dir), CacheFile)) == nil {
		b.tmpName = ""
	}
}

// discard removes the temporary file unless it was published.
func (b *cacheBuild) discard() {
	if b.tmp != nil {
		_ = b.tmp.Close()
	}
	if b.tmpName != "" {
		_ = os.Remove(b.tmpName)
	}
}

// loadCache reads and authenticates the header cache. It returns nil when
// there is none or it cannot be trusted: not a private regular file (a
// cache with loose permissions is replaced by the next write), too large,
// not authenticated by q.CacheKey (damaged, truncated, from another vault
// or another key), or made for another q.Max.
func (s *Store) loadCache(q backend.PrefixQuery) *headerCache {
	path := filepath.Join(filepath.Dir(s.dir), CacheFile)
	if fsutil.CheckPrivateFile(path) != nil {
		return nil
	}
	data, err := fsutil.ReadFileLimited(path, cacheMaxSize)
	if err != nil || len(data) < cacheFixed+sha256.Size {
		return nil
	}
	payload, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	m := hmac.New(sha256.New, q.CacheKey)
	m.Write(payload)
	if !hmac.Equal(m.Sum(nil), sum) {
		return nil
	}
	return parseCache(payload, q.Max)
}

// parseCache parses an authenticated cache; nil when it is malformed or
// for another prefix length.
func parseCache(p []byte, max int) *headerCache {
	if string(p[:4]) != cacheMagic || p[4] != cacheVersion || binary.BigEndian.Uint32(p[5:9]) != uint32(max) {
		return nil
	}
	c := &headerCache{payload: p, dir: readStamp(p[9:]), trusted: p[9+stampSize] == 1}
	n := binary.BigEndian.Uint32(p[10+stampSize:])
	if uint64(n)*entryFixed > uint64(len(p)) {
		return nil
	}
	c.ids = make([]backend.ObjectID, 0, n)
	c.list = make([]cacheEntry, 0, n)
	// All names in one string, each ID a slice of it: one allocation.
	names := make([]byte, 0, int(n)*idLen)
	rest := p[cacheFixed:]
	for range n {
		if len(rest) < entryFixed {
			return nil
		}
		names = append(names, "obj_"...)
		names = hex.AppendEncode(names, rest[:32])
		e := cacheEntry{stamp: readStamp(rest[32:]), flags: rest[32+stampSize]}
		size := int(binary.BigEndian.Uint16(rest[33+stampSize:]))
		rest = rest[entryFixed:]
		if len(rest) < size || size > max {
			return nil
		}
		e.data, rest = rest[:size:size], rest[size:]
		c.list = append(c.list, e)
	}
	all := string(names)
	for i := range c.list {
		c.ids = append(c.ids, backend.ObjectID(all[i*idLen:(i+1)*idLen]))
	}
	if len(rest) != 0 {
		return nil
	}
	return c
}

func appendStamp(p []byte, s fsutil.FileStamp) []byte {
	for _, v := range [...]uint64{s.Dev, s.Ino, uint64(s.Size), uint64(s.ModTime), uint64(s.ChangeTime)} {
		p = binary.BigEndian.AppendUint64(p, v)
	}
	return p
}

func readStamp(p []byte) fsutil.FileStamp {
	u := func(i int) uint64 { return binary.BigEndian.Uint64(p[8*i:]) }
	return fsutil.FileStamp{Dev: u(0), Ino: u(1), Size: int64(u(2)), ModTime: int64(u(3)), ChangeTime: int64(u(4))}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
