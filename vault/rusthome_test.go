package vault

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/palyra/palyra-vault/vault/palyrars/rustfixture"
)

func rustFixture(t *testing.T, stateRoot string) rustfixture.Fixture {
	t.Helper()
	f, err := rustfixture.Write(rustfixture.Options{StateRoot: stateRoot, Secrets: []rustfixture.Secret{
		{Scope: "global", Key: "openai_api_key", Value: []byte("sk-rust"), Created: 1700000000123},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTheRustPalyraRefusesANewVault(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "1")
	for _, goos := range []string{"linux", "darwin", "windows"} {
		if k, err := rustfixture.RustSelectBackend(cfg.Root, goos); err == nil {
			t.Errorf("the crate on %s would adopt our vault as %q", goos, k)
		}
	}
}

func TestLegacyMarkerIsRewrittenOnceAndTheVaultKeepsOpening(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "1")
	v.Close()
	marker := filepath.Join(cfg.Root, markerFile)
	// A vault made before the marker changed.
	if err := os.WriteFile(marker, []byte("encrypted_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rustfixture.RustSelectBackend(cfg.Root, "linux"); err != nil {
		t.Fatalf("the legacy marker should be one the crate accepts (the reason for the rewrite): %v", err)
	}
	v = openTest(t, cfg)
	if got, _, err := v.Get(context.Background(), "global", "a"); err != nil || string(got.Reveal()) != "1" {
		t.Fatalf("Get after the rewrite = %v", err)
	}
	b, _ := os.ReadFile(marker)
	if string(b) != "palyra-vault:encrypted_file\n" {
		t.Fatalf("marker = %q, want the current form", b)
	}
	if _, err := rustfixture.RustSelectBackend(cfg.Root, "linux"); err == nil {
		t.Fatal("the crate still accepts the rewritten marker")
	}
	fi1, _ := os.Stat(marker)
	openTest(t, cfg)
	fi2, _ := os.Stat(marker)
	if !fi1.ModTime().Equal(fi2.ModTime()) || !os.SameFile(fi1, fi2) {
		t.Error("a second Open rewrote the marker again")
	}
}

func TestOpenRefusesARustVaultAndChangesNothing(t *testing.T) {
	dir := testutil.TempDir(t)
	f := rustFixture(t, filepath.Join(dir, "rs"))
	before := hashTree(t, filepath.Join(dir, "rs"))
	cfg := testConfig(t)
	cfg.Root = f.VaultRoot
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrRustVault) || !strings.Contains(err.Error(), "import-palyra --from "+f.VaultRoot) {
		t.Fatalf("Open(Rust vault) = %v, want ErrRustVault naming the import command", err)
	}
	if hashTree(t, filepath.Join(dir, "rs")) != before {
		t.Fatal("opening a Rust vault as ours changed it")
	}
}

func TestDefaultRootMovesBesideARustVault(t *testing.T) {
	state := filepath.Join(testutil.TempDir(t), "state")
	f := rustFixture(t, state)
	before := hashTree(t, f.VaultRoot)
	cfg := Config{StateRoot: state, Backend: backend.KindEncryptedFile}
	_, root, err := Paths(cfg)
	if err != nil || root != filepath.Join(state, RustNeighbourVaultDir) {
		t.Fatalf("Paths = %q, %v; want %s", root, err, filepath.Join(state, RustNeighbourVaultDir))
	}
	v := openTest(t, cfg)
	if v.Info().Root != root {
		t.Fatalf("Open used %s", v.Info().Root)
	}
	mustPut(t, v, "global", "openai_api_key", "ours")
	if hashTree(t, f.VaultRoot) != before {
		t.Fatal("our vault wrote into the Rust vault's directory")
	}
	rv, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer rv.Close()
	if got, _, err := rv.Get(context.Background(), "global", "openai_api_key"); err != nil || !bytes.Equal(got.Reveal(), []byte("sk-rust")) {
		t.Fatalf("the Rust vault no longer reads: %v", err)
	}
}

// A directory of ours that the crate opened before our marker changed
// (it merged our objects into its store and wrote metadata.json) is still
// ours: it opens, and its marker is rewritten so that the crate refuses
// it from then on.
func TestADirectoryTheCrateAbsorbedStaysOurs(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "1")
	v.Close()
	marker := filepath.Join(cfg.Root, markerFile)
	os.WriteFile(marker, []byte("encrypted_file"), 0o600)
	os.WriteFile(filepath.Join(cfg.Root, "metadata.json"), []byte(`{"version":1,"entries":[]}`), 0o600)
	os.WriteFile(filepath.Join(cfg.Root, "objects", "objects.store.json"), []byte(`{}`), 0o600)
	if palyrars.IsVault(cfg.Root) {
		t.Fatal("IsVault(our directory with vault.id) = true")
	}
	v = openTest(t, cfg)
	if got, _, err := v.Get(context.Background(), "global", "a"); err != nil || string(got.Reveal()) != "1" {
		t.Fatalf("Get = %v", err)
	}
	if _, err := rustfixture.RustSelectBackend(cfg.Root, "linux"); err == nil {
		t.Fatal("the crate still accepts the directory")
	}
}
