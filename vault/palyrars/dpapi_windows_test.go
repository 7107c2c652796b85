//go:build windows

package palyrars_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/palyra/palyra-vault/vault/palyrars/rustfixture"
)

// TestDPAPIVaultReadsObjectsTheCrateWrote reads a vault on windows_dpapi
// whose objects_dpapi files, and the identity store key, the generator
// protected with the real DPAPI as the crate does (CryptProtectData for
// the current user). It runs on Windows and under Wine
// (scripts/wine-go-test.sh), where DPAPI works but is not bound to the
// user, so there it proves the format and the calls, not the binding.
func TestDPAPIVaultReadsObjectsTheCrateWrote(t *testing.T) {
	f := writeFixture(t, rustfixture.Options{Kind: "windows_dpapi", Secrets: sampleSecrets()})
	before := treeHash(t, filepath.Dir(f.VaultRoot))
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Kind() != backend.KindDPAPI {
		t.Fatalf("Kind() = %q", v.Kind())
	}
	for _, s := range sampleSecrets() {
		val, _, err := v.Get(context.Background(), s.Scope, s.Key)
		if err != nil {
			t.Fatalf("Get(%s, %s): %v", s.Scope, s.Key, err)
		}
		if !bytes.Equal(val.Reveal(), s.Value) {
			t.Errorf("%s/%s: value differs", s.Scope, s.Key)
		}
	}
	if treeHash(t, filepath.Dir(f.VaultRoot)) != before {
		t.Error("reading the Rust vault changed a file")
	}

	// A file that is not a DPAPI blob is named, the others still read.
	s := sampleSecrets()[1]
	p := filepath.Join(f.VaultRoot, "objects_dpapi", rustfixture.ObjectID(s.Scope, s.Key))
	if err := os.WriteFile(p, []byte("not a DPAPI blob"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := v.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer palyrars.WipeRecords(recs)
	for _, r := range recs {
		broken := r.Entry.Scope == s.Scope && r.Entry.Key == s.Key
		if broken != (r.Err != nil) {
			t.Errorf("%s: err = %v (broken: %v)", r.Entry.Ref(), r.Err, broken)
		}
	}
}

func TestDPAPIVaultWithAnotherIdentityStoreReadsNothing(t *testing.T) {
	f := writeFixture(t, rustfixture.Options{Kind: "windows_dpapi", Secrets: sampleSecrets()})
	other := writeFixture(t, rustfixture.Options{})
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot, IdentityStore: other.IdentityStore})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.ReadAll(context.Background()); !errors.Is(err, palyrars.ErrNoKey) {
		t.Errorf("ReadAll with another installation's identity = %v, want ErrNoKey", err)
	}
}
