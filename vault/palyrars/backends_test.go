package palyrars_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil/fakesecurity"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/palyra/palyra-vault/vault/palyrars/rustfixture"
)

func TestMain(m *testing.M) {
	// The keychain tests run this binary as fake-security.
	fakesecurity.RunIfFake()
	os.Exit(m.Run())
}

// TestKeychainVaultReadsItemsTheCrateWrote reads a vault on
// macos_keychain whose items the fixture generator wrote as the crate does
// (security add-generic-password -U -a <id> -s palyra.vault.v1 -w, the
// payload on stdin). The security tool is a fake (fakesecurity): the real
// one exists on macOS only, so this proves the reader speaks the crate's
// protocol as far as the fake models the tool.
func TestKeychainVaultReadsItemsTheCrateWrote(t *testing.T) {
	fake := fakesecurity.New(t)
	f := writeFixture(t, rustfixture.Options{Kind: "macos_keychain", Secrets: sampleSecrets(), SecurityPath: fake.Path})
	items := fake.Items(t)
	if len(items) != len(sampleSecrets()) {
		t.Fatalf("the generator wrote %d keychain items, want %d", len(items), len(sampleSecrets()))
	}
	writes := len(fake.Calls(t))
	before := treeHash(t, filepath.Dir(f.VaultRoot))

	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot, SecurityPath: fake.Path})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Kind() != backend.KindKeychain {
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
	recs, err := v.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Err != nil {
			t.Errorf("ReadAll %s: %v", r.Entry.Ref(), r.Err)
		}
	}
	palyrars.WipeRecords(recs)

	// Only reads, each the crate's own command line, nothing on stdin.
	for _, c := range fake.Calls(t)[writes:] {
		if len(c.Argv) != 7 || c.Argv[1] != "find-generic-password" || c.Argv[2] != "-w" || c.Argv[5] != "-s" || c.Argv[6] != palyrars.ServiceName || len(c.Stdin) != 0 {
			t.Errorf("the reader ran %q with stdin %q, want only find-generic-password -w -a <id> -s %s", c.Argv, c.Stdin, palyrars.ServiceName)
		}
	}
	if !slices.Equal(fake.Items(t), items) {
		t.Error("reading the Rust vault changed a keychain item")
	}
	if treeHash(t, filepath.Dir(f.VaultRoot)) != before {
		t.Error("reading the Rust vault changed a file")
	}

	// A missing item is named, as the crate's "could not be found".
	s := sampleSecrets()[0]
	fake.DeleteRaw(t, palyrars.ServiceName, rustfixture.ObjectID(s.Scope, s.Key))
	v2, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot, SecurityPath: fake.Path})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if _, _, err := v2.Get(context.Background(), s.Scope, s.Key); !errors.Is(err, palyrars.ErrNotFound) || !strings.Contains(err.Error(), "no keychain item") {
		t.Errorf("Get of a deleted item = %v, want ErrNotFound naming the keychain item", err)
	}
}

func TestKeychainVaultWithAnotherIdentityStoreReadsNothing(t *testing.T) {
	fake := fakesecurity.New(t)
	f := writeFixture(t, rustfixture.Options{Kind: "macos_keychain", Secrets: sampleSecrets(), SecurityPath: fake.Path})
	other := writeFixture(t, rustfixture.Options{})
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot, IdentityStore: other.IdentityStore, SecurityPath: fake.Path})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.ReadAll(context.Background()); !errors.Is(err, palyrars.ErrNoKey) {
		t.Errorf("ReadAll with another installation's identity = %v, want ErrNoKey", err)
	}
}
