//go:build palyra_fixturegen

package vault_test

// This generator wrote the fixture vaults under testdata/fixtures/nov2026
// with the vault package of commit cab2c36. It is kept to show how they
// were made, behind a build tag so that it never runs in the normal suite,
// and it refuses to overwrite them: the fixtures must never be regenerated
// by later code (testdata/fixtures/README.md). It was run once, as
//
//	go test -tags palyra_fixturegen ./vault -run TestGenerateNov2026Fixtures -count=1 -v
//
// and the ids it logged were copied into nov2026Fixtures (fixture_test.go).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
)

func TestGenerateNov2026Fixtures(t *testing.T) {
	if _, err := os.Lstat(nov2026Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("refusing to overwrite %s (%v): the fixtures record the vault format of their day and must never be regenerated", nov2026Dir, err)
	}
	if !vault.CheapKDFForFixtureGen() {
		t.Fatal("passphrase keys would use the default Argon2id parameters; the fixtures need the cheap ones to open fast")
	}
	for _, f := range nov2026Fixtures {
		generateFixture(t, f)
	}
}

// generateFixture writes fixture f in a temp dir, then copies it into
// nov2026Dir.
func generateFixture(t *testing.T, f fixtureVault) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := vault.Config{
		Root:      filepath.Join(dir, "vault"),
		StateRoot: filepath.Join(dir, "state"),
		Backend:   backend.KindEncryptedFile,
		KeySource: f.source,
	}
	if f.passphrase != "" {
		cfg.Passphrase = constPassphrase(f.passphrase)
	}
	v, err := vault.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("%s: Open: %v", f.name, err)
	}
	var clock time.Time
	vault.SetClockForFixtureGen(v, func() time.Time { return clock })

	// Every write of every secret, in time order: a secret updated after
	// its creation is first written with another value.
	type write struct {
		at    time.Time
		s     fixtureSecret
		value []byte
	}
	var writes []write
	for _, s := range f.secrets {
		if !s.updated.Equal(s.created) {
			writes = append(writes, write{s.created, s, []byte("superseded value of " + s.key)})
		}
		writes = append(writes, write{s.updated, s, s.value})
	}
	slices.SortFunc(writes, func(a, b write) int { return a.at.Compare(b.at) })
	for _, w := range writes {
		clock = w.at
		m, err := v.Put(ctx, w.s.scope, w.s.key, w.value)
		if err != nil {
			t.Fatalf("%s: Put %s/%s: %v", f.name, w.s.scope, w.s.key, err)
		}
		if !m.Created.Equal(w.s.created) || !m.Updated.Equal(w.at) {
			t.Fatalf("%s: Put %s/%s = %+v, want created %v updated %v", f.name, w.s.scope, w.s.key, m, w.s.created, w.at)
		}
	}

	if r := f.rotation; r != nil {
		// Interrupt the rotation right after its r.rewrapped-th rewrap:
		// RotateKey checks its context before each object.
		rctx, cancel := context.WithCancel(ctx)
		n := 0
		vault.SetRotateHookForFixtureGen(func(step string) {
			if step == "rewrapped" {
				if n++; n == r.rewrapped {
					cancel()
				}
			}
		})
		rep, err := v.RotateKey(rctx, vault.KeySourceSpec{Source: r.to, Passphrase: constPassphrase(r.newPassphrase)})
		vault.SetRotateHookForFixtureGen(nil)
		cancel()
		if !errors.Is(err, context.Canceled) || rep.Rewrapped != r.rewrapped {
			t.Fatalf("%s: interrupted RotateKey = %+v, %v; want %d rewrapped and context.Canceled", f.name, rep, err, r.rewrapped)
		}
		if src, pending, err := v.PendingRotation(); !pending || src != r.to || err != nil {
			t.Fatalf("%s: PendingRotation = %q, %v, %v", f.name, src, pending, err)
		}
		t.Logf("%s: rotation from key %s to key %s, interrupted after %d of %d objects",
			f.name, rep.OldKeyID, rep.NewKeyID, rep.Rewrapped, len(f.secrets))
	}
	t.Logf("%s: vault id %s", f.name, v.Info().ID)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := copyOut(dir, filepath.Join(nov2026Dir, f.name)); err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
}

// copyOut copies the tree at src to dst (which must not exist), refusing
// temporary files a writer left behind.
func copyOut(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case fsutil.IsTemp(d.Name()):
			return fmt.Errorf("%s: a temporary file in the new vault", path)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, 0o644)
		}
		return fmt.Errorf("%s: not a regular file or directory", path)
	})
}
