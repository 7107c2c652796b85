package palyrars_test

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/internal/testutil/secretservicetest"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/palyra/palyra-vault/vault/palyrars/rustfixture"
	"golang.org/x/crypto/chacha20poly1305"
)

// sampleSecrets cover every scope kind the crate writes, ids our path
// grammar would refuse but the Palyra grammar takes, an empty-ish and a
// binary value, and fixed times.
func sampleSecrets() []rustfixture.Secret {
	return []rustfixture.Secret{
		{Scope: "global", Key: "openai_api_key", Value: []byte("sk-test-123"), Created: 1700000000123, Updated: 1700000500456},
		{Scope: "principal:Alice@Example.com", Key: "token", Value: []byte{0, 1, 2, 0xff, '\n'}, Created: 1700000001000, Updated: 1700000001000},
		{Scope: "channel:slack:acct-1", Key: "bot.token", Value: bytes.Repeat([]byte("x"), 4096), Created: 1700000002000, Updated: 1700000003000},
		{Scope: "skill:extractor", Key: "-dash", Value: []byte("v"), Created: 1700000004000, Updated: 1700000004000},
	}
}

func writeFixture(t *testing.T, opts rustfixture.Options) rustfixture.Fixture {
	t.Helper()
	if opts.StateRoot == "" {
		opts.StateRoot = testutil.TempDir(t)
	}
	f, err := rustfixture.Write(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// treeHash hashes every path, mode and content under the roots, so that
// a test can prove nothing was created, changed or chmodded.
func treeHash(t *testing.T, roots ...string) string {
	t.Helper()
	h := sha256.New()
	for _, root := range roots {
		var lines []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			line := fmt.Sprintf("%s %v", p, fi.Mode())
			if fi.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				line += fmt.Sprintf(" %x", sha256.Sum256(b))
			}
			lines = append(lines, line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(lines)
		fmt.Fprintln(h, strings.Join(lines, "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestOpenReadsEveryLayoutByteForByte(t *testing.T) {
	cases := []struct {
		name string
		opts rustfixture.Options
	}{
		{"store", rustfixture.Options{Layout: rustfixture.Store}},
		{"legacy object files", rustfixture.Options{Layout: rustfixture.Legacy}},
		{"CA key in the legacy state bundle", rustfixture.Options{LegacyBundle: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Secrets = sampleSecrets()
			f := writeFixture(t, tc.opts)
			before := treeHash(t, filepath.Dir(f.VaultRoot))
			v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if v.Kind() != backend.KindEncryptedFile {
				t.Errorf("Kind() = %q", v.Kind())
			}
			if w := v.Warnings(); len(w) > 0 {
				t.Errorf("warnings on an owner-only fixture: %q", w)
			}
			want := sampleSecrets()
			entries := v.Entries()
			if len(entries) != len(want) {
				t.Fatalf("%d entries, want %d", len(entries), len(want))
			}
			for _, s := range want {
				val, e, err := v.Get(context.Background(), s.Scope, s.Key)
				if err != nil {
					t.Fatalf("Get(%s, %s): %v", s.Scope, s.Key, err)
				}
				if !bytes.Equal(val.Reveal(), s.Value) {
					t.Errorf("%s/%s: value differs", s.Scope, s.Key)
				}
				if e.Created != time.UnixMilli(s.Created).UTC() || e.Updated != time.UnixMilli(s.Updated).UTC() || e.Size != len(s.Value) {
					t.Errorf("%s/%s: entry %+v, want times %d/%d size %d", s.Scope, s.Key, e, s.Created, s.Updated, len(s.Value))
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
			if after := treeHash(t, filepath.Dir(f.VaultRoot)); after != before {
				t.Error("reading the Rust vault changed a file, a mode or the set of files")
			}
		})
	}
}

func TestStoreEntryWinsOverLegacyFileOfTheSameObject(t *testing.T) {
	f := writeFixture(t, rustfixture.Options{Secrets: sampleSecrets()[:1]})
	s := sampleSecrets()[0]
	// A stale legacy file of the same object, sealed with another value:
	// the crate keeps the store's entry (backend.rs:216-218).
	stale, err := rustfixture.Seal([]byte("stale"), &f.KEK, rustfixture.AAD(s.Scope, s.Key))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.VaultRoot, "objects", rustfixture.ObjectID(s.Scope, s.Key)), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	val, _, err := v.Get(context.Background(), s.Scope, s.Key)
	if err != nil || !bytes.Equal(val.Reveal(), s.Value) {
		t.Fatalf("Get = %v, want the store's value", err)
	}
}

func TestWrongIdentityStoreReadsNothing(t *testing.T) {
	f := writeFixture(t, rustfixture.Options{Secrets: sampleSecrets()})
	other := writeFixture(t, rustfixture.Options{})
	before := treeHash(t, filepath.Dir(f.VaultRoot), filepath.Dir(other.IdentityStore))

	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot, IdentityStore: other.IdentityStore})
	if err != nil {
		t.Fatal(err) // the key derives; it just is not this vault's
	}
	defer v.Close()
	if _, err := v.ReadAll(context.Background()); !errors.Is(err, palyrars.ErrNoKey) {
		t.Errorf("ReadAll with another installation's identity = %v, want ErrNoKey", err)
	}
	s := sampleSecrets()[0]
	if _, _, err := v.Get(context.Background(), s.Scope, s.Key); !errors.Is(err, palyrars.ErrWrongKey) {
		t.Errorf("Get = %v, want ErrWrongKey", err)
	}
	if after := treeHash(t, filepath.Dir(f.VaultRoot), filepath.Dir(other.IdentityStore)); after != before {
		t.Error("a failed read changed something")
	}
}

func TestIdentityStoreProblemsFailWithErrNoKeyAndCreateNothing(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, f rustfixture.Fixture) string
	}{
		{"missing store", func(t *testing.T, f rustfixture.Fixture) string {
			return filepath.Join(filepath.Dir(f.IdentityStore), "nowhere")
		}},
		{"another store's key file", func(t *testing.T, f rustfixture.Fixture) string {
			if err := os.WriteFile(filepath.Join(f.IdentityStore, ".store-key.v1"), bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
				t.Fatal(err)
			}
			return f.IdentityStore
		}},
		{"short key file", func(t *testing.T, f rustfixture.Fixture) string {
			if err := os.WriteFile(filepath.Join(f.IdentityStore, ".store-key.v1"), []byte("short"), 0o600); err != nil {
				t.Fatal(err)
			}
			return f.IdentityStore
		}},
		{"no CA state", func(t *testing.T, f rustfixture.Fixture) string {
			if err := os.Remove(filepath.Join(f.IdentityStore, hex.EncodeToString([]byte("identity/ca/state.json")))); err != nil {
				t.Fatal(err)
			}
			return f.IdentityStore
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFixture(t, rustfixture.Options{Secrets: sampleSecrets()})
			ident := tc.break_(t, f)
			before := treeHash(t, filepath.Dir(f.VaultRoot))
			_, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot, IdentityStore: ident})
			if !errors.Is(err, palyrars.ErrNoKey) {
				t.Fatalf("Open = %v, want ErrNoKey", err)
			}
			if after := treeHash(t, filepath.Dir(f.VaultRoot)); after != before {
				t.Error("a failed open created or changed something (the crate would create a key file: we must not)")
			}
		})
	}
}

