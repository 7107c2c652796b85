package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/palyra/palyra-vault/vault/hostkey"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

func init() {
	hostkey.Register() // the member key source, for TestWatchFollowsAMemberRemoval
}

// Generous limits for events to arrive: no test asserts a speed.
const (
	eventWait = 20 * time.Second
	// lostWait bounds how long ChangeLost may take (about 2 s is the
	// aim; bench or the test log shows the real figure).
	lostWait = 10 * time.Second
)

// changeLog collects what one Watch reported.
type changeLog struct {
	mu      sync.Mutex
	changes []vault.Change
	at      []time.Time
	done    chan error
	cancel  context.CancelFunc
}

// watch runs v.Watch until the test ends, and waits for its first report,
// the resync that says it follows.
func watch(t *testing.T, v *vault.Vault) *changeLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &changeLog{done: make(chan error, 1), cancel: cancel}
	go func() {
		l.done <- v.Watch(ctx, func(c vault.Change) {
			l.mu.Lock()
			l.changes = append(l.changes, c)
			l.at = append(l.at, time.Now())
			l.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-l.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v; want context.Canceled", err)
		}
	})
	first := l.wait(t, "the first report", 0, func(c vault.Change) bool { return true })
	if c := l.get(first); c.Kind != vault.ChangeResync || c.Revision == 0 {
		t.Fatalf("first report %+v; want a resync naming its revision", c)
	}
	return l
}

func (l *changeLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.changes)
}

func (l *changeLog) get(i int) vault.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changes[i]
}

// when returns when change i was reported.
func (l *changeLog) when(i int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.at[i]
}

// wait returns the index of the first change at or after index from that
// match says, waiting up to eventWait; it fails the test if none comes or
// Watch ended.
func (l *changeLog) wait(t *testing.T, what string, from int, match func(vault.Change) bool) int {
	t.Helper()
	return l.waitWithin(t, what, from, eventWait, match)
}

