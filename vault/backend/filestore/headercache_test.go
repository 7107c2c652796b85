//go:build linux || darwin

package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

// cacheTestKey authenticates the header caches of these tests.
var cacheTestKey = bytes.Repeat([]byte{7}, 32)

// testID returns the i-th object ID of these tests.
func testID(i int) backend.ObjectID {
	return backend.ObjectID(fmt.Sprintf("obj_%064x", sha256.Sum256([]byte{byte(i), byte(i >> 8)})))
}

// testBlob is a blob whose first 16 bytes (the "header" these tests keep)
// say which object and which version it is; the rest stands for a value.
func testBlob(i, version int) []byte {
	return append([]byte(fmt.Sprintf("hdr-%05d-v%05d", i, version)), bytes.Repeat([]byte{'v'}, 100)...)
}

// keep16 keeps the 16-byte test header.
func keep16(b []byte) int { return min(16, len(b)) }

// listed lists s through its header cache: object ID to prefix (or error
// text).
func listed(t *testing.T, s *Store, key []byte) map[backend.ObjectID]string {
	t.Helper()
	ps, err := s.ListPrefixes(context.Background(), backend.PrefixQuery{Max: 64, Keep: keep16, CacheKey: key})
	if err != nil {
		t.Fatalf("ListPrefixes: %v", err)
	}
	out := map[backend.ObjectID]string{}
	for _, p := range ps {
		if _, dup := out[p.ID]; dup {
			t.Fatalf("ListPrefixes returned %s twice", p.ID)
		}
		out[p.ID] = string(p.Data)
		if p.Err != nil {
			out[p.ID] = "error: " + p.Err.Error()
		}
	}
	return out
}

// truth lists s from the object files alone, as a reader without any
// cache would.
func truth(t *testing.T, s *Store) map[backend.ObjectID]string {
	t.Helper()
	return listed(t, s, nil)
}

// checkListed fails unless a cached listing equals the truth.
func checkListed(t *testing.T, s *Store, what string) {
	t.Helper()
	got, want := listed(t, s, cacheTestKey), truth(t, s)
	if !maps.Equal(got, want) {
		t.Fatalf("%s: the cached listing differs from the object files:\n got %v\nwant %v", what, sortedValues(got), sortedValues(want))
	}
}

func sortedValues(m map[backend.ObjectID]string) []string {
	return slices.Sorted(maps.Values(m))
}

// put stores testBlob(i, version) durably.
func put(t *testing.T, s *Store, i, version int) {
	t.Helper()
	if err := s.Put(context.Background(), testID(i), testBlob(i, version)); err != nil {
		t.Fatal(err)
	}
}

