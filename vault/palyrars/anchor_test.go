package palyrars_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/palyra/palyra-vault/vault/palyrars/rustfixture"
)

// debianRegistry is where Debian's librust-*-dev packages put their crates.
const debianRegistry = "/usr/share/cargo/registry"

// TestRustAnchorSealsWhatTheReaderOpens builds testdata/anchor, a small
// Rust program that seals envelopes with the Rust primitives the crate
// uses (ring's ChaCha20-Poly1305, the hkdf and sha2 crates, base64: older
// versions, as Debian packages them), and checks that the reader opens
// every secret it sealed, under the object id it computed. The fixture
// generator is Go, like the reader; this anchor is not, so a mistake the
// two Go sides share (a swapped salt, the tag's place, base64 padding)
// shows here. It is an extra anchor, not a required real component: without
// cargo and Debian's crates it skips, in CI too.
func TestRustAnchorSealsWhatTheReaderOpens(t *testing.T) {
	bin := buildAnchor(t)
	f := writeFixture(t, rustfixture.Options{Layout: rustfixture.Legacy, Secrets: sampleSecrets()})
	objects := filepath.Join(f.VaultRoot, "objects")
	pem := filepath.Join(testutil.TempDir(t), "ca-key.pem")
	if err := os.WriteFile(pem, []byte(f.CAKeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range sampleSecrets() {
		id := rustfixture.ObjectID(s.Scope, s.Key)
		goSealed, err := os.ReadFile(filepath.Join(objects, id))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, pem, objects, s.Scope, s.Key)
		cmd.Stdin = bytes.NewReader(s.Value)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("palyra-anchor %s/%s: %v", s.Scope, s.Key, err)
		}
		if got := strings.TrimSpace(string(out)); got != id {
			t.Errorf("%s/%s: the anchor's object id %s, the generator's %s", s.Scope, s.Key, got, id)
		}
		rustSealed, err := os.ReadFile(filepath.Join(objects, id))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(rustSealed, goSealed) {
			t.Fatalf("%s/%s: the anchor did not replace the generator's envelope", s.Scope, s.Key)
		}
		if a, b := jsonKeys(t, rustSealed), jsonKeys(t, goSealed); len(a) != 9 || !slices.Equal(a, b) {
			t.Errorf("%s/%s: the anchor's envelope has fields %q, the generator's %q", s.Scope, s.Key, a, b)
		}
	}

	v, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, s := range sampleSecrets() {
		val, _, err := v.Get(context.Background(), s.Scope, s.Key)
		if err != nil {
			t.Fatalf("Get(%s, %s) of the anchor's envelope: %v", s.Scope, s.Key, err)
		}
		if !bytes.Equal(val.Reveal(), s.Value) {
			t.Errorf("%s/%s: the anchor's envelope opens to other bytes", s.Scope, s.Key)
		}
	}
	// And the other way: the anchor's KEK is the reader's. An envelope
	// sealed under another installation's key does not open.
	other := writeFixture(t, rustfixture.Options{})
	if err := os.WriteFile(pem, []byte(other.CAKeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	s := sampleSecrets()[0]
	cmd := exec.Command(bin, pem, objects, s.Scope, s.Key)
	cmd.Stdin = bytes.NewReader(s.Value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("palyra-anchor: %v: %s", err, out)
	}
	v2, err := palyrars.Open(context.Background(), palyrars.Options{Root: f.VaultRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if _, _, err := v2.Get(context.Background(), s.Scope, s.Key); err == nil {
		t.Error("an envelope the anchor sealed under another CA key opened")
	}
}

// buildAnchor builds testdata/anchor with cargo --offline against
// Debian's crates, in a copy (so the tree gets no Cargo.lock) with its
// target directory kept in the user's cache between runs (the first
// build takes about 30 s, mostly ring). It skips without cargo or the
// crates.
func buildAnchor(t *testing.T) string {
	t.Helper()
	const extra = "the Rust anchor is an extra check, not a required real component"
	if runtime.GOOS != "linux" {
		t.Skipf("%s: it is built on Linux against Debian's crates; this is %s", extra, runtime.GOOS)
	}
	if testing.Short() {
		t.Skipf("%s: skipped with -short (building it takes about 30 s the first time)", extra)
	}
	cargo, err := exec.LookPath("cargo")
	if err != nil {
		t.Skipf("%s: cargo is not installed", extra)
	}
	for _, c := range []string{"ring-0.16", "hkdf-0.12", "sha2-0.10", "base64-0.13"} {
		if m, _ := filepath.Glob(filepath.Join(debianRegistry, c+"*")); len(m) == 0 {
			t.Skipf("%s: %s has no %s (apt-get install librust-ring-dev librust-hkdf-dev librust-sha2-dev librust-base64-dev)", extra, debianRegistry, c)
		}
	}
	src := filepath.Join(testutil.TempDir(t), "anchor")
	if err := copyTree("testdata/anchor", src); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(testutil.TempDir(t), "target")
	if cache, err := os.UserCacheDir(); err == nil {
		target = filepath.Join(cache, "palyra-vault-test", "anchor-target")
	}
	cmd := exec.Command(cargo, "build", "--offline", "--release", "--quiet")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CARGO_TARGET_DIR="+target)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Rust anchor (cargo build --offline in a copy of testdata/anchor): %v\n%s", err, out)
	}
	return filepath.Join(target, "release", "palyra-anchor")
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// jsonKeys returns an object's keys in the order written.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return keys
		}
		if err != nil {
			t.Fatalf("envelope %q: %v", b, err)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				depth++
				expectKey = true
			} else if v == '}' {
				depth--
			}
			continue
		case string:
			if depth == 1 && expectKey {
				keys = append(keys, v)
				expectKey = false
				continue
			}
		}
		expectKey = depth == 1
	}
}