func (l *changeLog) waitWithin(t *testing.T, what string, from int, within time.Duration, match func(vault.Change) bool) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := from; ; {
		l.mu.Lock()
		for ; i < len(l.changes); i++ {
			if match(l.changes[i]) {
				l.mu.Unlock()
				return i
			}
		}
		l.mu.Unlock()
		select {
		case err := <-l.done:
			l.done <- err
			t.Fatalf("waiting for %s: Watch returned %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; changes: %s", what, within, l.dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *changeLog) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, c := range l.changes {
		fmt.Fprintf(&b, "\n  %s %s deleted=%v rev=%d %s", c.Kind, c.Ref, c.Deleted, c.Revision, c.Reason)
	}
	return b.String()
}

// isSecret matches the report of a write (or delete) of global/key.
func isSecret(key string, deleted bool) func(vault.Change) bool {
	return func(c vault.Change) bool {
		return c.Kind == vault.ChangeSecret && c.Ref == vault.Ref{Scope: "global", Key: key} && c.Deleted == deleted
	}
}

func isKind(k vault.ChangeKind) func(vault.Change) bool {
	return func(c vault.Change) bool { return c.Kind == k }
}

// hostOn is newHost whose settings name only the given endpoints.
func hostOn(t *testing.T, c *etcdproc.Cluster, prefix string, endpoints []string) host {
	t.Helper()
	dir := t.TempDir()
	h := host{state: filepath.Join(dir, "state"), root: filepath.Join(dir, "state", "vault")}
	if err := os.MkdirAll(h.root, 0o700); err != nil {
		t.Fatal(err)
	}
	st := &etcdconf.Settings{
		Endpoints: endpoints, Prefix: prefix, CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile,
		User: etcdproc.User, PasswordFile: c.PasswordFile,
	}
	if err := etcdconf.Write(h.root, st); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestWatchSeesAnotherHostsPutAndDelete: host b follows what host a
// stores and deletes, with the right reference, and never a value.
func TestWatchSeesAnotherHostsPutAndDelete(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a := newHost(t, c, prefix).open(t, vault.KeySourcePassphrase)
	b := newHost(t, c, prefix).open(t, "")
	if !b.Watchable() {
		t.Fatal("an etcd vault is not Watchable")
	}
	ctx := t.Context()
	log := watch(t, b)
	if _, err := a.Put(ctx, "global", "api_token", []byte("value-1")); err != nil {
		t.Fatal(err)
	}
	i := log.wait(t, "the put", 0, isSecret("api_token", false))
	if _, err := a.Put(ctx, "plugins/github", "token", []byte("value-2")); err != nil {
		t.Fatal(err)
	}
	j := log.wait(t, "the put in another scope", i+1, func(c vault.Change) bool {
		return c.Kind == vault.ChangeSecret && c.Ref == vault.Ref{Scope: "plugins/github", Key: "token"}
	})
	if existed, err := a.Delete(ctx, "global", "api_token"); err != nil || !existed {
		t.Fatalf("Delete: %v, %v", existed, err)
	}
	k := log.wait(t, "the delete", j+1, isSecret("api_token", true))
	if r1, r2 := log.get(i).Revision, log.get(k).Revision; r1 == 0 || r2 <= r1 {
		t.Fatalf("revisions of the put and the delete: %d, %d; want increasing", r1, r2)
	}
	if strings.Contains(log.dump(), "value-") {
		t.Fatalf("a change holds a value: %s", log.dump())
	}
	for i := range log.len() {
		if c := log.get(i); c.Kind != vault.ChangeSecret && c.Kind != vault.ChangeResync {
			t.Fatalf("unexpected report %+v with the cluster healthy", c)
		}
	}
}

// TestWatchFollowsALeaderKilledMidWatch: the etcd leader killed with -9
// while host b watches; every put host a makes afterwards and that etcd
// acknowledged is reported to b, or covered by a resync reported after
// the put began.
func TestWatchFollowsALeaderKilledMidWatch(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a := newHost(t, c, prefix).open(t, vault.KeySourcePassphrase)
	b := newHost(t, c, prefix).open(t, "")
	ctx := t.Context()
	log := watch(t, b)
	leader, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	c.Outage(t, leader)
	type put struct {
		key   string
		seen0 int // changes reported when the put began
	}
	var acked []put
	for i := range 20 {
		key := fmt.Sprintf("after_kill_%d", i)
		seen0 := log.len()
		if _, err := a.Put(ctx, "global", key, []byte("v")); err != nil {
			t.Logf("put %s: %v", key, err)
			continue
		}
		acked = append(acked, put{key, seen0})
	}
	if len(acked) < 10 {
		t.Fatalf("only %d of 20 puts acknowledged after the leader was killed", len(acked))
	}
	for _, p := range acked {
		log.wait(t, "the put "+p.key+" or a resync after it began", p.seen0, func(c vault.Change) bool {
			return isSecret(p.key, false)(c) || c.Kind == vault.ChangeResync
		})
	}
	t.Logf("%d puts acknowledged after the kill; reports: %s", len(acked), log.dump())
}

// TestWatchReportsLostAndResyncsWhenTheClusterComesBack: every member
// stopped: ChangeLost within a few seconds, with Since; all restarted:
// ChangeResync, and later puts are reported again.
func TestWatchReportsLostAndResyncsWhenTheClusterComesBack(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha := newHost(t, c, prefix)
	a := ha.open(t, vault.KeySourcePassphrase)
	b := newHost(t, c, prefix).open(t, "")
	ctx := t.Context()
	log := watch(t, b)
	if _, err := a.Put(ctx, "global", "before", []byte("v")); err != nil {
		t.Fatal(err)
	}
	i := log.wait(t, "the put before", 0, isSecret("before", false))
	stopped := time.Now()
	restart := c.Outage(t)
	j := log.waitWithin(t, "ChangeLost", i+1, lostWait, isKind(vault.ChangeLost))
	lost := log.get(j)
	took := log.when(j).Sub(stopped)
	if lost.Since.IsZero() || lost.Since.After(stopped) || stopped.Sub(lost.Since) > 5*time.Second {
		t.Fatalf("ChangeLost.Since = %v; want shortly before the cluster stopped at %v", lost.Since, stopped)
	}
	if lost.Reason == "" || !strings.Contains(lost.Reason, c.Endpoints()[0]) {
		t.Fatalf("ChangeLost.Reason %q does not name the endpoints", lost.Reason)
	}
	t.Logf("ChangeLost %s after every member stopped: %s", took, lost.Reason)
	if n := log.len(); n != j+1 {
		t.Fatalf("reports after ChangeLost while the cluster is down: %s", log.dump())
	}
	back := time.Now()
	restart()
	k := log.wait(t, "ChangeResync after the restart", j+1, isKind(vault.ChangeResync))
	t.Logf("ChangeResync %s after the members were started again: %s", log.when(k).Sub(back), log.get(k).Reason)
	// b's handle, which followed the cluster throughout, reads again.
	if got, _, err := b.Get(ctx, "global", "before"); err != nil || string(got.Reveal()) != "v" {
		t.Fatalf("b reading after the resync: %v", err)
	}
	// A new handle of a, as a new palyra command would open (an idle
	// handle's reconnection is TestIdleStoreReachesARestartedCluster's).
	putRetrying(t, ha.open(t, ""), "after")
	log.wait(t, "the put after", k+1, isSecret("after", false))
}

// putRetrying puts global/key through v, trying again for a while: a
// client whose every member was down may take a few seconds to connect
// again (gRPC's own backoff), which is not what the test is about.
func putRetrying(t *testing.T, v *vault.Vault, key string) {
	t.Helper()
	deadline := time.Now().Add(eventWait)
	for {
		_, err := v.Put(t.Context(), "global", key, []byte("v"))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("put %s: %v", key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWatchResyncsAfterCompactionWhileAway: host b knows one member only;
// that member stops, host a writes through the others, the history is
// compacted past b's revision, and the member comes back: b reports
// ChangeResync (not an error), reads what a wrote, and goes on.
func TestWatchResyncsAfterCompactionWhileAway(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	leader, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	m := (leader + 1) % c.Members()
	a := newHost(t, c, prefix).open(t, vault.KeySourcePassphrase)
	b := hostOn(t, c, prefix, []string{c.Endpoints()[m]}).open(t, "")
	ctx := t.Context()
	log := watch(t, b)
	restart := c.Outage(t, m)
	j := log.waitWithin(t, "ChangeLost", 0, lostWait, isKind(vault.ChangeLost))
	if _, err := a.Put(ctx, "global", "while_away", []byte("written while b was away")); err != nil {
		t.Fatal(err)
	}
	compact(t, c)
	restart()
	k := log.wait(t, "ChangeResync", j+1, isKind(vault.ChangeResync))
	got, _, err := b.Get(ctx, "global", "while_away")
	if err != nil || string(got.Reveal()) != "written while b was away" {
		t.Fatalf("b reading what a wrote while it was away: %v", err)
	}
	if _, err := a.Put(ctx, "global", "after", []byte("v")); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "the put after", k+1, isSecret("after", false))
}

// compact compacts the cluster's history up to its current revision, as
// etcd's root user (etcdctl compact does the same).
func compact(t *testing.T, c *etcdproc.Cluster) int64 {
	t.Helper()
	cli, err := c.Root()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatalf("compacting at revision %d: %v", resp.Header.Revision, err)
	}
	return resp.Header.Revision
}

// TestStoreWatchFromACompactedRevision: a watch asked to start from a
// revision compacted away reports EventResync naming the compaction, then
// follows later writes.
func TestStoreWatchFromACompactedRevision(t *testing.T) {
	c := etcdproc.Shared(t)
	s := openTTL(t, c, etcdproc.NewPrefix())
	ctx := t.Context()
	id := envelope.ObjectID("global", "k")
	if err := s.Put(ctx, id, []byte("one")); err != nil {
		t.Fatal(err)
	}
	_, from, err := s.GetRev(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"two", "three"} {
		if err := s.Put(ctx, id, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	compact(t, c) // keeps "three" alone: the revision of "two", from+1, is gone
	events := make(chan backend.Event, 16)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Watch(wctx, from, func(e backend.Event) { events <- e }) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v", err)
		}
	}()
	next := func() backend.Event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(eventWait):
			t.Fatal("no event")
		}
		return backend.Event{}
	}
	if e := next(); e.Kind != backend.EventResync || !strings.Contains(e.Reason, "compacted") || e.Revision <= from {
		t.Fatalf("first event %+v; want a resync after the compaction", e)
	}
	if err := s.Put(ctx, id, []byte("four")); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Kind != backend.EventObject || e.ID != id || string(e.Header) != "four" || e.Deleted {
		t.Fatalf("event %+v; want the put of %s", e, id)
	}
}

// TestStoreWatchReportsObjectsAndRecordsNotLocks: the store's own events:
// an object stored and deleted (with its header, from the previous value
// for the delete), a record written; a lock taken and released is not
// reported.
func TestStoreWatchReportsObjectsAndRecordsNotLocks(t *testing.T) {
	c := etcdproc.Shared(t)
	s := openTTL(t, c, etcdproc.NewPrefix())
	ctx := t.Context()
	events := make(chan backend.Event, 16)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Watch(wctx, 0, func(e backend.Event) { events <- e }) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v", err)
		}
	}()
	next := func() backend.Event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(eventWait):
			t.Fatal("no event")
		}
		return backend.Event{}
	}
	if e := next(); e.Kind != backend.EventResync || e.Revision == 0 {
		t.Fatalf("first event %+v; want the resync naming the start", e)
	}
	id := envelope.ObjectID("global", "k")
	l, err := s.Lock(ctx, backend.LockKeyState)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do   func() error
		want backend.Event
	}{
		{func() error { return s.Put(ctx, id, []byte("blob")) }, backend.Event{Kind: backend.EventObject, ID: id, Header: []byte("blob")}},
		{func() error { _, err := s.Delete(ctx, id); return err }, backend.Event{Kind: backend.EventObject, ID: id, Header: []byte("blob"), Deleted: true}},
		{func() error { _, err := s.WriteRecord(ctx, backend.RecordKeySource, []byte("{}"), 0); return err }, backend.Event{Kind: backend.EventRecord, Record: backend.RecordKeySource}},
	}
	for i, st := range steps {
		if err := st.do(); err != nil {
			t.Fatal(err)
		}
		e := next()
		if e.Kind != st.want.Kind || e.ID != st.want.ID || string(e.Header) != string(st.want.Header) || e.Deleted != st.want.Deleted || e.Record != st.want.Record || e.Revision == 0 {
			t.Fatalf("step %d: event %+v; want %+v", i, e, st.want)
		}
	}
}