// settle waits until the file system's clock has moved past every change
// made so far, so that a cache built now trusts what it records (see
// fsutil.FileStamp.Racy). It polls the clock; nothing is timed.
func settle(t *testing.T, s *Store) {
	t.Helper()
	dir, err := os.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	d, err := fsutil.StampFD(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		f, clock, err := fsutil.CreateTempStamped(t.TempDir(), "clock")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if !d.Racy(clock) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the file system's clock did not move in 2 s")
}

// warmStore returns a store of n objects (version 1) and a cache built
// after the clock moved on, so every entry is trusted.
func warmStore(t *testing.T, n int) *Store {
	t.Helper()
	s := newStore(t, Options{})
	for i := range n {
		put(t, s, i, 1)
	}
	settle(t, s)
	checkListed(t, s, "first listing")
	return s
}

func TestHeaderCacheAnswersAnUnchangedStoreWithoutReadingObjects(t *testing.T) {
	s := warmStore(t, 50)
	fi, err := os.Lstat(filepath.Join(filepath.Dir(s.dir), CacheFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("header cache after a listing: %v, %v; want a 0600 file", fi, err)
	}
	before := s.objectReads.Load()
	got := listed(t, s, cacheTestKey)
	if reads := s.objectReads.Load() - before; reads != 0 || len(got) != 50 {
		t.Fatalf("listing an unchanged store read %d object files and returned %d objects; want 0 and 50", reads, len(got))
	}
}

func TestHeaderCacheFollowsEveryChange(t *testing.T) {
	tests := []struct {
		name      string
		change    func(t *testing.T, s *Store)
		wantReads int64 // object files read by the listing after the change
	}{
		{"overwrite", func(t *testing.T, s *Store) { put(t, s, 3, 2) }, 1},
		{"overwrite with the same bytes", func(t *testing.T, s *Store) { put(t, s, 3, 1) }, 1},
		{"delete", func(t *testing.T, s *Store) {
			if _, err := s.Delete(context.Background(), testID(4)); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"add", func(t *testing.T, s *Store) { put(t, s, 99, 1) }, 1},
		{"rename one object over another", func(t *testing.T, s *Store) {
			if err := os.Rename(s.path(testID(5)), s.path(testID(6))); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"in-place overwrite of the same size, then any directory change", func(t *testing.T, s *Store) {
			if err := os.WriteFile(s.path(testID(7)), testBlob(7, 9), 0o600); err != nil {
				t.Fatal(err)
			}
			put(t, s, 98, 1)
		}, 2},
		{"object made unreadable, then any directory change", func(t *testing.T, s *Store) {
			if err := os.Remove(s.path(testID(8))); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(s.path(testID(9)), s.path(testID(8))); err != nil {
				t.Fatal(err)
			}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := warmStore(t, 20)
			tt.change(t, s)
			before := s.objectReads.Load()
			got := listed(t, s, cacheTestKey)
			reads := s.objectReads.Load() - before
			if want := truth(t, s); !maps.Equal(got, want) {
				t.Fatalf("cached listing after the change:\n got %v\nwant %v", sortedValues(got), sortedValues(want))
			}
			if reads != tt.wantReads {
				t.Errorf("the listing after the change read %d object files, want %d (only what changed)", reads, tt.wantReads)
			}
		})
	}
}

// TestHeaderCacheSeesChangesInTheTickItWasBuilt changes the store right
// after each listing, again and again, so that many changes fall in the
// same tick of the file system's clock as the cache was built, when the
// stamps alone cannot tell them apart. Every listing must see them. Timestamps
// are cut to whole seconds, as on ext3 or HFS+ (a kernel with multigrain
// timestamps, Linux 6.13 and later, would otherwise never give a change the
// same stamp as one just read), so that without the rule of
// fsutil.FileStamp.Racy this test fails.
func TestHeaderCacheSeesChangesInTheTickItWasBuilt(t *testing.T) {
	granularity = int64(time.Second)
	t.Cleanup(func() { granularity = 0 })
	s := newStore(t, Options{})
	for i := range 5 {
		put(t, s, i, 0)
	}
	for round := 1; round <= 300; round++ {
		i := round % 5
		listed(t, s, cacheTestKey) // build the cache
		switch round % 3 {
		case 0: // a rename into the directory
			put(t, s, i, round)
		case 1: // an in-place write of the same size, and a new file beside it
			if err := os.WriteFile(s.path(testID(i)), testBlob(i, round), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%sx%d", fsutil.TempPrefix, round)), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		case 2: // a delete and a re-create
			if _, err := s.Delete(context.Background(), testID(i)); err != nil {
				t.Fatal(err)
			}
			put(t, s, i, round)
		}
		checkListed(t, s, fmt.Sprintf("round %d", round))
	}
}

func TestHeaderCacheIgnoresACacheItCannotTrust(t *testing.T) {
	cachePath := func(s *Store) string { return filepath.Join(filepath.Dir(s.dir), CacheFile) }
	rewrite := func(edit func([]byte) []byte) func(t *testing.T, s *Store) {
		return func(t *testing.T, s *Store) {
			data, err := os.ReadFile(cachePath(s))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cachePath(s), edit(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, s *Store)
	}{
		{"a header byte flipped", rewrite(func(b []byte) []byte {
			i := bytes.Index(b, []byte("hdr-00002-v00001"))
			b[i+len("hdr-00002-v0000")] = '9' // claim version 9
			return b
		})},
		{"the MAC flipped", rewrite(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"truncated to nothing", rewrite(func(b []byte) []byte { return nil })},
		{"truncated to its fixed part", rewrite(func(b []byte) []byte { return b[:cacheFixed] })},
		{"truncated by half", rewrite(func(b []byte) []byte { return b[:len(b)/2] })},
		{"truncated by one byte", rewrite(func(b []byte) []byte { return b[:len(b)-1] })},
		{"a byte appended", rewrite(func(b []byte) []byte { return append(b, 0) })},
		{"garbage", rewrite(func(b []byte) []byte { return bytes.Repeat([]byte{0xff}, len(b)) })},
		{"written under another key (another vault)", func(t *testing.T, s *Store) {
			other := bytes.Repeat([]byte{8}, 32)
			// An honest cache of this very store, under the wrong key, with
			// one header edited before it was authenticated.
			if err := os.Remove(cachePath(s)); err != nil {
				t.Fatal(err)
			}
			s.objectReads.Store(0)
			listed(t, s, other)
			if s.objectReads.Load() == 0 {
				t.Fatal("a listing under another key used this key's cache")
			}
		}},
		{"readable by others", func(t *testing.T, s *Store) {
			if err := os.Chmod(cachePath(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"a symbolic link to a good cache", func(t *testing.T, s *Store) {
			good := filepath.Join(t.TempDir(), "cache")
			if err := os.Rename(cachePath(s), good); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(good, cachePath(s)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := warmStore(t, 10)
			tt.damage(t, s)
			before := s.objectReads.Load()
			checkListed(t, s, "after the damage")
			if reads := s.objectReads.Load() - before; reads < 10 {
				t.Fatalf("the listing read %d object files, want all 10: it trusted the damaged cache", reads)
			}
			fi, err := os.Lstat(cachePath(s))
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Fatalf("cache after the listing: %v, %v; want it rewritten as a 0600 regular file", fi, err)
			}
			// And the rewritten cache serves the next listing.
			settle(t, s)
			listed(t, s, cacheTestKey)
			before = s.objectReads.Load()
			checkListed(t, s, "the listing after")
			if reads := s.objectReads.Load() - before; reads != 0 {
				t.Fatalf("the listing after the rebuild read %d object files, want 0", reads)
			}
		})
	}
}

func TestRemoveStaleTempsRemovesLeftoverCacheTemps(t *testing.T) {
	s := warmStore(t, 3)
	root := filepath.Dir(s.dir)
	stale := filepath.Join(root, fsutil.TempPrefix+CacheFile+"-0123456789abcdef")
	other := filepath.Join(root, fsutil.TempPrefix+"keysource.json-0123456789abcdef")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RemoveStaleTemps(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("a leftover cache temp survived RemoveStaleTemps: %v", err)
	}
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("RemoveStaleTemps removed a temp file that is not the cache's: %v", err)
	}
	checkListed(t, s, "after the cleanup")
}
