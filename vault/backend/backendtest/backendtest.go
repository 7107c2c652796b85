// Package backendtest is the conformance suite for backend.Backend. Every
// backend's test calls Run with a constructor for fresh, empty instances, so
// the file store, the Secret Service, DPAPI and Keychain backends all meet
// the one contract documented in package backend: binary round trips,
// replacement, the sentinel errors, refusal of invalid object IDs, the size
// limit, concurrent use, the optional HeaderReader and HeaderLister, real
// envelopes of names at every edge of the naming grammar, and error messages
// that never carry blob contents.
//
// The suite is sized for slow backends (a D-Bus round trip per call): it
// stores at most a few dozen small blobs per subtest, and allocates blobs of
// MaxBlobSize bytes only when that is at most MaxTestedBlobSize.
package backendtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// MaxTestedBlobSize is the largest MaxBlobSize for which the suite allocates
// and stores a blob of exactly MaxBlobSize bytes and one of MaxBlobSize+1
// bytes. Backends with a larger limit skip those two subtests.
const MaxTestedBlobSize = 16 << 20

// canary is stored in blobs whose errors the suite inspects: it must never
// appear in an error message.
const canary = "backendtest-canary-secret-value"

// Run runs the conformance suite as subtests of t. newBackend must return a
// fresh backend holding no objects (each subtest calls it once) and may use
// t for its own cleanup and skips; Run closes every backend it is given at
// the end of the subtest and fails the subtest if Close fails, so newBackend
// must not close it too.
//
// Beyond the interface's doc comments, the suite requires that Get of an
// invalid ObjectID fails with an error that does not wrap ErrNotFound (the
// ID is refused, not looked up), that Put copies the blob and Get returns a
// copy, and that no error message contains blob contents.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend.Backend)
	}{
		{"KindIsKnown", testKindIsKnown},
		{"PutGetRoundTripsBinaryData", testRoundTrip},
		{"PutReplacesExistingBlob", testPutReplaces},
		{"PutAndGetCopyTheBlob", testCopies},
		{"GetMissingWrapsErrNotFound", testGetMissing},
		{"DeleteReportsWhetherObjectExisted", testDelete},
		{"ListReturnsExactlyStoredIDs", testList},
		{"InvalidObjectIDIsRefusedWithoutTouchingStore", testInvalidID},
		{"BlobOfMaxSizeIsAccepted", testMaxSizeAccepted},
		{"BlobOverMaxSizeFailsWithErrTooLargeAndStoresNothing", testOverMaxSize},
		{"ConcurrentPutsAndGetsSeeWrittenValues", testConcurrent},
		{"HeaderReaderReturnsPrefix", testHeaderReader},
		{"EnvelopesOfEdgeNamesRoundTrip", testEdgeNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t)
			if b == nil {
				t.Fatal("newBackend returned nil")
			}
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, b)
		})
	}
}

// NewID returns a random valid ObjectID, so runs against a persistent store
// never collide with objects left by earlier runs.
func NewID(t testing.TB) backend.ObjectID {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return backend.ObjectID("obj_" + hex.EncodeToString(b[:]))
}

// pattern returns n bytes that differ from position to position and from
// seed to seed, so truncation, shifting or mixing shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed ^ byte(i>>8)
	}
	return b
}

func put(t *testing.T, b backend.Backend, id backend.ObjectID, blob []byte) {
	t.Helper()
	if err := b.Put(t.Context(), id, blob); err != nil {
		t.Fatalf("Put(%d bytes): %v", len(blob), err)
	}
}

