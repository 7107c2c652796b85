package vault_test

// The vaults under testdata/fixtures/nov2026 were written by the vault
// package as it was at commit cab2c36 (28 November 2026), before the key
// sources and shared types moved out of this package. They are never
// regenerated: the point is that a vault written on that day stays
// readable by every later version (see testdata/fixtures/README.md). This
// test therefore uses only the public API, and every expected value lives
// here, not in the fixture.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
)

// nov2026Dir holds one directory per fixture vault, each with a state
// root (state/) and a vault root (vault/).
const nov2026Dir = "testdata/fixtures/nov2026"

// fixtureSecret is one secret of a fixture vault as it was written.
type fixtureSecret struct {
	scope, key string
	value      []byte
	created    time.Time
	// updated equals created for a secret written once; otherwise the
	// secret was first written at created with another value, then
	// replaced at updated.
	updated time.Time
}

func (s fixtureSecret) metadata() vault.Metadata {
	return vault.Metadata{Scope: s.scope, Key: s.key, Created: s.created, Updated: s.updated, Size: len(s.value)}
}

// fixtureRotation is a key rotation that the generator interrupted.
type fixtureRotation struct {
	to            string // the source the rotation moves to
	newPassphrase string // when to is passphrase
	// oldKeyID and newKeyID are the public key ids, as RotateReport
	// spells them.
	oldKeyID, newKeyID string
	// rewrapped counts the objects already rewrapped under the new key
	// when the rotation was interrupted.
	rewrapped int
}

// fixtureVault describes one fixture vault.
type fixtureVault struct {
	name       string // directory under nov2026Dir
	source     string // key source of the active key
	passphrase string // for a passphrase vault
	vaultID    string
	rotation   *fixtureRotation
	secrets    []fixtureSecret
}

// nov2026Time returns a time on 28 November 2026 (UTC), with nanoseconds,
// which the envelope keeps.
func nov2026Time(hour, min, sec, nsec int) time.Time {
	return time.Date(2026, time.November, 28, hour, min, sec, nsec, time.UTC)
}

// nov2026Secrets returns the secrets every fixture vault holds; the values
// name the fixture, so a test reading the wrong vault cannot pass. They
// cover three scopes (one hierarchical, one principal), an empty value, a
// binary one, one of several KiB and one replaced after creation.
func nov2026Secrets(fixture string) []fixtureSecret {
	binary := []byte(fixture + "\x00")
	for i := range 256 {
		binary = append(binary, byte(i))
	}
	large := bytes.Repeat([]byte(fixture+" 0123456789abcdef\n"), 4096/(len(fixture)+18)+1)[:4096]
	return []fixtureSecret{
		{scope: "global", key: "empty", value: []byte{},
			created: nov2026Time(9, 0, 0, 1), updated: nov2026Time(9, 0, 0, 1)},
		{scope: "global", key: "openai_api_key", value: []byte("sk-" + fixture + "-0123456789abcdefghijklmnopqrstuv"),
			created: nov2026Time(9, 0, 1, 123456789), updated: nov2026Time(9, 0, 1, 123456789)},
		{scope: "plugins/github", key: "token", value: []byte("ghp_" + fixture + "_replaced_value"),
			created: nov2026Time(9, 1, 0, 0), updated: nov2026Time(10, 30, 0, 500000000)},
		{scope: "plugins/github", key: "webhook.secret", value: binary,
			created: nov2026Time(9, 2, 0, 42), updated: nov2026Time(9, 2, 0, 42)},
		{scope: "principal:alice", key: "note", value: []byte("héllo wörld ✓ " + fixture + "\n"),
			created: nov2026Time(9, 3, 0, 999999999), updated: nov2026Time(9, 3, 0, 999999999)},
		{scope: "principal:alice", key: "session-key", value: large,
			created: nov2026Time(9, 4, 0, 7), updated: nov2026Time(11, 0, 0, 8)},
	}
}

// nov2026Fixtures lists the fixture vaults. The ids were printed by the
// generator (fixture_gen_test.go) when it wrote them.
var nov2026Fixtures = []fixtureVault{
	{
		name:    "device",
		source:  vault.KeySourceDevice,
		vaultID: "50ee45f068efccf96deebeab772c211c",
		secrets: nov2026Secrets("device"),
	},
	{
		name:       "passphrase",
		source:     vault.KeySourcePassphrase,
		passphrase: "fixture passphrase",
		vaultID:    "a04280bcad4996a22545eac7c02f7ff4",
		secrets:    nov2026Secrets("passphrase"),
	},
	{
		name:    "rotating-device",
		source:  vault.KeySourceDevice,
		vaultID: "b672fd0c1ef21e2943ed101e0ca9bc9c",
		rotation: &fixtureRotation{to: vault.KeySourceDevice, rewrapped: 2,
			oldKeyID: "0a470b071c808f384fee46e8c55e429b", newKeyID: "8db3205a41a6b04f64226daa65162ad1"},
		secrets: nov2026Secrets("rotating-device"),
	},
	{
		name:       "rotating-passphrase",
		source:     vault.KeySourcePassphrase,
		passphrase: "fixture passphrase",
		vaultID:    "6187e18f47b937616b11d3655bef02fc",
		rotation: &fixtureRotation{to: vault.KeySourcePassphrase, newPassphrase: "fixture passphrase, changed", rewrapped: 2,
			oldKeyID: "c6756ec66ded28fadd66d1568d03691b", newKeyID: "5711c5cae2894d8333f5339d8e1155ba"},
		secrets: nov2026Secrets("rotating-passphrase"),
	},
}

