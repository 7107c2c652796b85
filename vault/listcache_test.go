package vault

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
)

// freshList lists v with the header cache out of the way, reading every
// object file, and puts the cache back.
func freshList(t *testing.T, v *Vault) []Metadata {
	t.Helper()
	cache := filepath.Join(v.info.Root, filestore.CacheFile)
	aside := cache + ".aside"
	if err := os.Rename(cache, aside); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	v.uncachedList = true // no cache read or written
	list, err := v.List(context.Background(), "")
	v.uncachedList = false
	if err != nil {
		t.Fatalf("List without the cache: %v", err)
	}
	_ = os.Rename(aside, cache)
	return list
}

// checkListMatchesFiles fails unless List (through the cache) returns what
// a reading of every object file returns.
func checkListMatchesFiles(t *testing.T, v *Vault, what string) {
	t.Helper()
	got, err := v.List(context.Background(), "")
	if err != nil {
		t.Fatalf("%s: List: %v", what, err)
	}
	if want := freshList(t, v); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: List through the cache returned %d secrets, a fresh read %d:\n got %v\nwant %v", what, len(got), len(want), got, want)
	}
}

func TestListCacheOfAnotherVaultUnderTheSameDeviceKeyIsIgnored(t *testing.T) {
	if !fsutil.StampsSupported {
		t.Skip("no header cache on this platform (it needs inode change times, see fsutil.StampsSupported)")
	}
	a := testConfig(t)
	b := a
	b.Root = filepath.Join(filepath.Dir(a.Root), "other")
	va, vb := openTest(t, a), openTest(t, b)
	ctx := context.Background()
	for i := range 5 {
		mustPut(t, va, "a", fmt.Sprintf("k%d", i), "in a")
		mustPut(t, vb, "b", fmt.Sprintf("k%d", i), "in b")
	}
	if *activeKEK(t, va) != *activeKEK(t, vb) {
		t.Fatal("the two vaults should share the device key")
	}
	if bytes.Equal(va.listCacheKey(), vb.listCacheKey()) {
		t.Fatal("two vaults under one device key check their header caches with the same key")
	}
	checkListMatchesFiles(t, va, "a")
	data, err := os.ReadFile(filepath.Join(a.Root, filestore.CacheFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Root, filestore.CacheFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := vb.List(ctx, "")
	if err != nil || len(list) != 5 || list[0].Scope != "b" {
		t.Fatalf("List of b with a's cache: %v, %v; want b's 5 secrets", list, err)
	}
	checkListMatchesFiles(t, vb, "b")
}

func init() { childRoles["lister"] = listerChild }

// listerChild lists the vault over and over, removing the header cache
// before every other listing so that it keeps writing a new one, and
// prints "listed <n>" after each, until it is killed.
func listerChild() int {
	ctx := context.Background()
	v, err := Open(ctx, childConfig())
	if err != nil {
		emit("error opening: %v", err)
		return 1
	}
	for i := 0; ; i++ {
		if i%2 == 0 {
			_ = os.Remove(filepath.Join(v.info.Root, filestore.CacheFile))
		}
		list, err := v.List(ctx, "")
		if err != nil {
			emit("error %v", err)
			return 1
		}
		emit("listed %d", len(list))
	}
}

// TestKillNineWhileWritingTheListCacheLeavesAListThatMatchesTheFiles kills
// processes that keep rebuilding the header cache at random moments, with
// a writer changing secrets in between, and checks after each kill that
// List still returns exactly what the object files hold, and that the next
// writer removes what the killed process left behind.
func TestKillNineWhileWritingTheListCacheLeavesAListThatMatchesTheFiles(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	for i := range 300 {
		mustPut(t, v, "kill", fmt.Sprintf("k%03d", i), "v0")
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range 8 {
		c := startChild(t, "lister", "lister", cfg)
		c.expect(t, "listed 300")
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond) // a random moment, not a timing assertion
		if err := c.cmd.Process.Kill(); err != nil {                   // SIGKILL on Unix
			t.Fatal(err)
		}
		c.wait()
		checkListMatchesFiles(t, v, fmt.Sprintf("round %d, after the kill", round))
		mustPut(t, v, "kill", fmt.Sprintf("k%03d", rng.IntN(300)), fmt.Sprintf("v%d", round+1))
		checkListMatchesFiles(t, v, fmt.Sprintf("round %d, after a write", round))
	}
	// A new writer handle removes leftover cache temps on its first write.
	w := openTest(t, cfg)
	mustPut(t, w, "kill", "k000", "last")
	entries, err := os.ReadDir(cfg.Root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), fsutil.TempPrefix) {
			t.Errorf("%s left in the vault root after a writer's first write", e.Name())
		}
	}
	checkListMatchesFiles(t, v, "at the end")
}