// TestWatchFollowsAMemberRemoval: host a removes member c, which rotates
// the vault's key; host b, watching, reports ChangeResync, and its handle,
// never reopened, opens what a sealed under the new key and what the
// removal rewrapped.
func TestWatchFollowsAMemberRemoval(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	ha, hb, hc := newHost(t, c, prefix), newHost(t, c, prefix), newHost(t, c, prefix)
	a := ha.open(t, vault.KeySourceMember)
	ctx := t.Context()
	for _, h := range []host{hb, hc} {
		r, err := vault.HostRecipient(h.state)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.AddMember(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Put(ctx, "global", "before", []byte("old")); err != nil {
		t.Fatal(err)
	}
	b := hb.open(t, "")
	if err := b.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	log := watch(t, b)
	rc, err := vault.HostRecipient(hc.state)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.RemoveMember(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	i := log.wait(t, "ChangeResync for the key change", 0, func(c vault.Change) bool {
		return c.Kind == vault.ChangeResync && strings.Contains(c.Reason, "key state")
	})
	if strings.Contains(log.get(i).Reason, "failed") {
		t.Fatalf("b did not follow the key change: %s", log.get(i).Reason)
	}
	if _, err := a.Put(ctx, "global", "after", []byte("new")); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "the put after the removal", i+1, isSecret("after", false))
	for key, want := range map[string]string{"before": "old", "after": "new"} {
		got, _, err := b.Get(ctx, "global", key)
		if err != nil || string(got.Reveal()) != want {
			t.Fatalf("b (not reopened) reading %s after the removal rotated to key %s: %v", key, rep.NewKeyID[:8], err)
		}
	}
}

// BenchmarkWatchPropagation measures how long a put through host a takes
// to be reported by host b's Watch: from the start of a's Put to b's
// report (ns/op), on the real 3-member TLS cluster.
func BenchmarkWatchPropagation(b *testing.B) {
	c := etcdproc.Shared(b)
	prefix := etcdproc.NewPrefix()
	va := newHost(b, c, prefix).open(b, vault.KeySourcePassphrase)
	vb := newHost(b, c, prefix).open(b, "")
	seen := make(chan vault.Change, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- vb.Watch(ctx, func(c vault.Change) { seen <- c }) }()
	defer func() { cancel(); <-done }()
	if c := <-seen; c.Kind != vault.ChangeResync {
		b.Fatalf("first report %+v", c)
	}
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("k%d", i%16)
		if _, err := va.Put(ctx, "global", key, []byte("v")); err != nil {
			b.Fatal(err)
		}
		for c := range seen {
			if c.Kind == vault.ChangeSecret && c.Ref.Key == key {
				break
			}
		}
	}
}
