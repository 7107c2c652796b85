package etcdstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const writerNameEnv = "PALYRA_ETCD_TEST_WRITER"

// sharedKeys are the keys every writer writes in turn.
const sharedKeys = 3

func init() {
	childRoles["writer"] = childWriter
}

// faultValue is the value of the write tagged tag: the tag and a hash of
// it, so a reader can tell which write it holds and that it is whole.
func faultValue(tag string) []byte {
	sum := sha256.Sum256([]byte(tag))
	return []byte(tag + ":" + hex.EncodeToString(sum[:]))
}

// faultTag returns the tag of a value faultValue made, or an error.
func faultTag(v []byte) (string, error) {
	tag, _, ok := strings.Cut(string(v), ":")
	if !ok || string(faultValue(tag)) != string(v) {
		return "", fmt.Errorf("value %q is no whole write", v)
	}
	return tag, nil
}

// childWriter opens its host's vault and, until its stdin closes, writes
// in turn a key of its own (d_<name>_<i>) and a shared key (shared_<i mod
// 3>), printing one line per write: "ack|fail key tag start end [error]",
// times in Unix nanoseconds, after the write returned.
func childWriter() int {
	name := os.Getenv(writerNameEnv)
	ctx := childContext()
	cfg := vault.Config{Root: os.Getenv(childRootEnv), StateRoot: os.Getenv(childStateEnv), Backend: backend.KindEtcd,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }}.WithEnv()
	v, err := vault.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer v.Close()
	emit("ready")
	for i := 0; ctx.Err() == nil; i++ {
		time.Sleep(10 * time.Millisecond) // a pace, so the test stays a few hundred writes
		for _, key := range []string{fmt.Sprintf("d_%s_%d", name, i), fmt.Sprintf("shared_%d", i%sharedKeys)} {
			tag := fmt.Sprintf("%s.%d.%s", name, i, key)
			start := time.Now().UnixNano()
			_, err := v.Put(context.WithoutCancel(ctx), "global", key, faultValue(tag))
			end := time.Now().UnixNano()
			if err != nil {
				emit("fail %s %s %d %d %s", key, tag, start, end, strings.ReplaceAll(err.Error(), "\n", " "))
			} else {
				emit("ack %s %s %d %d", key, tag, start, end)
			}
		}
	}
	return 0
}

// write is one write a writer reported.
type write struct {
	acked      bool
	key, tag   string
	start, end int64
}

// writerLog collects the writes of every writer.
type writerLog struct {
	mu     sync.Mutex
	writes []write
	acks   map[string]int // per writer
	fails  int
}

func (l *writerLog) ackCount(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks[name]
}