func mustGet(t *testing.T, b backend.Backend, id backend.ObjectID, want []byte) {
	t.Helper()
	got, err := b.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get returned %d bytes that differ from the %d stored (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func list(t *testing.T, b backend.Backend) []backend.ObjectID {
	t.Helper()
	ids, err := b.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	slices.Sort(ids)
	return ids
}

func wantList(t *testing.T, b backend.Backend, want ...backend.ObjectID) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if got := list(t, b); !slices.Equal(got, want) {
		t.Fatalf("List returned %d ids %q, want exactly %d: %q", len(got), got, len(want), want)
	}
}

func noCanary(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Errorf("%s error contains the blob's contents: %q", op, err)
	}
}

func testKindIsKnown(t *testing.T, b backend.Backend) {
	switch k := b.Kind(); k {
	case backend.KindEncryptedFile, backend.KindSecretService, backend.KindKeychain, backend.KindDPAPI, backend.KindEtcd:
	default:
		t.Fatalf("Kind() = %q, not one of the backend kinds in package backend", k)
	}
	if b.MaxBlobSize() <= 0 {
		t.Fatalf("MaxBlobSize() = %d, want a positive limit", b.MaxBlobSize())
	}
}

func testRoundTrip(t *testing.T, b backend.Backend) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		blob []byte
	}{
		{"all 256 byte values", all},
		{"all byte values reversed", reversed(all)},
		{"empty blob", []byte{}},
		{"single zero byte", []byte{0}},
		{"invalid UTF-8 and NULs", []byte{0xff, 0xfe, 0, 0, 0xc3, 0x28, '\n', 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := NewID(t)
			put(t, b, id, tt.blob)
			mustGet(t, b, id, tt.blob)
		})
	}
}

func reversed(b []byte) []byte {
	r := slices.Clone(b)
	slices.Reverse(r)
	return r
}

func testPutReplaces(t *testing.T, b backend.Backend) {
	id := NewID(t)
	// Long, then short, then longer: a store that appended or failed to
	// truncate would return a mix.
	for _, blob := range [][]byte{pattern(300, 1), pattern(5, 2), {}, pattern(700, 3)} {
		put(t, b, id, blob)
		mustGet(t, b, id, blob)
	}
	wantList(t, b, id)
}

func testCopies(t *testing.T, b backend.Backend) {
	id := NewID(t)
	blob := pattern(64, 9)
	orig := slices.Clone(blob)
	put(t, b, id, blob)
	blob[0] ^= 0xff // the caller reuses its buffer after Put
	mustGet(t, b, id, orig)

	got, err := b.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	got[1] ^= 0xff // the caller scribbles on what Get returned
	mustGet(t, b, id, orig)
}

func testGetMissing(t *testing.T, b backend.Backend) {
	got, err := b.Get(t.Context(), NewID(t))
	if !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get of a missing id: %d bytes, err %v; want an error wrapping ErrNotFound", len(got), err)
	}
}

func testDelete(t *testing.T, b backend.Backend) {
	id, other := NewID(t), NewID(t)
	put(t, b, id, []byte("to delete"))
	put(t, b, other, []byte("to keep"))

	existed, err := b.Delete(t.Context(), id)
	if err != nil || !existed {
		t.Fatalf("first Delete: existed %v, err %v; want true, nil", existed, err)
	}
	if _, err := b.Get(t.Context(), id); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	existed, err = b.Delete(t.Context(), id)
	if err != nil || existed {
		t.Fatalf("second Delete: existed %v, err %v; want false, nil", existed, err)
	}
	existed, err = b.Delete(t.Context(), NewID(t))
	if err != nil || existed {
		t.Fatalf("Delete of a never-stored id: existed %v, err %v; want false, nil", existed, err)
	}
	mustGet(t, b, other, []byte("to keep"))
	wantList(t, b, other)
}

func testList(t *testing.T, b backend.Backend) {
	wantList(t, b)
	ids := []backend.ObjectID{NewID(t), NewID(t), NewID(t)}
	for i, id := range ids {
		put(t, b, id, pattern(10+i, byte(i)))
	}
	put(t, b, ids[0], []byte("overwritten")) // must not list ids[0] twice
	wantList(t, b, ids...)
	if _, err := b.Delete(t.Context(), ids[1]); err != nil {
		t.Fatal(err)
	}
	wantList(t, b, ids[0], ids[2])
}