func TestFixtureVaultsFromNov2026Open(t *testing.T) {
	before := hashTree(t, "testdata/fixtures")
	t.Run("vaults", func(t *testing.T) {
		for _, f := range nov2026Fixtures {
			t.Run(f.name, func(t *testing.T) { checkFixture(t, f) })
		}
	})
	if after := hashTree(t, "testdata/fixtures"); after != before {
		t.Fatalf("the checked-in fixtures changed during the test (hash %s, was %s): the test must only open copies", after, before)
	}
}

// checkFixture opens a copy of fixture f and checks everything it holds.
func checkFixture(t *testing.T, f fixtureVault) {
	ctx := context.Background()
	cfg := copyFixture(t, f.name)
	if f.passphrase != "" {
		cfg.Passphrase = constPassphrase(f.passphrase)
		wrong := cfg
		wrong.Passphrase = constPassphrase("not the fixture passphrase")
		// Open loads no key; the first use of it names the wrong passphrase.
		v, err := vault.Open(ctx, wrong)
		if err != nil {
			t.Fatalf("Open (which needs no key) = %v", err)
		}
		err = v.Unlock(ctx)
		v.Close()
		if !errors.Is(err, vault.ErrWrongPassphrase) {
			t.Fatalf("Unlock with a wrong passphrase = %v, want ErrWrongPassphrase", err)
		}
	}
	v := openFixture(t, cfg)
	info := v.Info()
	if info.ID != f.vaultID || info.Backend != backend.KindEncryptedFile || info.KeySource != f.source {
		t.Fatalf("Info = id %q, backend %q, key source %q; want %q, %q, %q",
			info.ID, info.Backend, info.KeySource, f.vaultID, backend.KindEncryptedFile, f.source)
	}
	checkSecrets(t, v, f.secrets)

	pendingSource, pending, err := v.PendingRotation()
	if err != nil {
		t.Fatalf("PendingRotation: %v", err)
	}
	if wantPending := f.rotation != nil; pending != wantPending || (pending && pendingSource != f.rotation.to) {
		t.Fatalf("PendingRotation = %q, %v; want pending %v", pendingSource, pending, wantPending)
	}
	wantProblems := []string{}
	if f.rotation != nil {
		wantProblems = []string{vault.ProblemRotation}
	}
	checkVerify(t, v, len(f.secrets), wantProblems)

	if r := f.rotation; r != nil {
		rep, err := v.RotateKey(ctx, vault.KeySourceSpec{})
		if err != nil {
			t.Fatalf("finishing the interrupted rotation: %v", err)
		}
		want := vault.RotateReport{From: f.source, To: r.to, OldKeyID: r.oldKeyID, NewKeyID: r.newKeyID,
			Rewrapped: len(f.secrets) - r.rewrapped, Skipped: r.rewrapped, Resumed: true}
		if rep != want {
			t.Fatalf("RotateKey finishing the rotation = %+v, want %+v", rep, want)
		}
		if _, pending, err := v.PendingRotation(); pending || err != nil {
			t.Fatalf("after finishing, PendingRotation = %v, %v; want none", pending, err)
		}
		checkSecrets(t, v, f.secrets)
		checkVerify(t, v, len(f.secrets), []string{})
		v.Close()

		// A fresh handle opens the vault with the new key alone.
		if r.newPassphrase != "" {
			old, err := vault.Open(ctx, cfg)
			if err != nil {
				t.Fatalf("Open (which needs no key) = %v", err)
			}
			err = old.Unlock(ctx)
			old.Close()
			if !errors.Is(err, vault.ErrWrongPassphrase) {
				t.Fatalf("after a passphrase change, Unlock with the old passphrase = %v, want ErrWrongPassphrase", err)
			}
			cfg.Passphrase = constPassphrase(r.newPassphrase)
		}
		v = openFixture(t, cfg)
		if got := v.Info().KeySource; got != r.to {
			t.Fatalf("after the rotation the key source is %q, want %q", got, r.to)
		}
		checkSecrets(t, v, f.secrets)
		checkVerify(t, v, len(f.secrets), []string{})
	}

	// Today's code can still write to the old vault.
	added := []byte("written by today's code")
	if _, err := v.Put(ctx, "plugins/github", "added-later", added); err != nil {
		t.Fatalf("Put into the fixture copy: %v", err)
	}
	got, _, err := v.Get(ctx, "plugins/github", "added-later")
	if err != nil || !bytes.Equal(got.Reveal(), added) {
		t.Fatalf("Get of the added secret = %d bytes, %v", got.Len(), err)
	}
	checkVerify(t, v, len(f.secrets)+1, []string{})
}