// waitAcks waits until every writer has acknowledged at least min[name]
// writes; the limit is a deadlock guard.
func (l *writerLog) waitAcks(t *testing.T, names []string, want func(name string) int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range names {
		for l.ackCount(n) < want(n) {
			if time.Now().After(deadline) {
				t.Fatalf("writer %s acknowledged %d writes, want %d", n, l.ackCount(n), want(n))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestLeaderKilledDuringWritesFromTwoHosts: 2 hosts × 4 writer processes
// write keys of their own and shared keys while the etcd leader is killed
// with -9 (and later restarted). Afterwards every acknowledged write is in
// etcd's history of its key, each key of its own holds its write, each
// shared key holds one of its last writes (none that an acknowledged write
// begun after it had replaced), and every secret verifies.
func TestLeaderKilledDuringWritesFromTwoHosts(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	hosts := []host{newHost(t, c, prefix), newHost(t, c, prefix)}
	hosts[0].open(t, vault.KeySourcePassphrase)
	hosts[1].open(t, "")

	log := &writerLog{acks: map[string]int{}}
	var writers []*child
	var names []string
	var readers sync.WaitGroup
	for h := range hosts {
		for w := range 4 {
			name := fmt.Sprintf("h%dw%d", h, w)
			writers = append(writers, startChild(t, name, "writer", hosts[h], writerNameEnv+"="+name))
			names = append(names, name)
		}
	}
	for i, ch := range writers {
		ch.expect(t, "ready")
		name := names[i]
		readers.Add(1)
		go func() {
			defer readers.Done()
			for line := range ch.lines {
				f := strings.SplitN(line, " ", 6)
				if len(f) < 5 {
					continue
				}
				start, _ := strconv.ParseInt(f[3], 10, 64)
				end, _ := strconv.ParseInt(f[4], 10, 64)
				log.mu.Lock()
				log.writes = append(log.writes, write{acked: f[0] == "ack", key: f[1], tag: f[2], start: start, end: end})
				if f[0] == "ack" {
					log.acks[name]++
				} else {
					log.fails++
				}
				log.mu.Unlock()
			}
		}()
	}

	began := time.Now()
	log.waitAcks(t, names, func(string) int { return 5 })
	leader, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	restarted := false
	defer func() {
		if !restarted {
			_ = c.Restart(leader)
			_ = c.WaitHealthy(30 * time.Second)
		}
	}()
	atKill := map[string]int{}
	for _, n := range names {
		atKill[n] = log.ackCount(n)
	}
	// Every writer goes on under the new leader.
	killed := time.Now()
	log.waitAcks(t, names, func(n string) int { return atKill[n] + 5 })
	t.Logf("writers ready after %s; 5 more writes each %s after the kill", killed.Sub(began), time.Since(killed))
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if err := c.WaitHealthy(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, ch := range writers {
		ch.stdin.Close()
	}
	for _, ch := range writers {
		if err := ch.wait(); err != nil {
			t.Fatalf("writer %s: %v; stderr:\n%s", ch.name, err, ch.stderr)
		}
	}
	readers.Wait()
	t.Logf("%d writes, %d failed (the leader, member %d, was killed)", len(log.writes), log.fails, leader)

	byKey := map[string][]write{}
	for _, w := range log.writes {
		byKey[w.key] = append(byKey[w.key], w)
	}
	v := hosts[1].open(t, "")
	ctx := t.Context()

	// The final value of every key.
	for key, ws := range byKey {
		got, err := finalTag(ctx, v, key)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, "shared_") {
			w := ws[0] // a key of its own is written once
			if (w.acked && got != w.tag) || (!w.acked && got != "" && got != w.tag) {
				t.Errorf("%s holds %q; its write was %q (acknowledged %v)", key, got, w.tag, w.acked)
			}
			continue
		}
		i := slices.IndexFunc(ws, func(w write) bool { return w.tag == got })
		if i < 0 {
			t.Errorf("%s holds %q, which no writer wrote", key, got)
			continue
		}
		for _, later := range ws {
			if later.acked && later.start > ws[i].end {
				t.Errorf("%s holds %q (written by %d), but %q was acknowledged after it began at %d", key, got, ws[i].end, later.tag, later.start)
				break
			}
		}
	}
	rep, err := v.Verify(ctx)
	if err != nil || len(rep.Problems) != 0 || rep.Healthy == 0 {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	ms, err := v.List(ctx, "")
	if err != nil || rep.Healthy != len(ms) {
		t.Fatalf("Verify checked %d secrets, List shows %d (%v)", rep.Healthy, len(ms), err)
	}

	// Every acknowledged write is in etcd's history: each revision of each
	// object's key, read with its revision, opened by the vault.
	checked := time.Now()
	history := readHistory(t, c, prefix, byKey)
	defer func() { t.Logf("history read and replayed in %s", time.Since(checked)) }()
	store := openTTL(t, c, prefix)
	for key := range byKey {
		blobs := history[key]
		seen := map[string]bool{}
		id := envelope.ObjectID("global", key)
		for _, blob := range blobs {
			if err := store.Put(ctx, id, blob); err != nil {
				t.Fatal(err)
			}
			tag, err := finalTag(ctx, v, key)
			if err != nil {
				t.Fatalf("%s at an older revision: %v", key, err)
			}
			seen[tag] = true
		}
		for _, w := range byKey[key] {
			if w.acked && !seen[w.tag] {
				t.Errorf("acknowledged write %q of %s is not in etcd's history (%d revisions)", w.tag, key, len(blobs))
			}
		}
	}
}

// finalTag returns the tag of the value of global/key, "" when absent.
func finalTag(ctx context.Context, v *vault.Vault, key string) (string, error) {
	s, _, err := v.Get(ctx, "global", key)
	if err != nil {
		if errors.Is(err, vault.ErrNotFound) {
			return "", nil
		}
		return "", fmt.Errorf("reading %s: %w", key, err)
	}
	defer s.Wipe()
	return faultTag(s.Reveal())
}

// readHistory returns every version of each key's envelope, newest first,
// read from etcd at the revision before each modification.
func readHistory(t *testing.T, c *etcdproc.Cluster, prefix string, byKey map[string][]write) map[string][][]byte {
	t.Helper()
	cli, err := c.Client(etcdproc.User, c.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	out := map[string][][]byte{}
	for key := range byKey {
		k := prefix + "obj/" + string(envelope.ObjectID("global", key))
		var opts []clientv3.OpOption
		for {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			resp, err := cli.Get(ctx, k, opts...)
			cancel()
			if err != nil {
				t.Fatalf("reading the history of %s: %v", key, err)
			}
			if len(resp.Kvs) == 0 {
				break
			}
			kv := resp.Kvs[0]
			out[key] = append(out[key], kv.Value)
			if kv.Version <= 1 {
				break
			}
			opts = []clientv3.OpOption{clientv3.WithRev(kv.ModRevision - 1)}
		}
	}
	return out
}