func TestDamagedEnvelopeIsNamedAndTheOthersStillRead(t *testing.T) {
	f := writeFixture(t, rustfixture.Options{Layout: rustfixture.Legacy, Secrets: sampleSecrets()})
	s := sampleSecrets()[1]
	p := filepath.Join(f.VaultRoot, "objects", rustfixture.ObjectID(s.Scope, s.Key))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a character of the secret's ciphertext (still valid base64).
	i := bytes.Index(b, []byte(`"secret_ciphertext_b64":"`)) + len(`"secret_ciphertext_b64":"`)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	recs, err := v.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer palyrars.WipeRecords(recs)
	for _, r := range recs {
		damaged := r.Entry.Scope == s.Scope && r.Entry.Key == s.Key
		if damaged != errors.Is(r.Err, palyrars.ErrDamaged) {
			t.Errorf("%s: err = %v (damaged: %v)", r.Entry.Ref(), r.Err, damaged)
		}
	}
}

func TestEnvelopeMovedToAnotherNameDoesNotOpen(t *testing.T) {
	f := writeFixture(t, rustfixture.Options{Layout: rustfixture.Legacy, Secrets: sampleSecrets()[:2]})
	a, b := sampleSecrets()[0], sampleSecrets()[1]
	pa := filepath.Join(f.VaultRoot, "objects", rustfixture.ObjectID(a.Scope, a.Key))
	pb := filepath.Join(f.VaultRoot, "objects", rustfixture.ObjectID(b.Scope, b.Key))
	data, err := os.ReadFile(pa)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, data, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, _, err := v.Get(context.Background(), b.Scope, b.Key); !errors.Is(err, palyrars.ErrDamaged) {
		t.Errorf("Get of a swapped envelope = %v, want ErrDamaged (aad mismatch)", err)
	}
}

func TestLooseModesAreReportedNotFixed(t *testing.T) {
	testutil.SkipUnderWine(t, "Unix modes")
	if os.Getenv("GOOS") == "windows" {
		t.Skip()
	}
	f := writeFixture(t, rustfixture.Options{Secrets: sampleSecrets()})
	meta := filepath.Join(f.VaultRoot, "metadata.json")
	if err := os.Chmod(meta, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if w := strings.Join(v.Warnings(), "\n"); !strings.Contains(w, "metadata.json") {
		t.Errorf("warnings %q do not name metadata.json", w)
	}
	if fi, _ := os.Stat(meta); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}
}

