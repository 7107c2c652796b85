package vault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend/backendtest"
)

// TestEdgeNamesStoreListAndDelete runs every edge name of the grammar
// through the vault on the file store: stored, read, listed by scope with
// their exact names, and deleted; and checks that the file store names its
// files by object ID only, so keys like ".." or "-" and scopes holding
// spaces never reach the file system as names.
func TestEdgeNamesStoreListAndDelete(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	v := openTest(t, cfg)
	names := backendtest.EdgeNames()
	for i, n := range names {
		mustPut(t, v, n[0], n[1], "v"+strings.Repeat("x", i))
	}
	for i, n := range names {
		if got := mustGet(t, v, n[0], n[1]); got != "v"+strings.Repeat("x", i) {
			t.Fatalf("Get(%q, %q) = %q", n[0], n[1], got)
		}
		ms, err := v.List(ctx, n[0])
		if err != nil || len(ms) != 1 || ms[0].Scope != n[0] || ms[0].Key != n[1] || ms[0].Size != i+1 {
			t.Fatalf("List(%q) = %+v, %v; want exactly the one secret", n[0], ms, err)
		}
	}
	all, err := v.List(ctx, "")
	if err != nil || len(all) != len(names) {
		t.Fatalf("List() = %d secrets, %v; want %d", len(all), err, len(names))
	}
	entries, err := os.ReadDir(filepath.Join(cfg.Root, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "obj_") || len(e.Name()) != 68 {
			t.Errorf("object directory holds %q, not an object ID", e.Name())
		}
	}
	for _, n := range names {
		if ok, err := v.Delete(ctx, n[0], n[1]); !ok || err != nil {
			t.Fatalf("Delete(%q, %q) = %v, %v", n[0], n[1], ok, err)
		}
	}
	if all, err := v.List(ctx, ""); err != nil || len(all) != 0 {
		t.Fatalf("after deleting all: %+v, %v", all, err)
	}
}

// TestNonCanonicalScopesAreRefusedAndChangeNothing checks that the library
// takes scopes in canonical form only (the CLI, references and the
// configuration canonicalise input with secret.ParseScope first), so that
// one secret never has two names, and that a refusal writes nothing.
func TestNonCanonicalScopesAreRefusedAndChangeNothing(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	before := hashTree(t, cfg.Root)
	for _, scope := range []string{"GLOBAL", " global", "principal: Alice", "principal:Alice ", "channel:Slack: T01", "principal:a\tb", "principal:" + strings.Repeat("a", 257)} {
		if _, err := v.Put(ctx, scope, "k", []byte("x")); !errors.Is(err, ErrInvalidScope) {
			t.Errorf("Put(%q) = %v, want ErrInvalidScope", scope, err)
		}
		if _, _, err := v.Get(ctx, scope, "k"); !errors.Is(err, ErrInvalidScope) {
			t.Errorf("Get(%q) = %v, want ErrInvalidScope", scope, err)
		}
	}
	if after := hashTree(t, cfg.Root); after != before {
		t.Fatal("a refused name changed the vault on disk")
	}
}
