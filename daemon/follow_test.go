//go:build unix

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// followConfig is fixture.Config plus two on_change references (one in
// Palyra's SecretRef form) to secrets of fixture.Secrets.
const followConfig = fixture.Config + `
[follow]
token = { vault_ref = "vault://global/other", refresh = "on_change" }

[admin.auth_token_secret_ref]
kind = "vault"
vault_ref = "plugins/github/token"
refresh_policy = "on_change"
`

// changes is a source of vault changes standing in for a shared vault's
// Watch (the file vault cannot be watched): the daemon's real watch
// goroutine runs it, and each change sent is handled before send returns.
type changes struct {
	t       testing.TB
	ch      chan vault.Change
	handled chan struct{}
	// calls counts the watches started.
	calls chan struct{}
	// end, when closed, makes the running watch return an error.
	end chan struct{}
}

func newChanges(t testing.TB) *changes {
	return &changes{t: t, ch: make(chan vault.Change), handled: make(chan struct{}), calls: make(chan struct{}, 8), end: make(chan struct{})}
}

func (c *changes) watch(ctx context.Context, v *vault.Vault, fn func(vault.Change)) error {
	if v == nil {
		c.t.Error("watch got no vault")
	}
	c.calls <- struct{}{}
	for {
		select {
		case ch := <-c.ch:
			fn(ch)
			c.handled <- struct{}{}
		case <-c.end:
			return errors.New("watch ended: etcd said no")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// send delivers ch to the daemon and waits until it was handled.
func (c *changes) send(ch vault.Change) {
	c.t.Helper()
	select {
	case c.ch <- ch:
	case <-time.After(10 * time.Second):
		c.t.Fatal("the daemon does not watch")
	}
	<-c.handled
}

// startFollowing starts the daemon on toml with c as its vault's changes.
func startFollowing(t *testing.T, toml string) (*env, *changes) {
	t.Helper()
	e := newEnv(t, fixture.Secrets(), toml)
	c := newChanges(t)
	opts := e.options()
	opts.watch, opts.watchable = c.watch, func(*vault.Vault) bool { return true }
	e.startWith(opts)
	return e, c
}

func (e *env) status() api.Status {
	e.T.Helper()
	st, err := e.client.Status(context.Background())
	if err != nil {
		e.T.Fatal(err)
	}
	return st
}

func refStatus(t testing.TB, st api.Status, path string) api.RefStatus {
	t.Helper()
	for _, r := range st.References {
		if r.Path == path {
			return r
		}
	}
	t.Fatalf("no reference %s in the status", path)
	return api.RefStatus{}
}

func ref(s string) vault.Ref {
	r, err := secret.ParseRef(s)
	if err != nil {
		panic(err)
	}
	return r
}

// putDamaged stores value under ref, then makes its envelope unreadable
// (one byte of its ciphertext flipped), so that reading it fails as
// corrupt. The envelope is the object file written last.
func (e *env) putDamaged(r, value string) {
	e.T.Helper()
	e.Put(r, value)
	dir := filepath.Join(e.Root, "vault", "objects")
	entries, err := os.ReadDir(dir)
	if err != nil {
		e.T.Fatal(err)
	}
	var newest string
	var at time.Time
	for _, de := range entries {
		fi, err := de.Info()
		if err != nil {
			e.T.Fatal(err)
		}
		if fi.Mode().IsRegular() && fi.ModTime().After(at) {
			newest, at = de.Name(), fi.ModTime()
		}
	}
	p := filepath.Join(dir, newest)
	b, err := os.ReadFile(p)
	if err != nil {
		e.T.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(p, b, 0o600); err != nil {
		e.T.Fatal(err)
	}
	if _, _, err := e.Vault.Get(context.Background(), ref(r).Scope, ref(r).Key); err == nil {
		e.T.Fatalf("%s still reads after damaging %s", r, newest)
	}
}

func TestOnChangeFollowsSecretChangesDeletesAndResyncs(t *testing.T) {
	e, c := startFollowing(t, followConfig)
	st := e.status()
	if st.Follow == nil || st.Follow.State != api.FollowFollowing {
		t.Fatalf("follow = %+v, want following", st.Follow)
	}
	for _, p := range []string{"follow.token", "admin.auth_token_secret_ref"} {
		if r := refStatus(t, st, p); !r.Followed || r.Stale || r.Refresh != "on_change" || !r.Held {
			t.Fatalf("%s at start: %+v", p, r)
		}
	}
	if r := refStatus(t, st, "tool.reloaded"); r.Followed || r.Stale {
		t.Fatalf("an on_reload reference is followed: %+v", r)
	}
	before := heldValue(e.d, "follow.token")

	// A new value, then the change: served at once.
	e.Put("vault://global/other", "other-2")
	e.Put("vault://global/rotating", "rot-2") // not on_change: not followed
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-1" {
		t.Fatalf("before the change: %q", got)
	}
	c.send(vault.Change{Kind: vault.ChangeSecret, Ref: ref("vault://global/other"), Revision: 7})
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-2" {
		t.Fatalf("after the change: %q, want other-2", got)
	}
	if got := e.mustResolve(api.ResolveRequest{Ref: "vault://global/other"}); got != "other-2" {
		t.Fatalf("by ref after the change: %q, want other-2", got)
	}
	if !allZero(before) {
		t.Fatal("the replaced value was not wiped")
	}
	c.send(vault.Change{Kind: vault.ChangeSecret, Ref: ref("vault://global/rotating")})
	if got := e.mustResolve(api.ResolveRequest{Path: "tool.reloaded"}); got != "rot-1" {
		t.Fatalf("an on_reload reference followed a change: %q", got)
	}
	r := refStatus(t, e.status(), "follow.token")
	if r.LastRefresh == nil || r.LastRefresh.Trigger != api.TriggerChange || r.LastRefresh.Result != api.RefreshOK || r.Stale {
		t.Fatalf("status after the change: %+v", r)
	}

	// Deleted: fails as missing until it is stored again.
	if _, err := e.Vault.Delete(context.Background(), "global", "other"); err != nil {
		t.Fatal(err)
	}
	held := heldValue(e.d, "follow.token")
	c.send(vault.Change{Kind: vault.ChangeSecret, Ref: ref("vault://global/other"), Deleted: true})
	var ae *api.Error
	if _, err := e.resolve(api.ResolveRequest{Path: "follow.token"}); !errors.As(err, &ae) || ae.Code != api.CodeMissing {
		t.Fatalf("a deleted secret: %v, want the missing error", err)
	}
	if !allZero(held) {
		t.Fatal("the value of a deleted secret was not wiped")
	}
	r = refStatus(t, e.status(), "follow.token")
	if r.Status != api.StatusMissing || r.Held || r.LastRefresh.Result != api.RefreshDeleted {
		t.Fatalf("status of a deleted secret: %+v", r)
	}
	e.Put("vault://global/other", "other-3")
	c.send(vault.Change{Kind: vault.ChangeSecret, Ref: ref("vault://global/other")})
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-3" {
		t.Fatalf("stored again: %q, want other-3", got)
	}

	// A resync reads every on_change reference again, and only those.
	e.Put("vault://global/other", "other-4")
	e.Put("vault://plugins/github/token", "ghp-2")
	c.send(vault.Change{Kind: vault.ChangeResync, Reason: "revision 9 was compacted"})
	for path, want := range map[string]string{"follow.token": "other-4", "admin.auth_token": "ghp-2", "tool.reloaded": "rot-1",
		"model_provider.openai_api_key": "sk-test-123"} {
		if got := e.mustResolve(api.ResolveRequest{Path: path}); got != want {
			t.Fatalf("%s after a resync: %q, want %q", path, got, want)
		}
	}

	// The audit log has one refresh record per refresh, never a value
	// (ReadAudit fails the test on one).
	var got []string
	for _, rec := range e.auditRecords() {
		if rec.Event != audit.EventRefresh {
			continue
		}
		if rec.UID != e.d.uid || rec.Ref == "" || rec.Decision != "" {
			t.Fatalf("refresh record %+v", rec)
		}
		got = append(got, strings.Join([]string{rec.Path, rec.Scope + "/" + rec.Key, rec.Trigger, rec.Result}, " "))
	}
	want := []string{
		"follow.token global/other change ok",
		"follow.token global/other change deleted",
		"follow.token global/other change ok",
		"follow.token global/other resync ok",
		"admin.auth_token_secret_ref plugins/github/token resync ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("refresh records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.checkNoValueIn(map[string]string{"logs": e.logs.String()}, "other-2", "other-3", "other-4", "ghp-2")
}

// checkNoValueIn fails when a text holds a value of fixture.Secrets or one
// of extra.
func (e *env) checkNoValueIn(texts map[string]string, extra ...string) {
	e.T.Helper()
	values := extra
	for _, v := range fixture.Secrets() {
		values = append(values, v)
	}
	for name, text := range texts {
		for _, v := range values {
			if strings.Contains(text, v) {
				e.T.Fatalf("%s hold the value %q", name, v)
			}
		}
	}
}

func TestLostVaultKeepsServingAndReportsStale(t *testing.T) {
	e, c := startFollowing(t, followConfig)
	since := time.Date(2026, 11, 28, 18, 6, 52, 0, time.UTC)
	c.send(vault.Change{Kind: vault.ChangeLost, Since: since, Reason: "etcd: 3 endpoints unreachable"})

	st := e.status()
	if st.Follow == nil || st.Follow.State != api.FollowLost || !st.Follow.Since.Equal(since) || st.Follow.Reason == "" {
		t.Fatalf("follow = %+v, want lost since %v", st.Follow, since)
	}
	for _, p := range []string{"follow.token", "admin.auth_token_secret_ref"} {
		r := refStatus(t, st, p)
		if !r.Stale || r.StaleSince == nil || !r.StaleSince.Equal(since) || !r.Followed || r.Status != api.StatusOK {
			t.Fatalf("%s while lost: %+v", p, r)
		}
	}
	for _, p := range []string{"model_provider.openai_api_key_vault_ref", "tool.reloaded"} {
		if r := refStatus(t, st, p); r.Stale {
			t.Fatalf("%s (not on_change) is stale: %+v", p, r)
		}
	}
	// The JSON carries since in RFC 3339.
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"stale":true,"stale_since":"2026-11-28T18:06:52Z"`) {
		t.Fatalf("status JSON lacks the stale fields: %s", raw)
	}

	// Every held value is still served, the stale ones saying since when.
	for path, want := range map[string]string{"follow.token": "other-1", "admin.auth_token": "ghp-1", "tool.reloaded": "rot-1",
		"model_provider.openai_api_key": "sk-test-123"} {
		resp, err := e.client.Resolve(context.Background(), api.ResolveRequest{Path: path})
		if err != nil {
			t.Fatalf("%s while lost: %v", path, err)
		}
		got := string(resp.Value.Reveal())
		resp.Value.Wipe()
		if got != want {
			t.Fatalf("%s while lost: %q, want %q", path, got, want)
		}
		onChange := path == "follow.token" || path == "admin.auth_token"
		if onChange != (resp.StaleSince != nil) {
			t.Fatalf("%s: stale_since %v in the answer", path, resp.StaleSince)
		}
	}
	// per_use is never held: when its read fails, the request fails.
	e.putDamaged("vault://channel:slack/token", "xoxb-2")
	var ae *api.Error
	if _, err := e.resolve(api.ResolveRequest{Path: "tool.per"}); !errors.As(err, &ae) || ae.Code != api.CodeResolveFailed {
		t.Fatalf("per_use with an unreadable secret: %v, want resolve_failed", err)
	}

	// A change read while lost that fails keeps the stale mark and the
	// value; back with a resync: read again, not stale.
	e.putDamaged("vault://global/other", "other-x")
	c.send(vault.Change{Kind: vault.ChangeSecret, Ref: ref("vault://global/other")})
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-1" {
		t.Fatalf("after a failed re-read: %q, want the held value", got)
	}
	r := refStatus(t, e.status(), "follow.token")
	if !r.Stale || !r.StaleSince.Equal(since) || r.LastRefresh == nil || r.LastRefresh.Result != api.RefreshFailed || r.LastRefresh.Error == "" {
		t.Fatalf("after a failed re-read: %+v", r)
	}
	e.Put("vault://global/other", "other-2")
	c.send(vault.Change{Kind: vault.ChangeResync, Reason: "etcd is back"})
	st = e.status()
	if st.Follow.State != api.FollowFollowing {
		t.Fatalf("follow after the resync: %+v", st.Follow)
	}
	for _, p := range []string{"follow.token", "admin.auth_token_secret_ref"} {
		if r := refStatus(t, st, p); r.Stale || r.StaleSince != nil || r.LastRefresh.Trigger != api.TriggerResync || r.LastRefresh.Result != api.RefreshOK {
			t.Fatalf("%s after the resync: %+v", p, r)
		}
	}
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-2" {
		t.Fatalf("after the resync: %q, want other-2", got)
	}
	recs := e.auditRecords()
	var failed *audit.Record
	for i := range recs {
		if recs[i].Event == audit.EventRefresh && recs[i].Result == api.RefreshFailed {
			failed = &recs[i]
		}
	}
	if failed == nil || failed.Path != "follow.token" || failed.Reason == "" || failed.Trigger != api.TriggerChange {
		t.Fatalf("no audit record of the failed refresh: %+v", failed)
	}
	if !strings.Contains(e.logs.String(), "the vault cannot be reached") || !strings.Contains(e.logs.String(), "refreshing a reference failed") {
		t.Fatalf("logs do not report the lost vault and the failed refresh:\n%s", e.logs)
	}
	e.checkNoValueIn(map[string]string{"logs": e.logs.String()}, "other-2")
}

// A failed re-read with the vault reachable marks only that reference
// stale, since the failure.
func TestFailedRefreshKeepsTheValueAndMarksItStale(t *testing.T) {
	e, c := startFollowing(t, followConfig)
	e.putDamaged("vault://global/other", "other-x")
	before := time.Now().UTC().Add(-time.Second)
	c.send(vault.Change{Kind: vault.ChangeSecret, Ref: ref("vault://global/other")})
	st := e.status()
	r := refStatus(t, st, "follow.token")
	if !r.Stale || r.StaleSince == nil || r.StaleSince.Before(before) || r.Status != api.StatusOK {
		t.Fatalf("after a failed re-read: %+v", r)
	}
	if r := refStatus(t, st, "admin.auth_token_secret_ref"); r.Stale {
		t.Fatalf("another reference became stale: %+v", r)
	}
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-1" {
		t.Fatalf("served %q, want the value held", got)
	}
}

// Shutdown stops and joins the watch; a watch that ends on its own leaves
// the values served, stale, and the next reload follows again.
func TestWatchLifetime(t *testing.T) {
	e, c := startFollowing(t, followConfig)
	<-c.calls
	close(c.end)
	deadline := time.Now().Add(10 * time.Second)
	for e.status().Follow.State != api.FollowStopped {
		if time.Now().After(deadline) {
			t.Fatal("the status does not report the ended watch")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := refStatus(t, e.status(), "follow.token"); !r.Stale || r.Followed {
		t.Fatalf("after the watch ended: %+v", r)
	}
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-1" {
		t.Fatalf("after the watch ended: %q", got)
	}
	c.end = make(chan struct{}) // the next watch runs until Shutdown
	if err := e.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.calls:
	case <-time.After(10 * time.Second):
		t.Fatal("the reload did not follow again")
	}
	st := e.status()
	if st.Follow.State != api.FollowFollowing || refStatus(t, st, "follow.token").Stale {
		t.Fatalf("after the reload: %+v %+v", st.Follow, refStatus(t, st, "follow.token"))
	}
	// The reload's refreshes are audited.
	n := 0
	for _, rec := range e.auditRecords() {
		if rec.Event == audit.EventRefresh && rec.Trigger == api.TriggerReload {
			n++
		}
	}
	if n != 3 { // on_reload, and the two on_change references
		t.Fatalf("%d reload refresh records, want 3", n)
	}
	done := e.d.fl.done
	if _, err := e.d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("Shutdown returned before the watch goroutine")
	}
}

// On a vault that cannot be watched (the file vault), on_change acts as
// on_reload and the status says so.
func TestOnChangeOnALocalVaultIsNotFollowed(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), followConfig)
	e.start()
	st := e.status()
	if st.Follow == nil || st.Follow.State != api.FollowNotWatchable {
		t.Fatalf("follow = %+v, want not_watchable", st.Follow)
	}
	if r := refStatus(t, st, "follow.token"); r.Followed || r.Stale || !r.Held {
		t.Fatalf("%+v", r)
	}
	e.Put("vault://global/other", "other-2")
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-1" {
		t.Fatalf("before the reload: %q", got)
	}
	if err := e.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != "other-2" {
		t.Fatalf("after the reload: %q, want other-2 (on_change acts as on_reload)", got)
	}
	// Without on_change references there is no follow object.
	e2 := newEnv(t, fixture.Secrets(), fixture.Config)
	e2.start()
	if st := e2.status(); st.Follow != nil {
		t.Fatalf("follow = %+v without on_change references", st.Follow)
	}
}

func TestOnChangeOnAnotherSourceFailsTheStartNamingThePath(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), "[tool]\nx = { env = \"HOME\", refresh = \"on_change\" }\n")
	_, err := Start(context.Background(), e.options())
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "tool.x (line 2)") || !strings.Contains(err.Error(), resolve.OnChangeRule) {
		t.Fatalf("Start = %v, want a *LoadError naming tool.x and the on_change rule", err)
	}
}

// heldValue returns the memory of the value held at path.
func heldValue(d *Daemon, path string) []byte {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.cur.lookupPath(path)
	if e == nil || !e.held {
		return nil
	}
	return e.value.Reveal()
}

// unreachable is a vault lookup whose backend is gone, as an etcd vault's
// is while its cluster is unreachable.
type unreachable struct{}

func (unreachable) Get(context.Context, string, string) (secret.SensitiveBytes, vault.Metadata, error) {
	return secret.SensitiveBytes{}, vault.Metadata{}, fmt.Errorf("etcd 127.0.0.1:2379: %w", vault.ErrBackendUnavailable)
}

// While the vault is lost, a per_use reference fails with the
// backend-unavailable error (503), held values are served, and a resync
// that cannot read keeps them stale.
func TestPerUseFailsUnavailableWhileHeldValuesAreServed(t *testing.T) {
	e, c := startFollowing(t, followConfig)
	c.send(vault.Change{Kind: vault.ChangeLost, Since: time.Now(), Reason: "etcd unreachable"})
	e.d.mu.Lock()
	e.d.cur.resolver.vault = unreachable{}
	e.d.mu.Unlock()
	var ae *api.Error
	if _, err := e.resolve(api.ResolveRequest{Path: "tool.per"}); !errors.As(err, &ae) || ae.Code != api.CodeUnavailable || ae.Status != 503 {
		t.Fatalf("per_use while lost: %v, want 503 unavailable", err)
	}
	c.send(vault.Change{Kind: vault.ChangeResync, Reason: "a flap"})
	for path, want := range map[string]string{"follow.token": "other-1", "tool.reloaded": "rot-1", "model_provider.openai_api_key": "sk-test-123"} {
		if got := e.mustResolve(api.ResolveRequest{Path: path}); got != want {
			t.Fatalf("%s while lost: %q, want %q", path, got, want)
		}
	}
	r := refStatus(t, e.status(), "follow.token")
	if !r.Stale || r.LastRefresh == nil || r.LastRefresh.Result != api.RefreshFailed || !strings.Contains(r.LastRefresh.Error, "unavailable") {
		t.Fatalf("after a resync that could not read: %+v", r)
	}
}

// Requests racing refreshes get a whole value, old or new, never one being
// wiped.
func TestRefreshSwapsSafelyUnderConcurrentRequests(t *testing.T) {
	e, c := startFollowing(t, followConfig)
	const changes = 30
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			client := api.NewClient(e.d.Socket())
			defer client.Close()
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				resp, err := client.Resolve(context.Background(), api.ResolveRequest{Path: "follow.token"})
				if err != nil {
					errs <- err
					return
				}
				got := string(resp.Value.Reveal())
				resp.Value.Wipe()
				if got != "other-1" && !(strings.HasPrefix(got, "other-v") && len(got) == len("other-v00")) {
					errs <- fmt.Errorf("served %q", got)
					return
				}
			}
		}()
	}
	for i := range changes {
		e.Put("vault://global/other", fmt.Sprintf("other-v%02d", i))
		c.send(vault.Change{Kind: vault.ChangeSecret, Ref: ref("vault://global/other")})
	}
	close(stop)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := e.mustResolve(api.ResolveRequest{Path: "follow.token"}); got != fmt.Sprintf("other-v%02d", changes-1) {
		t.Fatalf("last value %q", got)
	}
}
