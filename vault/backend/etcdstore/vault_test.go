package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/palyra/palyra-vault/vault/backend/etcdstore"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

func init() {
	vault.RegisterBackend(backend.KindEtcd, vault.ExternalBackend{Open: func(ctx context.Context, root string) (backend.Backend, error) {
		return etcdstore.Open(ctx, root, nil)
	}})
}

// host is one host of a fleet: its own state root and vault root, with
// etcd settings for the shared prefix.
type host struct {
	state, root string
}

func newHost(t testing.TB, c *etcdproc.Cluster, prefix string) host {
	t.Helper()
	dir := t.TempDir()
	h := host{state: filepath.Join(dir, "state"), root: filepath.Join(dir, "state", "vault")}
	if err := os.MkdirAll(h.root, 0o700); err != nil {
		t.Fatal(err)
	}
	st := &etcdconf.Settings{
		Endpoints: c.Endpoints(), Prefix: prefix, CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile,
		User: etcdproc.User, PasswordFile: c.PasswordFile,
	}
	if err := etcdconf.Write(h.root, st); err != nil {
		t.Fatal(err)
	}
	return h
}

const pass = "correct horse battery staple"

func (h host) open(t testing.TB, keySource string) *vault.Vault {
	t.Helper()
	cfg := vault.Config{Root: h.root, StateRoot: h.state, Backend: backend.KindEtcd, KeySource: keySource,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }}.WithEnv()
	v, err := vault.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("opening the etcd vault of %s: %v", h.root, err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// TestTwoHostsShareOneVault: two state roots (two hosts) opening one
// prefix see one vault: same id, each reads what the other wrote, List
// shows both, under the passphrase key source whose salt lives in etcd.
func TestTwoHostsShareOneVault(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a, b := newHost(t, c, prefix).open(t, vault.KeySourcePassphrase), newHost(t, c, prefix).open(t, "")
	ctx := t.Context()
	if a.Info().ID != b.Info().ID {
		t.Fatalf("vault ids differ: %s and %s", a.Info().ID, b.Info().ID)
	}
	if b.Info().KeySource != vault.KeySourcePassphrase {
		t.Fatalf("host b's key source is %q; want the shared vault's passphrase", b.Info().KeySource)
	}
	if _, err := a.Put(ctx, "global", "from_a", []byte("value-a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "global", "from_b", []byte("value-b")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		v        *vault.Vault
		key, val string
	}{{b, "from_a", "value-a"}, {a, "from_b", "value-b"}} {
		got, _, err := tt.v.Get(ctx, "global", tt.key)
		if err != nil || string(got.Reveal()) != tt.val {
			t.Fatalf("Get %s: %v", tt.key, err)
		}
	}
	ms, err := a.List(ctx, "")
	if err != nil || len(ms) != 2 {
		t.Fatalf("List: %v, %v; want 2 secrets", ms, err)
	}
	rep, err := b.Verify(ctx)
	if err != nil || len(rep.Problems) != 0 || rep.Healthy != 2 {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
}

// TestDeviceKeyDoesNotCrossHosts: a device key stays on the host that made
// it, so another host cannot open what it sealed (docs/FLEET.md).
func TestDeviceKeyDoesNotCrossHosts(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a := newHost(t, c, prefix).open(t, vault.KeySourceDevice)
	if _, err := a.Put(t.Context(), "global", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	b := newHost(t, c, prefix).open(t, "")
	if _, _, err := b.Get(t.Context(), "global", "k"); err == nil {
		t.Fatal("host b opened a secret sealed under host a's device key")
	}
}

// TestWriteRacingARotationNeverLandsUnderTheOldKey: host a holds the key;
// host b rotates to a new passphrase; a's next Put either fails (it cannot
// load the new key without the new passphrase) or lands under the new key,
// and every secret verifies under the new key.
func TestWriteRacingARotationNeverLandsUnderTheOldKey(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha, hb := newHost(t, c, prefix), newHost(t, c, prefix)
	a := ha.open(t, vault.KeySourcePassphrase)
	ctx := t.Context()
	if _, err := a.Put(ctx, "global", "before", []byte("x")); err != nil {
		t.Fatal(err)
	}
	b := hb.open(t, "")
	if _, err := b.RotateKey(ctx, vault.KeySourceSpec{Source: vault.KeySourcePassphrase, Passphrase: func() ([]byte, error) { return []byte("a new passphrase, longer"), nil }}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Put(ctx, "global", "racing", []byte("y"))
	if err != nil && !errors.Is(err, vault.ErrKeyRotated) {
		t.Fatalf("Put after another host's rotation: %v; want success or ErrKeyRotated", err)
	}
	rep, verr := b.Verify(ctx)
	if verr != nil || len(rep.Problems) != 0 {
		t.Fatalf("Verify after the racing write (%v): %+v, %v", err, rep, verr)
	}
}

// TestTwoHostsRotatingAtOnceNeverBothHalfDone: two hosts (two state roots,
// so two file locks) rotate the key at the same instant. The key-state
// lock in etcd makes one wait for the other: one succeeds, the other
// either succeeds after it or fails clearly (it cannot load the new
// passphrase key without being opened again); neither resumes the other's
// rotation halfway, no rotation is left pending and every secret opens.
func TestTwoHostsRotatingAtOnceNeverBothHalfDone(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha, hb := newHost(t, c, prefix), newHost(t, c, prefix)
	first := ha.open(t, vault.KeySourcePassphrase)
	ctx := t.Context()
	for i := range 20 {
		if _, err := first.Put(ctx, "global", fmt.Sprintf("k%d", i), []byte(fmt.Sprintf("v%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	newPass := vault.KeySourceSpec{Source: vault.KeySourcePassphrase, Passphrase: func() ([]byte, error) { return []byte(pass), nil }}
	for round := range 3 {
		vs := []*vault.Vault{ha.open(t, ""), hb.open(t, "")}
		type result struct {
			rep vault.RotateReport
			err error
		}
		results := make([]result, len(vs))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, v := range vs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i].rep, results[i].err = v.RotateKey(ctx, newPass)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, r := range results {
			switch {
			case r.err == nil && r.rep.Resumed:
				t.Errorf("round %d: host %d resumed the other's rotation halfway: %+v", round, i, r.rep)
			case r.err == nil:
				ok++
			case !errors.Is(r.err, vault.ErrKeyRotated) && !errors.Is(r.err, vault.ErrLockTimeout):
				t.Errorf("round %d: host %d failed unclearly: %v", round, i, r.err)
			}
		}
		if ok == 0 {
			t.Fatalf("round %d: neither rotation succeeded: %v, %v", round, results[0].err, results[1].err)
		}
		check := ha.open(t, "")
		if src, pending, err := check.PendingRotation(); err != nil || pending {
			t.Fatalf("round %d: a rotation to %q is left pending (%v)", round, src, err)
		}
		rep, err := check.Verify(ctx)
		if err != nil || len(rep.Problems) != 0 || rep.Healthy != 20 {
			t.Fatalf("round %d: Verify: %+v, %v", round, rep, err)
		}
	}
}

// TestWriteDuringAPendingRotationLandsUnderTheNewKey: while one host's
// rotation is pending (stopped by a damaged object), another host's write
// is sealed under the new key, so finishing the rotation has nothing left
// to rewrap, and no envelope outlives the old key.
func TestWriteDuringAPendingRotationLandsUnderTheNewKey(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha, hb := newHost(t, c, prefix), newHost(t, c, prefix)
	a := ha.open(t, vault.KeySourcePassphrase)
	b := hb.open(t, "")
	ctx := t.Context()
	for i := range 5 {
		if _, err := a.Put(ctx, "global", fmt.Sprintf("k%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	store := openTTL(t, c, prefix)
	bad := envelope.ObjectID("global", "bad")
	if err := store.Put(ctx, bad, []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}
	spec := vault.KeySourceSpec{Source: vault.KeySourcePassphrase, Passphrase: func() ([]byte, error) { return []byte(pass), nil }}
	if _, err := a.RotateKey(ctx, spec); !errors.Is(err, vault.ErrCorrupt) {
		t.Fatalf("rotation past a damaged object: %v, want ErrCorrupt (left pending)", err)
	}
	if _, err := b.Put(ctx, "global", "during", []byte("written while pending")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Delete(ctx, bad); err != nil {
		t.Fatal(err)
	}
	rep, err := a.RotateKey(ctx, vault.KeySourceSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Resumed || rep.Rewrapped != 0 || rep.Skipped != 6 {
		t.Fatalf("finishing the rotation: %+v; want it resumed with all 6 envelopes already under the new key", rep)
	}
	vr, err := hb.open(t, "").Verify(ctx)
	if err != nil || len(vr.Problems) != 0 || vr.Healthy != 6 {
		t.Fatalf("Verify: %+v, %v", vr, err)
	}
}

// TestSetKeepsTheCreationTimeAcrossHosts: a secret set again, by the
// other host, keeps the time it was created.
func TestSetKeepsTheCreationTimeAcrossHosts(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a := newHost(t, c, prefix).open(t, vault.KeySourcePassphrase)
	b := newHost(t, c, prefix).open(t, "")
	ctx := t.Context()
	first, err := a.Put(ctx, "global", "k", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []*vault.Vault{b, a, b} {
		m, err := v.Put(ctx, "global", "k", []byte(fmt.Sprintf("again %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !m.Created.Equal(first.Created) {
			t.Fatalf("write %d: created %v, want %v", i, m.Created, first.Created)
		}
	}
	got, meta, err := a.Get(ctx, "global", "k")
	if err != nil || string(got.Reveal()) != "again 2" || !meta.Created.Equal(first.Created) {
		t.Fatalf("Get: %v, %+v", err, meta)
	}
}
