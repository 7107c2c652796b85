package etcdstore_test

// Benchmarks on the real 3-member TLS cluster of etcdproc (as the limited
// user): Get and Put through the store and through a vault, next to a bare
// clientv3 Get and Put of the same bytes in the same run (the floor), and
// List of 10 000 secrets. docs/PERFORMANCE.md ("etcd") has the results;
// bench/etcd/run.sh runs them.

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend/etcdstore"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// benchValue is the value the benchmarks store: 64 bytes, an API token's
// size. Its envelope is what the store and the bare client move.
var benchValue = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")

// benchBlob returns a sealed envelope of benchValue under a random key.
func benchBlob(b *testing.B, key string) []byte {
	b.Helper()
	var kek envelope.KEK
	_, _ = rand.Read(kek[:])
	now := time.Now().UTC()
	blob, err := envelope.Sealer{KEK: &kek}.Seal(envelope.Header{Scope: "global", Key: key, Created: now, Updated: now}, benchValue)
	if err != nil {
		b.Fatal(err)
	}
	return blob
}

// bareClient returns a client as the store's user, with the same TLS.
func bareClient(b *testing.B, c *etcdproc.Cluster) *clientv3.Client {
	b.Helper()
	cli, err := c.Client(etcdproc.User, c.Password)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	return cli
}

func benchStore(b *testing.B) (*etcdproc.Cluster, *etcdstore.Store, string) {
	b.Helper()
	c := etcdproc.Shared(b)
	prefix := etcdproc.NewPrefix()
	tc, err := c.TLS()
	if err != nil {
		b.Fatal(err)
	}
	s, err := etcdstore.New(context.Background(), etcdstore.Options{
		Endpoints: c.Endpoints(), Prefix: prefix, TLS: tc, User: etcdproc.User, Password: c.Password,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return c, s, prefix
}

// BenchmarkGet: Get of one envelope through the store, through a vault
// (which opens it), and a bare client's Get of the same bytes.
func BenchmarkGet(b *testing.B) {
	c, s, prefix := benchStore(b)
	ctx := context.Background()
	id := envelope.ObjectID("global", "bench")
	blob := benchBlob(b, "bench")
	if err := s.Put(ctx, id, blob); err != nil {
		b.Fatal(err)
	}
	bareKey := prefix + "bare"
	cli := bareClient(b, c)
	if _, err := cli.Put(ctx, bareKey, string(blob)); err != nil {
		b.Fatal(err)
	}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			if _, err := cli.Get(ctx, bareKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Get(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vault", func(b *testing.B) {
		v := benchVault(b, c)
		if _, err := v.Put(ctx, "global", "bench", benchValue); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			sec, _, err := v.Get(ctx, "global", "bench")
			if err != nil {
				b.Fatal(err)
			}
			sec.Wipe()
		}
	})
}

// BenchmarkPut: Put of one envelope through the store (envelope and header
// in one transaction), through a vault (reading the old header, sealing,
// a write guarded by the key state's revision, under the host's file
// lock), and a bare client's Put of the same bytes.
func BenchmarkPut(b *testing.B) {
	c, s, prefix := benchStore(b)
	ctx := context.Background()
	id := envelope.ObjectID("global", "bench")
	blob := benchBlob(b, "bench")
	cli := bareClient(b, c)
	bareKey := prefix + "bare"
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			if _, err := cli.Put(ctx, bareKey, string(blob)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if err := s.Put(ctx, id, blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vault", func(b *testing.B) {
		v := benchVault(b, c)
		for b.Loop() {
			if _, err := v.Put(ctx, "global", "bench", benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList10000: a vault's List of 10 000 secrets (one range read of
// the header keys).
func BenchmarkList10000(b *testing.B) {
	const n = 10000
	c := etcdproc.Shared(b)
	prefix := etcdproc.NewPrefix()
	h := newHost(b, c, prefix)
	v := h.open(b, vault.KeySourcePassphrase)
	ctx := context.Background()
	// Seed with transactions of 50 envelopes (100 keys, under etcd's
	// limit of 128 operations): a vault's one Put at a time would take
	// a minute.
	cli := bareClient(b, c)
	for i := 0; i < n; i += 50 {
		var ops []clientv3.Op
		for j := i; j < i+50 && j < n; j++ {
			key := fmt.Sprintf("key_%05d", j)
			blob := benchBlob(b, key)
			id := string(envelope.ObjectID("global", key))
			hdr := etcdstore.HeaderRecord(blob)
			ops = append(ops, clientv3.OpPut(prefix+"obj/"+id, string(blob)), clientv3.OpPut(prefix+"hdr/"+id, string(hdr)))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("vault", func(b *testing.B) {
		for b.Loop() {
			ms, err := v.List(ctx, "")
			if err != nil || len(ms) != n {
				b.Fatalf("List: %d secrets, %v", len(ms), err)
			}
		}
	})
}

// benchVault opens a vault of its own on the cluster (a cheap passphrase
// key: the benchmarks measure the store, not Argon2id).
func benchVault(b *testing.B, c *etcdproc.Cluster) *vault.Vault {
	b.Helper()
	return newHost(b, c, etcdproc.NewPrefix()).open(b, vault.KeySourcePassphrase)
}
