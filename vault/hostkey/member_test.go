package hostkey_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/palyra/palyra-vault/vault/backend/etcdstore"
	"github.com/palyra/palyra-vault/vault/hostkey"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

func TestMain(m *testing.M) {
	vault.RegisterBackend(backend.KindEtcd, vault.ExternalBackend{Open: func(ctx context.Context, root string) (backend.Backend, error) {
		return etcdstore.Open(ctx, root, nil)
	}})
	hostkey.Register()
	os.Exit(etcdproc.Main(m))
}

// host is one host of a fleet: its own state root (its identity) and vault
// root, with etcd settings for the shared prefix.
type host struct {
	state, root string
}

func newHost(t *testing.T, c *etcdproc.Cluster, prefix string) host {
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

func (h host) open(t *testing.T) *vault.Vault {
	t.Helper()
	cfg := vault.Config{Root: h.root, StateRoot: h.state, Backend: backend.KindEtcd, KeySource: vault.KeySourceMember}.WithEnv()
	v, err := vault.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("opening the etcd vault of %s: %v", h.root, err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func (h host) recipient(t *testing.T) string {
	t.Helper()
	r, err := vault.HostRecipient(h.state)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHostIdentityIsMadeOnceAndPrivate(t *testing.T) {
	state := t.TempDir()
	r1, err := vault.HostRecipient(state)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := vault.HostRecipient(state)
	if err != nil || r1 != r2 {
		t.Fatalf("second call: %q, %v; want the same recipient %q", r2, err, r1)
	}
	if err := vault.CheckRecipient(r1); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(hostkey.IdentityPath(state))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v, %v; want mode 0600", fi, err)
	}
	if other, _ := vault.HostRecipient(t.TempDir()); other == r1 {
		t.Fatal("two state roots got the same recipient")
	}
}

func TestCheckRecipient(t *testing.T) {
	good, err := vault.HostRecipient(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		r  string
		ok bool
	}{
		{good, true},
		{"", false},
		{"age1", false},
		{strings.ToUpper(good), false},
		{good[:len(good)-1], false},
		{good[:10] + "b" + good[11:], false}, // b is not in bech32's alphabet
		{"ssh-ed25519 AAAA", false},
	} {
		if err := vault.CheckRecipient(tt.r); (err == nil) != tt.ok {
			t.Errorf("CheckRecipient(%q) = %v; want ok=%v", tt.r, err, tt.ok)
		}
	}
}

// TestAddedMemberReads: a host that is not a member gets an error naming
// its recipient and the command that adds it; once added, it reads and
// writes.
func TestAddedMemberReads(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha, hb := newHost(t, c, prefix), newHost(t, c, prefix)
	a := ha.open(t)
	ctx := t.Context()
	if a.Info().KeySource != vault.KeySourceMember {
		t.Fatalf("key source %q", a.Info().KeySource)
	}
	if _, err := a.Put(ctx, "global", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	b := hb.open(t)
	rb := hb.recipient(t)
	_, _, err := b.Get(ctx, "global", "k")
	if !errors.Is(err, vault.ErrNotMember) || !errors.Is(err, vault.ErrWrongKey) || !strings.Contains(err.Error(), "palyra secrets members add "+rb) {
		t.Fatalf("Get on a non-member: %v; want ErrNotMember naming %q", err, "palyra secrets members add "+rb)
	}
	if _, err := b.Put(ctx, "global", "k2", []byte("x")); !errors.Is(err, vault.ErrNotMember) {
		t.Fatalf("Put on a non-member: %v; want ErrNotMember", err)
	}
	if _, err := b.AddMember(ctx, rb); !errors.Is(err, vault.ErrNotMember) {
		t.Fatalf("a non-member adding itself: %v; want ErrNotMember", err)
	}
	added, err := a.AddMember(ctx, rb)
	if err != nil || !added {
		t.Fatalf("AddMember: %v, %v", added, err)
	}
	if added, err := a.AddMember(ctx, rb); err != nil || added {
		t.Fatalf("adding a member twice: %v, %v; want false, nil", added, err)
	}
	got, _, err := b.Get(ctx, "global", "k")
	if err != nil || string(got.Reveal()) != "v" {
		t.Fatalf("Get on the added member (same handle): %v", err)
	}
	if _, err := b.Put(ctx, "global", "from_b", []byte("vb")); err != nil {
		t.Fatal(err)
	}
	if got, _, err := a.Get(ctx, "global", "from_b"); err != nil || string(got.Reveal()) != "vb" {
		t.Fatalf("a reading b's write: %v", err)
	}
	ms, err := a.Members(ctx)
	if err != nil || len(ms) != 2 || ms[0] != ha.recipient(t) || ms[1] != rb {
		t.Fatalf("Members: %v, %v", ms, err)
	}
	if _, err := a.AddMember(ctx, "age1nope"); err == nil {
		t.Fatal("AddMember accepted a malformed recipient")
	}
}

// sharedState reads the key-source record as etcd holds it.
func sharedState(t *testing.T, h host) *keysource.State {
	t.Helper()
	s, err := etcdstore.Open(t.Context(), h.root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, _, err := keysource.Read(t.Context(), h.root, s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// objectKeys returns the key id (hex) of every envelope under the prefix.
func objectKeys(t *testing.T, h host) map[string]string {
	t.Helper()
	s, err := etcdstore.Open(t.Context(), h.root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, id := range ids {
		blob, err := s.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		e, err := envelope.Parse(blob)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Header.Scope+"/"+e.Header.Key] = hex.EncodeToString(e.KEKID[:])
	}
	return out
}

// TestRemovedMemberReadsNothingNew: after host b is removed, the vault's
// key is new, no copy of it opens with b's identity, b (whose old handle
// still holds the old key) cannot read a secret written afterwards nor
// write, and every secret is under the new key.
func TestRemovedMemberReadsNothingNew(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha, hb := newHost(t, c, prefix), newHost(t, c, prefix)
	a := ha.open(t)
	ctx := t.Context()
	if _, err := a.AddMember(ctx, hb.recipient(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Put(ctx, "global", "before", []byte("old")); err != nil {
		t.Fatal(err)
	}
	b := hb.open(t)
	if _, _, err := b.Get(ctx, "global", "before"); err != nil {
		t.Fatal(err)
	}
	old := sharedState(t, ha).Active.KEKID

	rep, err := a.RemoveMember(ctx, hb.recipient(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OldKeyID != old || rep.NewKeyID == old || rep.Rewrapped != 1 || rep.From != "member" || rep.To != "member" {
		t.Fatalf("RemoveMember report %+v (old key %s)", rep, old)
	}
	if _, err := a.Put(ctx, "global", "after", []byte("new")); err != nil {
		t.Fatal(err)
	}
	st := sharedState(t, ha)
	if st.Active.KEKID != rep.NewKeyID || st.Pending != nil || st.Retired != nil || len(st.Active.Members) != 1 || st.Active.Members[0].Recipient != ha.recipient(t) {
		t.Fatalf("state after removal: %+v", st)
	}
	for _, m := range st.Active.Members {
		if _, err := (keysourceHostKeys{}).unwrap(hb.state, m.Wrapped); err == nil {
			t.Fatal("a copy of the new key opens with the removed host's identity")
		}
	}
	if _, _, err := b.Get(ctx, "global", "after"); !errors.Is(err, vault.ErrWrongKey) {
		t.Fatalf("removed host (old handle) reading a secret written after: %v; want ErrWrongKey", err)
	}
	if _, _, err := hb.open(t).Get(ctx, "global", "after"); !errors.Is(err, vault.ErrNotMember) {
		t.Fatalf("removed host (new handle) reading: %v; want ErrNotMember", err)
	}
	if _, err := b.Put(ctx, "global", "from_removed", []byte("x")); err == nil {
		t.Fatal("the removed host's write was stored")
	}
	for name, k := range objectKeys(t, ha) {
		if k != rep.NewKeyID {
			t.Errorf("%s is under key %s, not the new %s", name, k[:8], rep.NewKeyID[:8])
		}
	}
	if _, err := a.RemoveMember(ctx, ha.recipient(t)); err == nil || !strings.Contains(err.Error(), "last member") {
		t.Fatalf("removing the last member: %v", err)
	}
	if _, err := a.RemoveMember(ctx, hb.recipient(t)); err == nil {
		t.Fatal("removing a host that is not a member succeeded")
	}
}

// keysourceHostKeys unwraps with a state root's identity, as the member
// key source does.
type keysourceHostKeys struct{}

func (keysourceHostKeys) unwrap(state string, wrapped []byte) (*envelope.KEK, error) {
	return hostkey.UnwrapForTest(state, wrapped)
}

// TestWriteRacingARemovalNeverLandsUnderTheOldKey: while host a removes
// host b, b and a third member c keep writing new secrets. Every write b
// or c had acknowledged is readable afterwards by a, and every envelope in
// etcd is under the new key: none landed under the old one.
func TestWriteRacingARemovalNeverLandsUnderTheOldKey(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha, hb, hc := newHost(t, c, prefix), newHost(t, c, prefix), newHost(t, c, prefix)
	a := ha.open(t)
	ctx := t.Context()
	for _, h := range []host{hb, hc} {
		if _, err := a.AddMember(ctx, h.recipient(t)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if _, err := a.Put(ctx, "seed", fmt.Sprint("k", i), []byte("seed")); err != nil {
			t.Fatal(err)
		}
	}
	b, cv := hb.open(t), hc.open(t)
	stop := make(chan struct{})
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for _, w := range []struct {
		name string
		v    *vault.Vault
	}{{"b", b}, {"c", cv}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("%s_%d", w.name, i)
				if _, err := w.v.Put(ctx, "race", key, []byte(key)); err == nil {
					mu.Lock()
					acked = append(acked, key)
					mu.Unlock()
				}
			}
		}()
	}
	rep, err := a.RemoveMember(ctx, hb.recipient(t))
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged during the removal: the test raced nothing")
	}
	for _, key := range acked {
		got, _, err := a.Get(ctx, "race", key)
		if err != nil || string(got.Reveal()) != key {
			t.Errorf("acknowledged write %s: %v", key, err)
		}
	}
	for name, k := range objectKeys(t, ha) {
		if k != rep.NewKeyID {
			t.Errorf("%s is under key %s, not the new %s", name, k[:8], rep.NewKeyID[:8])
		}
	}
	t.Logf("%d writes acknowledged during the removal; %d rewrapped", len(acked), rep.Rewrapped)
}