// checkSecrets fails unless the vault holds exactly want: the same listing
// (in every scope and per scope), the same metadata and the same values.
func checkSecrets(t *testing.T, v *vault.Vault, want []fixtureSecret) {
	t.Helper()
	ctx := context.Background()
	var all []vault.Metadata
	byScope := map[string][]vault.Metadata{}
	for _, s := range want {
		all = append(all, s.metadata())
		byScope[s.scope] = append(byScope[s.scope], s.metadata())
	}
	sortMetadata(all)
	got, err := v.List(ctx, "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	checkListing(t, "List of every scope", got, all)
	for scope, ms := range byScope {
		sortMetadata(ms)
		got, err := v.List(ctx, scope)
		if err != nil {
			t.Fatalf("List(%q): %v", scope, err)
		}
		checkListing(t, fmt.Sprintf("List(%q)", scope), got, ms)
	}
	for _, s := range want {
		ref := vault.Ref{Scope: s.scope, Key: s.key}
		m, err := v.Stat(ctx, s.scope, s.key)
		if err != nil || !sameMetadata(m, s.metadata()) {
			t.Fatalf("Stat %s = %+v, %v; want %+v", ref, m, err, s.metadata())
		}
		value, m, err := v.Get(ctx, s.scope, s.key)
		if err != nil {
			t.Fatalf("Get %s: %v", ref, err)
		}
		if !bytes.Equal(value.Reveal(), s.value) {
			t.Fatalf("Get %s returned %d bytes that differ from the %d bytes written", ref, value.Len(), len(s.value))
		}
		value.Wipe()
		if !sameMetadata(m, s.metadata()) {
			t.Fatalf("Get %s metadata = %+v, want %+v", ref, m, s.metadata())
		}
	}
}

func sortMetadata(ms []vault.Metadata) {
	slices.SortFunc(ms, func(a, b vault.Metadata) int {
		if c := strings.Compare(a.Scope, b.Scope); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// sameMetadata compares times as instants, to the nanosecond.
func sameMetadata(a, b vault.Metadata) bool {
	return a.Scope == b.Scope && a.Key == b.Key && a.Size == b.Size && a.Created.Equal(b.Created) && a.Updated.Equal(b.Updated)
}

func checkListing(t *testing.T, what string, got, want []vault.Metadata) {
	t.Helper()
	if !slices.EqualFunc(got, want, sameMetadata) {
		t.Fatalf("%s =\n%s\nwant\n%s", what, formatMetadata(got), formatMetadata(want))
	}
}

func formatMetadata(ms []vault.Metadata) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  %s/%s size %d created %s updated %s\n", m.Scope, m.Key, m.Size,
			m.Created.Format(time.RFC3339Nano), m.Updated.Format(time.RFC3339Nano))
	}
	return b.String()
}

// checkVerify fails unless Verify sees objects healthy objects and reports
// exactly the problem kinds want, in order.
func checkVerify(t *testing.T, v *vault.Vault, objects int, want []string) {
	t.Helper()
	rep, err := v.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	kinds := []string{}
	for _, p := range rep.Problems {
		kinds = append(kinds, p.Kind)
	}
	if rep.Objects != objects || rep.Healthy != objects || !slices.Equal(kinds, want) {
		t.Fatalf("Verify = %d objects, %d healthy, problems %+v; want %d healthy and problems %q",
			rep.Objects, rep.Healthy, rep.Problems, objects, want)
	}
}

func constPassphrase(p string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(p), nil }
}

func openFixture(t *testing.T, cfg vault.Config) *vault.Vault {
	t.Helper()
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// copyFixture copies fixture name into a temp dir, with the private modes
// the vault requires (git keeps none of them), and returns a config that
// opens the copy. The checked-in files are never opened for writing.
func copyFixture(t *testing.T, name string) vault.Config {
	t.Helper()
	src := filepath.Join(nov2026Dir, name)
	dst := filepath.Join(testutil.TempDir(t), name) // removable under Wine too
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(to, 0o700); err != nil {
				return err
			}
			return os.Chmod(to, 0o700)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(to, data, 0o600); err != nil {
				return err
			}
			return os.Chmod(to, 0o600)
		}
		return fmt.Errorf("%s: not a regular file or directory", path)
	})
	if err != nil {
		t.Fatalf("copying fixture %s: %v", name, err)
	}
	cfg := vault.Config{Root: filepath.Join(dst, "vault"), StateRoot: filepath.Join(dst, "state")}
	if _, err := os.Stat(filepath.Join(cfg.Root, "backend.kind")); err != nil {
		t.Fatalf("fixture %s has no vault root: %v", name, err)
	}
	// A state root without a device key is empty, which git does not keep.
	if err := os.MkdirAll(cfg.StateRoot, 0o700); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// hashTree returns a hash of every name, type, permission and content
// under dir.
func hashTree(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%v\x00", filepath.ToSlash(path), fi.Mode())
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%d\x00", len(data))
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("hashing %s: %v", dir, err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
