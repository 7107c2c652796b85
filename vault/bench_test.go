package vault

// Benchmarks of Put, Get, List and Delete at 100 and 10 000 secrets, each
// beside its floor, the least any design could spend on the same work:
//
//	BenchmarkFloor/durable-write  one fsutil.WriteFileAtomic (temp file, write,
//	                              fsync, rename, directory fsync) of a file of
//	                              the envelope's size, in a directory of n files;
//	                              the floor of Put and of Delete's restore-free cost
//	BenchmarkFloor/durable-write-raw  the same with bare system calls (open of
//	                              a new temp file, write, fsync, close, rename,
//	                              open of the directory, fsync, close), nothing
//	                              of this module's code: the floor Put's target
//	                              is set against
//	BenchmarkFloor/read+open      one os.ReadFile of such a file, in a directory
//	                              of n files, plus one AES-256-GCM open (cipher set
//	                              up included, as every secret has its own key);
//	                              the floor of Get
//
// bench/run.sh runs them and prints the ratios docs/PERFORMANCE.md reports.
// Nothing here asserts a duration: speed is measured, never tested.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// benchSizes are the numbers of secrets the benchmarks run at.
var benchSizes = []int{100, 1_000, 10_000}

// benchValueSize is the size of every benchmark secret: an API key or token
// with room to spare.
const benchValueSize = 256

// benchStride visits the secrets in a scattered order; it is prime, so
// coprime with every size in benchSizes and every index comes up.
const benchStride = 7919

// benchFixture is a vault holding n secrets, and a directory of n files of
// the same size for the floors. It is built once per process and size, and
// shared by every benchmark at that size; TestMain removes it. When
// $PALYRA_VAULT_BENCH_DIR names a directory, fixtures live there instead and
// are kept, and a later process reuses them: bench/run.sh builds them once,
// lets the disk settle, and then runs the benchmarks in several processes
// without paying (or being disturbed by) 20 000 fresh durable writes each.
type benchFixture struct {
	cfg      Config
	refs     []Ref
	blobs    [][]byte // the envelope of refs[i] as first stored
	floorDir string   // n files "f00000"...: nonce || AES-256-GCM sealed bytes
	floorKey [32]byte
}

var (
	fixturesMu  sync.Mutex
	fixtures    = map[int]*benchFixture{}
	fixtureDirs []string
)

// removeBenchFixtures deletes every fixture directory; TestMain calls it.
func removeBenchFixtures() {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	for _, d := range fixtureDirs {
		_ = os.RemoveAll(d)
	}
}

// benchValue returns a random value of benchValueSize bytes.
func benchValue() []byte {
	v := make([]byte, benchValueSize)
	_, _ = rand.Read(v)
	return v
}

// benchRefs names n secrets whose envelopes all have the same size.
func benchRefs(n int) []Ref {
	refs := make([]Ref, n)
	for i := range refs {
		refs[i] = Ref{Scope: "bench", Key: fmt.Sprintf("key-%05d", i)}
	}
	return refs
}