// invalidIDs break the ObjectID grammar in the ways a path-based or
// attribute-based store could be fooled by.
func invalidIDs() []backend.ObjectID {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	return []backend.ObjectID{
		"",
		"obj_",
		"obj_" + backend.ObjectID(hex64[:63]),
		"obj_" + backend.ObjectID(hex64) + "0",
		"OBJ_" + backend.ObjectID(hex64),
		"obj_" + backend.ObjectID(strings.ToUpper(hex64)),
		"obj_" + backend.ObjectID(hex64[:63]) + "g",
		"obj_" + backend.ObjectID(hex64[:62]) + "/.",
		"../obj_" + backend.ObjectID(hex64),
		"obj_" + backend.ObjectID(hex64) + "/..",
		"obj_" + backend.ObjectID(hex64) + "\n",
		"obj_" + backend.ObjectID(hex64) + "\x00",
		" obj_" + backend.ObjectID(hex64),
		".tmp-obj_" + backend.ObjectID(hex64),
		"objects",
		".",
		"..",
	}
}

func testInvalidID(t *testing.T, b backend.Backend) {
	keep := NewID(t)
	put(t, b, keep, []byte("existing"))
	hr, hasPrefix := b.(backend.HeaderReader)
	for _, id := range invalidIDs() {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			if id.Valid() {
				t.Fatalf("test bug: %q is valid", id)
			}
			err := b.Put(t.Context(), id, []byte(canary))
			if err == nil {
				t.Errorf("Put accepted invalid id")
			}
			noCanary(t, "Put", err)
			got, err := b.Get(t.Context(), id)
			if err == nil {
				t.Errorf("Get accepted invalid id and returned %d bytes", len(got))
			} else if errors.Is(err, backend.ErrNotFound) {
				t.Errorf("Get of invalid id wraps ErrNotFound (%v); it must refuse the id instead", err)
			}
			noCanary(t, "Get", err)
			existed, err := b.Delete(t.Context(), id)
			if err == nil || existed {
				t.Errorf("Delete of invalid id: existed %v, err %v; want an error", existed, err)
			}
			if hasPrefix {
				if got, err := hr.GetPrefix(t.Context(), id, 4); err == nil {
					t.Errorf("GetPrefix accepted invalid id and returned %d bytes", len(got))
				}
			}
		})
	}
	wantList(t, b, keep)
	mustGet(t, b, keep, []byte("existing"))
}

func testMaxSizeAccepted(t *testing.T, b backend.Backend) {
	max := b.MaxBlobSize()
	if max > MaxTestedBlobSize {
		t.Skipf("MaxBlobSize() = %d is over the %d bytes this suite allocates", max, MaxTestedBlobSize)
	}
	id := NewID(t)
	blob := pattern(max, 5)
	put(t, b, id, blob)
	mustGet(t, b, id, blob)
}

func testOverMaxSize(t *testing.T, b backend.Backend) {
	max := b.MaxBlobSize()
	if max > MaxTestedBlobSize {
		t.Skipf("MaxBlobSize() = %d is over the %d bytes this suite allocates", max, MaxTestedBlobSize)
	}
	big := bytes.Repeat([]byte(canary), (max+1)/len(canary)+1)[:max+1]

	// Over the limit on a new id: refused, nothing stored.
	fresh := NewID(t)
	err := b.Put(t.Context(), fresh, big)
	if !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("Put of MaxBlobSize()+1 = %d bytes: %v; want an error wrapping ErrTooLarge", max+1, err)
	}
	noCanary(t, "Put", err)
	if _, err := b.Get(t.Context(), fresh); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Get after a refused Put: %v; want ErrNotFound", err)
	}

	// Over the limit on an existing id: refused, old blob kept.
	old := NewID(t)
	put(t, b, old, []byte("small"))
	if err := b.Put(t.Context(), old, big); !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("Put of MaxBlobSize()+1 bytes over an existing blob: %v; want ErrTooLarge", err)
	}
	mustGet(t, b, old, []byte("small"))
	wantList(t, b, old)
}