func TestIsVault(t *testing.T) {
	f := writeFixture(t, rustfixture.Options{Secrets: sampleSecrets()})
	if !palyrars.IsVault(f.VaultRoot) {
		t.Error("IsVault(Rust vault) = false")
	}
	if palyrars.IsVault(f.IdentityStore) {
		t.Error("IsVault(identity store) = true")
	}
	// A directory with our vault.id is ours even if the crate wrote to it.
	if err := os.WriteFile(filepath.Join(f.VaultRoot, "vault.id"), []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if palyrars.IsVault(f.VaultRoot) {
		t.Error("IsVault(directory with vault.id) = true")
	}
}

func TestNotARustVault(t *testing.T) {
	dir := testutil.TempDir(t)
	if _, err := palyrars.Open(context.Background(), palyrars.Options{Root: dir}); !errors.Is(err, palyrars.ErrNotVault) {
		t.Errorf("Open(empty dir) = %v, want ErrNotVault", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "backend.kind"), backend.Marker(backend.KindEncryptedFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if palyrars.IsVault(dir) {
		t.Error("IsVault(our marker) = true")
	}
}

func TestStateRootPerOS(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	// The paths are joined and made absolute by this host's rules (on
	// Windows, "/s" gains the current drive).
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cases := []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", map[string]string{"HOME": "/home/u"}, filepath.Join("/home/u", ".local", "state", "palyra")},
		{"darwin", map[string]string{"HOME": "/Users/u"}, filepath.Join("/Users/u", ".local", "state", "palyra")},
		{"linux", map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "/x"}, filepath.Join("/x", "palyra")},
		{"linux", map[string]string{"HOME": "/home/u", "PALYRA_STATE_ROOT": "/s"}, abs("/s")},
		{"windows", map[string]string{"LOCALAPPDATA": `C:\L`, "APPDATA": `C:\R`}, filepath.Join(`C:\L`, "Palyra")},
		{"windows", map[string]string{"APPDATA": `C:\R`}, filepath.Join(`C:\R`, "Palyra")},
	}
	for _, tc := range cases {
		got, err := palyrars.StateRoot(env(tc.env), tc.goos)
		if err != nil || got != tc.want {
			t.Errorf("StateRoot(%v, %s) = %q, %v; want %q", tc.env, tc.goos, got, err, tc.want)
		}
	}
	if _, err := palyrars.StateRoot(env(nil), "linux"); err == nil {
		t.Error("StateRoot without HOME succeeded")
	}
}

// TestRFC8439AEADVector checks the ChaCha20-Poly1305 both the reader and
// the fixture generator use against RFC 8439 section 2.8.2, with the tag
// kept apart as the crate stores it.
func TestRFC8439AEADVector(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key := h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
	nonce := h("070000004041424344454647")
	aad := h("50515253c0c1c2c3c4c5c6c7")
	plain := []byte("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
	ct := h("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116")
	tag := h("1ae10b594f09e26a7e902ecbd0600691")
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	out := aead.Seal(nil, nonce, plain, aad)
	if !bytes.Equal(out[:len(plain)], ct) || !bytes.Equal(out[len(plain):], tag) {
		t.Fatal("ChaCha20-Poly1305 does not match RFC 8439 2.8.2")
	}
	got, err := palyrars.OpenPartForTest(key, nonce, ct, tag, aad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("the reader's open of RFC 8439 2.8.2 = %v", err)
	}
}

// TestRFC5869HKDFVector checks HKDF-SHA256 against RFC 5869 test case 1.
func TestRFC5869HKDFVector(t *testing.T) {
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	salt, _ := hex.DecodeString("000102030405060708090a0b0c")
	info, _ := hex.DecodeString("f0f1f2f3f4f5f6f7f8f9")
	want := "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
	got, err := hkdf.Key(sha256.New, ikm, salt, string(info), 42)
	if err != nil || hex.EncodeToString(got) != want {
		t.Fatalf("HKDF-SHA256 does not match RFC 5869 A.1: %x", got)
	}
	// The reader's derivation and the generator's agree on a seed.
	seed := []byte("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
	if palyrars.KEKFromSeedForTest(seed) != palyrars.KEK(rustfixture.DeriveKEK(seed)) {
		t.Fatal("reader and generator derive different keys")
	}
}

func TestSecretServiceVaultReadsItemsTheCrateWrote(t *testing.T) {
	bus := secretservicetest.Require(t)
	env := append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus)
	f := writeFixture(t, rustfixture.Options{Kind: "linux_secret_service", Secrets: sampleSecrets(), Env: env})
	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot, SessionBus: bus})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Kind() != backend.KindSecretService {
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
}