// fixture returns the fixture for n secrets, building it on first use.
func fixture(tb testing.TB, n int) *benchFixture {
	tb.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f := fixtures[n]; f != nil {
		return f
	}
	var dir string
	if base := os.Getenv("PALYRA_VAULT_BENCH_DIR"); base != "" {
		dir = filepath.Join(base, "n="+strconv.Itoa(n))
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "palyra-vault-bench-"); err != nil {
			tb.Fatal(err)
		}
		fixtureDirs = append(fixtureDirs, dir)
	}
	f := &benchFixture{
		cfg:      Config{Root: filepath.Join(dir, "state", "vault"), StateRoot: filepath.Join(dir, "state"), Backend: backend.KindEncryptedFile},
		refs:     benchRefs(n),
		floorDir: filepath.Join(dir, "floor"),
	}
	complete, keyFile := filepath.Join(dir, "complete"), filepath.Join(dir, "floor.key")
	ctx := context.Background()
	if _, err := os.Stat(complete); err == nil {
		f.load(tb, keyFile)
		fixtures[n] = f
		return f
	}
	if err := os.RemoveAll(dir); err != nil { // a partial fixture
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	v, err := Open(ctx, f.cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer v.Close()
	// Seal here and store through the backend, which writes durably like
	// Put; several writers at once let the file system batch the fsyncs,
	// which makes 10 000 of them affordable.
	now := time.Now().UTC()
	f.blobs = make([][]byte, n)
	kek := activeKEK(tb, v)
	for i, r := range f.refs {
		if f.blobs[i], err = (envelope.Sealer{KEK: kek}).Seal(envelope.Header{Scope: r.Scope, Key: r.Key, Created: now, Updated: now}, benchValue()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := parallel(n, func(i int) error {
		return v.backend.Put(ctx, envelope.ObjectID(f.refs[i].Scope, f.refs[i].Key), f.blobs[i])
	}); err != nil {
		tb.Fatal(err)
	}
	if err := os.Mkdir(f.floorDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	_, _ = rand.Read(f.floorKey[:])
	floor := floorBlob(tb, &f.floorKey, len(f.blobs[0]))
	if err := parallel(n, func(i int) error {
		return fsutil.WriteFileAtomic(f.floorFile(i), floor, 0o600)
	}); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, f.floorKey[:], 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(complete, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	fixtures[n] = f
	return f
}

// load reads a fixture a previous process built: the floor key and the
// envelope of every secret.
func (f *benchFixture) load(tb testing.TB, keyFile string) {
	tb.Helper()
	key, err := os.ReadFile(keyFile)
	if err != nil || len(key) != len(f.floorKey) {
		tb.Fatalf("reading bench fixture key %s: %d bytes, %v", keyFile, len(key), err)
	}
	copy(f.floorKey[:], key)
	ctx := context.Background()
	v, err := Open(ctx, f.cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer v.Close()
	f.blobs = make([][]byte, len(f.refs))
	for i, r := range f.refs {
		if f.blobs[i], err = v.backend.Get(ctx, envelope.ObjectID(r.Scope, r.Key)); err != nil {
			tb.Fatalf("bench fixture %s is incomplete: %v", f.cfg.Root, err)
		}
	}
}

// parallel runs do(0..n-1) on 16 goroutines and returns the first error.
func parallel(n int, do func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for g := range errs {
		wg.Go(func() {
			for i := g; i < n && errs[g] == nil; i += len(errs) {
				errs[g] = do(i)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// floorBlob returns size bytes: a nonce and an AES-256-GCM sealed random
// plaintext under key.
func floorBlob(tb testing.TB, key *[32]byte, size int) []byte {
	tb.Helper()
	gcm := newBenchGCM(tb, key)
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	plain := make([]byte, size-len(nonce)-gcm.Overhead())
	_, _ = rand.Read(plain)
	return gcm.Seal(nonce, nonce, plain, nil)
}

func newBenchGCM(tb testing.TB, key *[32]byte) cipher.AEAD {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		tb.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		tb.Fatal(err)
	}
	return gcm
}

func (f *benchFixture) floorFile(i int) string {
	return filepath.Join(f.floorDir, fmt.Sprintf("f%05d", i))
}

// index is the i-th index of the scattered visiting order.
func (f *benchFixture) index(i int) int { return i * benchStride % len(f.refs) }

// open opens the fixture's vault for one benchmark.
func (f *benchFixture) open(b *testing.B) *Vault {
	b.Helper()
	v, err := Open(context.Background(), f.cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	return v
}

// eachSize runs bench as a sub-benchmark "n=<size>" for every benchSizes.
func eachSize(b *testing.B, prefix string, bench func(b *testing.B, f *benchFixture)) {
	for _, n := range benchSizes {
		b.Run(prefix+"n="+strconv.Itoa(n), func(b *testing.B) { bench(b, fixture(b, n)) })
	}
}

func BenchmarkPut(b *testing.B) {
	eachSize(b, "", func(b *testing.B, f *benchFixture) {
		v, value, ctx := f.open(b), benchValue(), context.Background()
		i := 0
		for b.Loop() {
			r := f.refs[f.index(i)]
			i++
			if _, err := v.Put(ctx, r.Scope, r.Key, value); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGet(b *testing.B) {
	eachSize(b, "", func(b *testing.B, f *benchFixture) {
		v, ctx := f.open(b), context.Background()
		i := 0
		for b.Loop() {
			r := f.refs[f.index(i)]
			i++
			s, _, err := v.Get(ctx, r.Scope, r.Key)
			if err != nil || s.Len() != benchValueSize {
				b.Fatalf("Get(%s): %d bytes, %v", r, s.Len(), err)
			}
			s.Wipe()
		}
	})
}

// BenchmarkList lists every secret when nothing changed since the last
// List: the header cache answers. Besides ns/op it reports ns/secret, the
// number to compare across sizes.
func BenchmarkList(b *testing.B) {
	benchList(b, func(*testing.B, *benchFixture) {}, true)
}

// BenchmarkListCold lists every secret with no header cache (as after
// every object changed): List reads every header and writes a new cache.
func BenchmarkListCold(b *testing.B) {
	benchList(b, func(b *testing.B, f *benchFixture) {
		b.StopTimer()
		if err := os.Remove(filepath.Join(f.cfg.Root, filestore.CacheFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.Fatal(err)
		}
		b.StartTimer()
	}, true)
}

// BenchmarkListUncached lists every secret the way List did before the
// header cache: one directory read, then one header read per object.
func BenchmarkListUncached(b *testing.B) {
	benchList(b, func(*testing.B, *benchFixture) {}, false)
}

func benchList(b *testing.B, before func(*testing.B, *benchFixture), cache bool) {
	eachSize(b, "", func(b *testing.B, f *benchFixture) {
		v, ctx := f.open(b), context.Background()
		if !cache {
			v.uncachedList = true // no cache: listPrefixes reads every object
		}
		if _, err := v.List(ctx, ""); err != nil { // a warm cache for BenchmarkList
			b.Fatal(err)
		}
		var list []Metadata
		var err error
		for b.Loop() {
			before(b, f)
			if list, err = v.List(ctx, ""); err != nil || len(list) != len(f.refs) {
				b.Fatalf("List: %d secrets, %v; want %d", len(list), err, len(f.refs))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(f.refs)), "ns/secret")
	})
}

// BenchmarkDelete deletes an existing secret per iteration and, with the
// timer stopped, stores it again (durably, through the backend), so every
// iteration deletes a real object from a directory of n.
func BenchmarkDelete(b *testing.B) {
	eachSize(b, "", func(b *testing.B, f *benchFixture) {
		v, ctx := f.open(b), context.Background()
		i := 0
		for b.Loop() {
			k := f.index(i)
			r := f.refs[k]
			i++
			if existed, err := v.Delete(ctx, r.Scope, r.Key); err != nil || !existed {
				b.Fatalf("Delete(%s): existed %v, %v", r, existed, err)
			}
			b.StopTimer()
			if err := v.backend.Put(ctx, envelope.ObjectID(r.Scope, r.Key), f.blobs[k]); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

func BenchmarkFloor(b *testing.B) {
	eachSize(b, "durable-write/", func(b *testing.B, f *benchFixture) {
		data := floorBlob(b, &f.floorKey, len(f.blobs[0]))
		i := 0
		for b.Loop() {
			if err := fsutil.WriteFileAtomic(f.floorFile(f.index(i)), data, 0o600); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	eachSize(b, "durable-write-raw/", func(b *testing.B, f *benchFixture) {
		data := floorBlob(b, &f.floorKey, len(f.blobs[0]))
		i := 0
		for b.Loop() {
			if err := rawDurableWrite(f.floorFile(f.index(i)), data); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	eachSize(b, "read+open/", func(b *testing.B, f *benchFixture) {
		i := 0
		for b.Loop() {
			data, err := os.ReadFile(f.floorFile(f.index(i)))
			if err != nil {
				b.Fatal(err)
			}
			i++
			gcm := newBenchGCM(b, &f.floorKey)
			n := gcm.NonceSize()
			plain, err := gcm.Open(nil, data[:n], data[n:], nil)
			if err != nil {
				b.Fatal(err)
			}
			clear(plain)
		}
	})
}

// countingBackend counts the reads the vault makes of its backend.
type countingBackend struct {
	backend.Backend
	mu                        sync.Mutex
	gets, prefixes, prefixLen int
}

func (c *countingBackend) Get(ctx context.Context, id backend.ObjectID) ([]byte, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.Backend.Get(ctx, id)
}

func (c *countingBackend) GetPrefix(ctx context.Context, id backend.ObjectID, n int) ([]byte, error) {
	c.mu.Lock()
	c.prefixes++
	c.prefixLen = n
	c.mu.Unlock()
	return c.Backend.(backend.HeaderReader).GetPrefix(ctx, id, n)
}

// processReadBytes returns the bytes this process has read through read(2)
// and its kin (rchar in /proc/self/io), or false where there is no such file.
func processReadBytes(t *testing.T) (int64, bool) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("/proc/self/io: %v", err)
			}
			return n, true
		}
	}
	t.Fatal("/proc/self/io has no rchar line")
	return 0, false
}

// TestListOf10000SecretsReadsOnlyHeaders stores 10 000 secrets of 4 KiB
// whose ciphertext is damaged (headers intact) and lists them. List must
// return all of them without error, so it authenticated no value; it must
// ask the backend for header-sized prefixes only; and, on Linux, the process
// must read from disk about one header per secret, a tenth of the data.
func TestListOf10000SecretsReadsOnlyHeaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/io, which only Linux has (and under Wine it takes minutes)")
	}
	const n, size = 10_000, 4 << 10
	cfg := testConfig(t)
	v := openTest(t, cfg)
	ctx := context.Background()
	objects := filepath.Join(cfg.Root, filestore.ObjectsDir)
	now := time.Now().UTC()
	value := bytes.Repeat([]byte{'x'}, size)
	var total int64
	kek := activeKEK(t, v)
	for _, r := range benchRefs(n) {
		blob, err := (envelope.Sealer{KEK: kek}).Seal(envelope.Header{Scope: r.Scope, Key: r.Key, Created: now, Updated: now}, value)
		if err != nil {
			t.Fatal(err)
		}
		blob[len(blob)-1] ^= 1 // damage the value's authentication tag
		// Durability is beside the point here: plain writes keep it fast.
		if err := os.WriteFile(filepath.Join(objects, string(envelope.ObjectID(r.Scope, r.Key))), blob, 0o600); err != nil {
			t.Fatal(err)
		}
		total += int64(len(blob))
	}
	if _, _, err := v.Get(ctx, "bench", "key-00042"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a damaged secret: %v, want ErrCorrupt (the damage must be real)", err)
	}

	counter := &countingBackend{Backend: v.backend}
	v.backend = counter
	before, haveIO := processReadBytes(t)
	list, err := v.List(ctx, "")
	after, _ := processReadBytes(t)
	if err != nil || len(list) != n {
		t.Fatalf("List with damaged values: %d secrets, %v; want %d, no error", len(list), err, n)
	}
	if counter.gets != 0 || counter.prefixes != n || counter.prefixLen > envelope.MaxHeaderSize {
		t.Fatalf("List made %d whole-object reads and %d prefix reads of %d bytes; want 0, %d of at most %d",
			counter.gets, counter.prefixes, counter.prefixLen, n, envelope.MaxHeaderSize)
	}
	if haveIO {
		limit := int64(n*envelope.MaxHeaderSize + 1<<20)
		if read := after - before; read > limit {
			t.Fatalf("List of %d secrets (%d bytes on disk) read %d bytes; want at most %d (one header each plus 1 MiB)", n, total, read, limit)
		}
		t.Logf("List read %d bytes of %d on disk", after-before, total)
	}
}

// pairedTimes collects the durations of two operations run alternately and
// reports their medians and the ratio of the medians: on a machine whose
// disk latency drifts, the pair sees the same disk at the same moment.
type pairedTimes struct{ a, b []time.Duration }

// time runs first and second in the order that alternates with i, timing
// each.
func (p *pairedTimes) time(i int, first, second func()) {
	ops := [2]func(){first, second}
	out := [2]*[]time.Duration{&p.a, &p.b}
	for k := range 2 {
		j := (i + k) % 2
		t := time.Now()
		ops[j]()
		*out[j] = append(*out[j], time.Since(t))
	}
}

func (p *pairedTimes) report(b *testing.B, nameA, nameB string) {
	med := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2])
	}
	ma, mb := med(p.a), med(p.b)
	b.ReportMetric(ma, nameA+"-ns")
	b.ReportMetric(mb, nameB+"-ns")
	b.ReportMetric(ma/mb, nameA+"/"+nameB)
}

// BenchmarkPutPaired alternates a Put and a bare-syscall durable write
// (Floor/durable-write-raw) operation by operation and reports the median
// of each and their ratio, the figure Put's 1.3× target is judged by.
func BenchmarkPutPaired(b *testing.B) {
	eachSize(b, "", func(b *testing.B, f *benchFixture) {
		v, value, ctx := f.open(b), benchValue(), context.Background()
		data := floorBlob(b, &f.floorKey, len(f.blobs[0]))
		var p pairedTimes
		i := 0
		for b.Loop() {
			r, k := f.refs[f.index(i)], f.index(i)
			p.time(i, func() {
				if _, err := v.Put(ctx, r.Scope, r.Key, value); err != nil {
					b.Fatal(err)
				}
			}, func() {
				if err := rawDurableWrite(f.floorFile(k), data); err != nil {
					b.Fatal(err)
				}
			})
			i++
		}
		p.report(b, "put", "floor")
	})
}

// BenchmarkListPaired alternates a List with no header cache (it is
// deleted first, outside the timing) and a List that uses none, and
// reports the median of each and their ratio: what the cache costs when
// everything changed.
func BenchmarkListPaired(b *testing.B) {
	eachSize(b, "", func(b *testing.B, f *benchFixture) {
		v, ctx := f.open(b), context.Background()
		cache := filepath.Join(f.cfg.Root, filestore.CacheFile)
		list := func() {
			if l, err := v.List(ctx, ""); err != nil || len(l) != len(f.refs) {
				b.Fatalf("List: %d secrets, %v", len(l), err)
			}
		}
		var p pairedTimes
		i := 0
		for b.Loop() {
			if err := os.Remove(cache); err != nil && !errors.Is(err, os.ErrNotExist) {
				b.Fatal(err)
			}
			p.time(i, func() { v.uncachedList = false; list() }, func() { v.uncachedList = true; list() })
			i++
		}
		v.uncachedList = false
		p.report(b, "cold", "uncached")
	})
}