func testConcurrent(t *testing.T, b backend.Backend) {
	const workers, rounds = 6, 4
	shared := NewID(t)
	sharedBlob := func(w, r int) []byte {
		// Lengths differ between writers, so a torn read cannot match.
		return bytes.Repeat([]byte(fmt.Sprintf("shared-w%d-r%d|", w, r)), 1+w*13+r)
	}
	valid := map[string]bool{"initial": true}
	for w := range workers {
		for r := range rounds {
			valid[string(sharedBlob(w, r))] = true
		}
	}
	put(t, b, shared, []byte("initial"))

	own := make([]backend.ObjectID, workers)
	last := make([][]byte, workers)
	for w := range own {
		own[w] = NewID(t)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				blob := pattern(50+w*31+r, byte(w*rounds+r))
				if err := b.Put(ctx, own[w], blob); err != nil {
					t.Errorf("worker %d: Put own: %v", w, err)
					return
				}
				got, err := b.Get(ctx, own[w])
				if err != nil || !bytes.Equal(got, blob) {
					t.Errorf("worker %d: Get own after Put: %d bytes, err %v; want the %d just written", w, len(got), err, len(blob))
					return
				}
				last[w] = blob
				if err := b.Put(ctx, shared, sharedBlob(w, r)); err != nil {
					t.Errorf("worker %d: Put shared: %v", w, err)
					return
				}
				got, err = b.Get(ctx, shared)
				if err != nil || !valid[string(got)] {
					t.Errorf("worker %d: Get shared: %d bytes that no writer wrote, err %v", w, len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for w := range workers {
		mustGet(t, b, own[w], last[w])
	}
	wantList(t, b, append(own, shared)...)
}

func testHeaderReader(t *testing.T, b backend.Backend) {
	hr, ok := b.(backend.HeaderReader)
	if !ok {
		t.Skipf("%s backend does not implement backend.HeaderReader", b.Kind())
	}
	id, empty := NewID(t), NewID(t)
	blob := pattern(100, 11)
	put(t, b, id, blob)
	put(t, b, empty, []byte{})
	tests := []struct {
		id   backend.ObjectID
		n    int
		want []byte
	}{
		{id, 0, []byte{}},
		{id, 1, blob[:1]},
		{id, 10, blob[:10]},
		{id, 100, blob},
		{id, 1000, blob},
		{empty, 10, []byte{}},
	}
	for _, tt := range tests {
		got, err := hr.GetPrefix(t.Context(), tt.id, tt.n)
		if err != nil {
			t.Fatalf("GetPrefix(n=%d): %v", tt.n, err)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("GetPrefix(n=%d) returned %d bytes, want the first %d of the blob", tt.n, len(got), len(tt.want))
		}
	}
	if _, err := hr.GetPrefix(t.Context(), NewID(t), 10); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("GetPrefix of a missing id: %v; want ErrNotFound", err)
	}
}

// EdgeNames are (scope, key) pairs at every edge of the naming grammar
// (docs/FORMAT.md): the longest scope of each form, ids with uppercase, '@',
// spaces, ':' and multi-byte UTF-8, keys that start with '.', '_' or '-' or
// are "." and "..". Backends never see names, only object IDs derived from
// them and envelopes holding them, so these check that the longest headers
// and their IDs pass through every store and its prefix reads intact.
func EdgeNames() [][2]string {
	id256 := strings.Repeat("Zé@ ", 64)[:254] + "ZZ" // cut after a whole 'é'
	return [][2]string{
		{"global", "openai_api_key"},
		{"principal:Alice Smith@Example.com", "_token"},
		{"principal:user:ops", "."},
		{"skill:Extractor", ".."},
		{"channel:Slack:T01 ops", "-"},
		{"principal:" + id256, strings.Repeat("k", secret.MaxKeyLen)},
		{"channel:" + id256 + ":" + id256, "." + strings.Repeat("z", secret.MaxKeyLen-1)},
		{strings.Repeat("a/", secret.MaxPathScopeLen/2-1) + "zz", "-" + strings.Repeat("_", secret.MaxKeyLen-1)},
	}
}

func testEdgeNames(t *testing.T, b backend.Backend) {
	var kek envelope.KEK
	if _, err := rand.Read(kek[:]); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ids := map[backend.ObjectID][2]string{}
	blobs := map[backend.ObjectID][]byte{}
	for i, n := range EdgeNames() {
		if err := secret.ValidateScope(n[0]); err != nil {
			t.Fatalf("edge name %d: %v", i, err)
		}
		value := []byte(fmt.Sprintf("%s-%d", canary, i))
		blob, err := envelope.Sealer{KEK: &kek}.Seal(envelope.Header{Scope: n[0], Key: n[1], Created: now, Updated: now}, value)
		if err != nil {
			t.Fatalf("edge name %d: sealing: %v", i, err)
		}
		id := envelope.ObjectID(n[0], n[1])
		if !id.Valid() {
			t.Fatalf("edge name %d: object id %q is not valid", i, id)
		}
		put(t, b, id, blob)
		t.Cleanup(func() { _, _ = b.Delete(context.Background(), id) })
		mustGet(t, b, id, blob)
		got, err := b.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if _, v, err := envelope.Open(&kek, n[0], n[1], got); err != nil || !bytes.Equal(v, value) {
			t.Fatalf("edge name %d: opening what the store returned: %v", i, err)
		}
		ids[id], blobs[id] = n, blob
	}
	stored := list(t, b)
	for id := range ids {
		if !slices.Contains(stored, id) {
			t.Errorf("List misses the object of edge name %q", ids[id])
		}
	}
	checkHeader := func(how string, id backend.ObjectID, prefix []byte) {
		t.Helper()
		h, _, err := envelope.ParseHeader(prefix)
		if err != nil || h.Scope != ids[id][0] || h.Key != ids[id][1] {
			t.Errorf("%s of edge name %q: header %q, %q, %v", how, ids[id], h.Scope, h.Key, err)
		}
	}
	if hr, ok := b.(backend.HeaderReader); ok {
		for id := range ids {
			p, err := hr.GetPrefix(t.Context(), id, envelope.MaxHeaderSize)
			if err != nil {
				t.Fatalf("GetPrefix: %v", err)
			}
			checkHeader("GetPrefix", id, p)
		}
	}
	if hl, ok := b.(backend.HeaderLister); ok {
		keep := func(p []byte) int {
			if _, n, err := envelope.ParseHeader(p); err == nil {
				return n
			}
			return len(p)
		}
		key := []byte("backendtest edge names")
		for pass := range 2 { // the second may come from a cache
			ps, err := hl.ListPrefixes(t.Context(), backend.PrefixQuery{Max: envelope.MaxHeaderSize, Keep: keep, CacheKey: key})
			if err != nil {
				t.Fatalf("ListPrefixes: %v", err)
			}
			seen := 0
			for _, p := range ps {
				if _, ok := ids[p.ID]; ok {
					seen++
					if p.Err != nil {
						t.Fatalf("ListPrefixes pass %d: %v", pass, p.Err)
					}
					checkHeader(fmt.Sprintf("ListPrefixes pass %d", pass), p.ID, p.Data)
				}
			}
			if seen != len(ids) {
				t.Errorf("ListPrefixes pass %d returned %d of the %d edge-name objects", pass, seen, len(ids))
			}
		}
	}
}
