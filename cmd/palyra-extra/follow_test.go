//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
)

// The follow tests run two hosts (two state roots) on one vault in the
// real 3-member cluster: host a writes with the real palyra, host b runs
// the real "palyra daemon", whose on_change references follow a's writes.

// followConfig is b's palyra.toml: one followed reference, one held at
// start, one read on every use.
const followConfig = `[model_provider]
openai_api_key = { vault_ref = "vault://fleet/followed", refresh = "on_change" }
anthropic_api_key = { vault_ref = "vault://fleet/pinned" }
[tools]
token = { vault_ref = "vault://fleet/each", refresh = "per_use" }
`

const (
	followedPath = "model_provider.openai_api_key"
	pinnedPath   = "model_provider.anthropic_api_key"
	perUsePath   = "tools.token"
)

// syncBuffer is an io.Writer safe for the daemon's output copier and the
// test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hostDaemon is a host's running "palyra daemon".
type hostDaemon struct {
	t      testing.TB
	h      host
	cmd    *exec.Cmd
	out    *syncBuffer
	client *api.Client
	done   chan struct{}
}

// startDaemon writes config as h's palyra.toml and starts h's daemon on
// it, waiting until it answers.
func (h host) startDaemon(config string) *hostDaemon {
	h.t.Helper()
	path := filepath.Join(h.state, "palyra.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		h.t.Fatal(err)
	}
	d := &hostDaemon{t: h.t, h: h, out: &syncBuffer{}, done: make(chan struct{}),
		client: api.NewClient(filepath.Join(h.state, api.DirName, api.SocketName))}
	d.cmd = exec.Command(h.palyra, "daemon", "--config", path, "--log-level", "debug")
	d.cmd.Env = h.env()
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	h.t.Cleanup(func() {
		d.client.Close()
		d.cmd.Process.Kill()
		<-d.done
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.client.Health(ctx)
		cancel()
		if err == nil {
			return d
		}
		select {
		case <-d.done:
			h.t.Fatalf("the daemon exited while starting:\n%s", d.out)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the daemon did not answer within a minute: %v\n%s", err, d.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// value asks the daemon for the reference at path.
func (d *hostDaemon) value(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := d.client.Resolve(ctx, api.ResolveRequest{Path: path})
	if err != nil {
		return "", err
	}
	defer resp.Value.Wipe()
	return string(resp.Value.Reveal()), nil
}

// waitValue waits until the daemon serves want at path, failing after
// limit, and returns how long it took.
func (d *hostDaemon) waitValue(path, want string, limit time.Duration) time.Duration {
	d.t.Helper()
	start := time.Now()
	var got string
	var err error
	for time.Since(start) < limit {
		if got, err = d.value(path); err == nil && got == want {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.t.Fatalf("after %v the daemon serves %q (error %v) at %s, want %q\n%s", limit, got, err, path, want, d.out)
	return 0
}

func (d *hostDaemon) status() api.Status {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := d.client.Status(ctx)
	if err != nil {
		d.t.Fatalf("status: %v\n%s", err, d.out)
	}
	return st
}

// refStatus returns the status of the reference at path.
func refStatus(t *testing.T, st api.Status, path string) api.RefStatus {
	t.Helper()
	for _, r := range st.References {
		if r.Path == path {
			return r
		}
	}
	t.Fatalf("status lists no reference %s: %+v", path, st.References)
	return api.RefStatus{}
}

// newFleet makes hosts a and b on a fresh prefix of c, with the three
// secrets of followConfig stored by a.
func newFleet(t testing.TB, c *etcdproc.Cluster) (a, b host) {
	t.Helper()
	prefix := etcdproc.NewPrefix()
	a, b = newHost(t), newHost(t)
	a.ok("", initArgs(c, prefix)...)
	b.ok("", initArgs(c, prefix)...)
	for _, k := range []string{"followed", "pinned", "each"} {
		a.ok(k+"-0", "secrets", "set", "fleet", k)
	}
	return a, b
}

// TestDaemonServesAnotherHostsWrites: both hosts run a daemon; a put on
// host a is served by host b's daemon for its on_change reference, without
// a reload, and a put on b by a's; the reference held
// at start keeps its value; a deletion makes the followed reference fail
// until the secret is back; b's audit log records the refreshes, never a
// value.
func TestDaemonServesAnotherHostsWrites(t *testing.T) {
	c := etcdproc.Shared(t)
	a, b := newFleet(t, c)
	d := b.startDaemon(followConfig)
	d.waitValue(followedPath, "followed-0", 10*time.Second)
	da := a.startDaemon(followConfig)
	da.waitValue(followedPath, "followed-0", 10*time.Second)

	for i := 1; i <= 3; i++ {
		v := "followed-" + strconv.Itoa(i)
		a.ok(v, "secrets", "set", "fleet", "followed")
		d.waitValue(followedPath, v, 10*time.Second)
	}
	a.ok("pinned-1", "secrets", "set", "fleet", "pinned")
	a.ok("followed-4", "secrets", "set", "fleet", "followed")
	d.waitValue(followedPath, "followed-4", 10*time.Second)
	if got, err := d.value(pinnedPath); err != nil || got != "pinned-0" {
		t.Fatalf("the on_startup reference serves %q, %v; want the value it held at start", got, err)
	}

	a.ok("", "secrets", "delete", "fleet", "followed")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := d.value(followedPath)
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the followed reference still resolves 10 s after its secret was deleted\n%s", d.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.ok("followed-5", "secrets", "set", "fleet", "followed")
	d.waitValue(followedPath, "followed-5", 10*time.Second)

	// Each host's daemon follows the other's writes: a's daemon serves
	// what b stores.
	da.waitValue(followedPath, "followed-5", 10*time.Second)
	b.ok("from-b", "secrets", "set", "fleet", "followed")
	da.waitValue(followedPath, "from-b", 10*time.Second)
	d.waitValue(followedPath, "from-b", 10*time.Second)

	logs := d.out.String() + readAudit(t, b) + da.out.String() + readAudit(t, a)
	for _, v := range []string{"followed-1", "followed-4", "followed-5", "from-b", "pinned-1", "each-0"} {
		if strings.Contains(logs, v) {
			t.Fatalf("a value reached the daemon's logs or audit log:\n%s", logs)
		}
	}
	// b's audit log holds one record per refresh: the path, the secret,
	// why and the result, for the changes, the deletion and the resync
	// that starts every watch.
	counts := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(readAudit(t, b)), "\n") {
		var rec struct{ Event, Path, Scope, Key, Trigger, Result string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if rec.Event != "refresh" {
			continue
		}
		if rec.Path != followedPath || rec.Scope != "fleet" || rec.Key != "followed" {
			t.Fatalf("a refresh record of another reference: %s", line)
		}
		counts[rec.Trigger+" "+rec.Result]++
	}
	if counts["change ok"] < 6 || counts["change deleted"] != 1 || counts["resync ok"] < 1 {
		t.Fatalf("refresh records by trigger and result: %v; want at least 6 changes ok, 1 deleted, 1 resync\n%s", counts, readAudit(t, b))
	}
}

// readAudit returns b's daemon audit log.
func readAudit(t *testing.T, h host) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.state, api.DirName, "audit.log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(data)
}

// TestDaemonFollowsThroughALeaderKill: the etcd leader killed with -9 while
// b's daemon watches; every write a makes afterwards reaches b's daemon.
func TestDaemonFollowsThroughALeaderKill(t *testing.T) {
	c := etcdproc.Shared(t)
	a, b := newFleet(t, c)
	d := b.startDaemon(followConfig)
	d.waitValue(followedPath, "followed-0", 10*time.Second)

	leader, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	c.Outage(t, leader)
	// A write during the election may fail (no leader yet): the user
	// tries again. Every acknowledged write reaches b's daemon.
	for i := 1; i <= 5; i++ {
		v := "after-kill-" + strconv.Itoa(i)
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := a.run(v, "secrets", "set", "fleet", "followed")
			if r.code == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no write acknowledged within 30 s of the leader's kill: exit %d\n%s", r.code, r.stderr)
			}
			t.Logf("a write during the election failed (tried again): exit %d: %s", r.code, strings.TrimSpace(r.stderr))
		}
		d.waitValue(followedPath, v, 20*time.Second)
	}
}

// TestDaemonSaysStaleWhileTheClusterIsDownThenCatchesUp: every member
// stopped: b's daemon keeps serving what it holds, per_use fails as the
// backend being unavailable, and its status says which references are stale
// and since when; every member back: it catches up with a write made by a
// once the cluster answers, and is no longer stale.
func TestDaemonSaysStaleWhileTheClusterIsDownThenCatchesUp(t *testing.T) {
	c := etcdproc.Shared(t)
	a, b := newFleet(t, c)
	d := b.startDaemon(followConfig)
	d.waitValue(followedPath, "followed-0", 10*time.Second)
	if r := refStatus(t, d.status(), followedPath); r.Stale {
		t.Fatalf("stale before anything happened: %+v", r)
	}

	stopped := time.Now()
	restart := c.Outage(t)

	deadline := time.Now().Add(30 * time.Second)
	var r api.RefStatus
	for {
		r = refStatus(t, d.status(), followedPath)
		if r.Stale {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not stale 30 s after every member stopped: %+v\n%s", r, d.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.StaleSince == nil || r.StaleSince.Before(stopped.Add(-10*time.Second)) || r.StaleSince.After(time.Now()) {
		t.Fatalf("stale since %v; the members stopped at %v", r.StaleSince, stopped)
	}
	if p := refStatus(t, d.status(), pinnedPath); p.Stale {
		t.Fatalf("an on_startup reference is reported stale: %+v", p)
	}
	if got, err := d.value(followedPath); err != nil || got != "followed-0" {
		t.Fatalf("while the cluster is down the followed reference serves %q, %v; want its last value", got, err)
	}
	if got, err := d.value(pinnedPath); err != nil || got != "pinned-0" {
		t.Fatalf("while the cluster is down the held reference serves %q, %v", got, err)
	}
	_, err := d.value(perUsePath)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeUnavailable {
		t.Fatalf("per_use while the cluster is down: %v; want the backend-unavailable error", err)
	}

	restart()
	a.ok("followed-1", "secrets", "set", "fleet", "followed")
	d.waitValue(followedPath, "followed-1", 30*time.Second)
	deadline = time.Now().Add(30 * time.Second)
	for refStatus(t, d.status(), followedPath).Stale {
		if time.Now().After(deadline) {
			t.Fatalf("still stale 30 s after the cluster came back\n%s", d.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := d.value(perUsePath); err != nil || got != "each-0" {
		t.Fatalf("per_use after the cluster came back: %q, %v", got, err)
	}
}

// TestDaemonResynchronisesAfterCompaction: b's daemon reaches the cluster
// through one member only; that member is stopped, a writes twice through
// the others, the history is compacted past b's revision with etcdctl, and
// the member comes back: b's watch cannot resume where it stood, reads
// afresh and serves a's last write.
func TestDaemonResynchronisesAfterCompaction(t *testing.T) {
	c := etcdproc.Shared(t)
	a, b := newFleet(t, c)
	root := filepath.Join(b.state, "vault")
	st, err := etcdconf.Read(root)
	if err != nil {
		t.Fatal(err)
	}
	st.Endpoints = c.Endpoints()[:1]
	if err := etcdconf.Write(root, st); err != nil {
		t.Fatal(err)
	}
	d := b.startDaemon(followConfig)
	d.waitValue(followedPath, "followed-0", 10*time.Second)

	restart := c.Outage(t, 0)
	deadline := time.Now().Add(30 * time.Second)
	for !refStatus(t, d.status(), followedPath).Stale {
		if time.Now().After(deadline) {
			t.Fatalf("not stale 30 s after its one member stopped\n%s", d.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.ok("followed-1", "secrets", "set", "fleet", "followed")
	a.ok("followed-2", "secrets", "set", "fleet", "followed")
	compact(t, c)
	restart()
	d.waitValue(followedPath, "followed-2", 60*time.Second)
	deadline = time.Now().Add(30 * time.Second)
	for refStatus(t, d.status(), followedPath).Stale {
		if time.Now().After(deadline) {
			t.Fatalf("still stale 30 s after its member came back\n%s", d.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.ok("followed-3", "secrets", "set", "fleet", "followed")
	d.waitValue(followedPath, "followed-3", 10*time.Second)
}

// compact compacts the cluster's history up to its current revision with
// etcdctl, through the members still running (1 and 2), as etcd's root.
func compact(t *testing.T, c *etcdproc.Cluster) {
	t.Helper()
	eps := strings.Join(c.Endpoints()[1:], ",")
	base := []string{"--endpoints", eps, "--cacert", c.CAFile, "--cert", c.CertFile, "--key", c.KeyFile,
		"--user", "root:" + c.RootPassword, "--command-timeout", "10s"}
	out, err := etcdctl(append(base, "endpoint", "status", "--write-out", "fields")...)
	if err != nil {
		t.Fatalf("etcdctl endpoint status: %v\n%s", err, out)
	}
	var rev string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, `"Revision" : `); ok {
			rev = strings.TrimSpace(v)
			break
		}
	}
	if rev == "" {
		t.Fatalf("etcdctl endpoint status shows no revision:\n%s", out)
	}
	if out, err := etcdctl(append(base, "compact", rev, "--physical")...); err != nil {
		t.Fatalf("etcdctl compact %s: %v\n%s", rev, err, out)
	}
}

func etcdctl(args ...string) (string, error) {
	cmd := exec.Command("etcdctl", args...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDaemonFollowsAMemberRemoval: on a member-key vault, host a removes a
// third host c, which rotates the key-encryption key; b's daemon, still a
// member, keeps serving and follows a's next write, sealed under the new
// key, without a restart.
func TestDaemonFollowsAMemberRemoval(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a, b, gone := newHost(t), newHost(t), newHost(t)
	a.ok("", memberInitArgs(c, prefix)...)
	for _, h := range []host{b, gone} {
		h.run("", memberInitArgs(c, prefix)...) // says how to be added
		a.ok("", "secrets", "members", "add", h.recipient())
	}
	for _, k := range []string{"followed", "pinned", "each"} {
		a.ok(k+"-0", "secrets", "set", "fleet", k)
	}
	d := b.startDaemon(followConfig)
	d.waitValue(followedPath, "followed-0", 10*time.Second)

	a.ok("", "secrets", "members", "remove", gone.recipient())
	a.ok("followed-1", "secrets", "set", "fleet", "followed")
	d.waitValue(followedPath, "followed-1", 20*time.Second)
	if got, err := d.value(perUsePath); err != nil || got != "each-0" {
		t.Fatalf("per_use after the rotation: %q, %v; want the value re-sealed under the new key", got, err)
	}
	if r := gone.run("", "secrets", "get", "fleet", "followed", "--reveal"); r.code == 0 || strings.Contains(r.stdout, "followed-1") {
		t.Fatalf("the removed host reads the new value: exit %d", r.code)
	}
}
