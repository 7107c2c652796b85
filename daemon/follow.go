package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// Following a shared vault (docs/DAEMON.md, "Following a shared vault").
//
// When the configuration holds on_change references and the vault can be
// watched, one goroutine runs vault.Vault.Watch for the daemon's lifetime
// and hands each Change to onChange: a secret that changed is read again
// (and served from then on), a resync reads every on_change reference
// again, a lost vault marks them stale. The goroutine starts at Start, or
// at the first Reload that needs it, and is stopped and joined by
// Shutdown; a Reload never stops it (with no on_change reference left it
// has nothing to refresh).
//
// Locking: onChange runs holding reloadMu, so refreshes, reloads and the
// shutdown never interleave; it reads the vault without the daemon's lock
// (requests go on) and swaps an entry's fields under the write lock, so a
// request copies either the old value or the new one, whole. The old value
// is wiped after the swap: no reader can hold it then.

// refreshTimeout bounds one re-read of a followed reference.
const refreshTimeout = 30 * time.Second

// watchFunc follows v's changes as vault.Vault.Watch does.
type watchFunc func(ctx context.Context, v *vault.Vault, fn func(vault.Change)) error

// vaultWatch is the watchFunc of a real daemon.
func vaultWatch(ctx context.Context, v *vault.Vault, fn func(vault.Change)) error {
	return v.Watch(ctx, fn)
}

// follower is the state of the daemon's following. Its fields are guarded
// by the daemon's mu; watch and watchable are set once at Start.
type follower struct {
	watch watchFunc
	// watchable says whether watch can follow a vault
	// (vault.Vault.Watchable in a real daemon).
	watchable func(*vault.Vault) bool
	// state is one of api.Follow*, "" until a configuration holds an
	// on_change reference.
	state  string
	since  time.Time
	reason string
	// running is true while the watch goroutine runs; cancel stops it and
	// done is closed when it has returned.
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
	// stopping is set by Shutdown: no goroutine starts after it.
	stopping bool
}

// followed reports whether on_change references are followed now.
func (f *follower) followed() bool {
	return f.state == api.FollowFollowing || f.state == api.FollowLost
}

// status returns the status's follow object: nil when st has no on_change
// reference.
func (f *follower) status(st *state) *api.Follow {
	if f.state == "" || !st.hasOnChange() {
		return nil
	}
	return &api.Follow{State: f.state, Since: f.since, Reason: f.reason}
}

// hasOnChange reports whether the state holds an on_change reference.
func (s *state) hasOnChange() bool {
	for _, e := range s.entries {
		if e.onChange() {
			return true
		}
	}
	return false
}

// setFollow changes the follow state; the caller holds d.mu.
func (d *Daemon) setFollow(state, reason string, since time.Time) {
	d.fl.state, d.fl.reason, d.fl.since = state, reason, since.UTC()
}

// ensureFollow starts the watch goroutine when st holds on_change
// references, the daemon is not following yet, and the vault can be
// watched. It is called by Start and by a successful Reload (holding
// reloadMu); it never stops a goroutine.
func (d *Daemon) ensureFollow(ctx context.Context, st *state) {
	if !st.hasOnChange() {
		return
	}
	d.mu.RLock()
	skip := d.fl.running || d.fl.stopping || d.fl.state == api.FollowNotWatchable
	d.mu.RUnlock()
	if skip {
		return
	}
	v, err := d.vault.get(ctx)
	if err != nil {
		d.log.Warn("on_change references are not followed: the vault is not open; the next reload tries again", "err", err)
		d.mu.Lock()
		d.setFollow(api.FollowStopped, "the vault is not open: "+err.Error(), time.Now())
		d.mu.Unlock()
		return
	}
	if !d.fl.watchable(v) {
		d.log.Info("the vault cannot be watched for changes: on_change references act as on_reload (not followed)", "reason", vault.ErrNotWatchable.Error())
		d.mu.Lock()
		d.setFollow(api.FollowNotWatchable, vault.ErrNotWatchable.Error(), time.Now())
		d.mu.Unlock()
		return
	}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	d.mu.Lock()
	if d.fl.stopping { // Shutdown began meanwhile
		d.mu.Unlock()
		stop()
		return
	}
	d.fl.running, d.fl.cancel, d.fl.done = true, stop, done
	d.setFollow(api.FollowFollowing, "", time.Now())
	d.mu.Unlock()
	d.log.Info("following the vault's changes for on_change references")
	go d.runFollow(wctx, v, done)
}

// stopFollow stops the watch goroutine, if one runs, and waits for it to
// return; no goroutine starts after it. The caller must not hold reloadMu
// (a change being handled needs it to finish).
func (d *Daemon) stopFollow() {
	d.mu.Lock()
	d.fl.stopping = true
	cancel, done := d.fl.cancel, d.fl.done
	d.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// runFollow is the watch goroutine. When Watch ends on its own (not by
// Shutdown) the on_change values stay served, marked stale, and the next
// Reload starts following again.
func (d *Daemon) runFollow(ctx context.Context, v *vault.Vault, done chan struct{}) {
	defer close(done)
	err := d.fl.watch(ctx, v, func(ch vault.Change) { d.onChange(ctx, ch) })
	if ctx.Err() != nil {
		return
	}
	reason := "the watch ended"
	if err != nil {
		reason = err.Error()
	}
	d.log.Error("following the vault's changes stopped; on_change values are served as they are, marked stale, until a reload follows again", "err", reason)
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	now := time.Now().UTC()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fl.running, d.fl.cancel, d.fl.done = false, nil, nil
	d.setFollow(api.FollowStopped, reason, now)
	if d.cur != nil {
		markStale(d.cur, now)
	}
}

// markStale marks every on_change entry of st stale since since, unless it
// already is; the caller holds d.mu for writing.
func markStale(st *state, since time.Time) {
	for _, e := range st.entries {
		if e.onChange() && e.staleSince.IsZero() {
			e.staleSince = since
		}
	}
}

// onChange handles one Change of the watch (see the comment at the top of
// this file). It returns once every refresh it caused is served and
// audited.
func (d *Daemon) onChange(ctx context.Context, ch vault.Change) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.closed || ctx.Err() != nil {
		return
	}
	d.mu.RLock()
	st := d.cur
	d.mu.RUnlock()
	if st == nil {
		return
	}
	switch ch.Kind {
	case vault.ChangeSecret:
		for _, e := range st.entries {
			if e.onChange() && e.found.Ref.Vault == ch.Ref {
				d.refresh(ctx, st, e, api.TriggerChange)
			}
		}
	case vault.ChangeResync:
		d.mu.Lock()
		was := d.fl.state
		d.setFollow(api.FollowFollowing, ch.Reason, time.Now())
		d.mu.Unlock()
		if was == api.FollowLost {
			d.log.Info("the vault is back; reading every on_change reference again", "reason", ch.Reason, "revision", ch.Revision)
		} else {
			d.log.Info("resynchronising: reading every on_change reference again", "reason", ch.Reason, "revision", ch.Revision)
		}
		for _, e := range st.entries {
			if e.onChange() {
				d.refresh(ctx, st, e, api.TriggerResync)
			}
		}
	case vault.ChangeLost:
		since := ch.Since
		if since.IsZero() {
			since = time.Now()
		}
		since = since.UTC()
		d.log.Warn("the vault cannot be reached: serving the values held; on_change ones are stale until it is back",
			"since", since.Format(time.RFC3339), "reason", ch.Reason)
		d.mu.Lock()
		d.setFollow(api.FollowLost, ch.Reason, since)
		markStale(st, since)
		d.mu.Unlock()
	default:
		d.log.Warn("ignored a change of an unknown kind from the vault", "kind", ch.Kind.String())
	}
}

// refresh reads e again and serves the result: a new value replaces the
// held one (wiped once no request can hold it), a secret no longer in the
// vault makes the reference fail as missing, and any other failure keeps
// the held value and marks it stale. The refresh is logged and audited,
// never with a value. The caller holds reloadMu.
func (d *Daemon) refresh(ctx context.Context, st *state, e *entry, trigger string) {
	rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	val, meta, err := resolveWithMetadata(rctx, st.resolver, e.found.Ref)
	cancel()
	now := time.Now().UTC()
	rec := &api.RefRefresh{Time: now, Trigger: trigger}
	var old secret.SensitiveBytes
	wipeOld := false
	d.mu.Lock()
	switch {
	case err == nil:
		old, wipeOld = e.value, e.held
		e.value, e.held, e.err, e.meta, e.resolvedAt = val, true, nil, meta, now
		e.staleSince = time.Time{}
		rec.Result = api.RefreshOK
	case resolve.KindOf(err) == resolve.Missing:
		old, wipeOld = e.value, e.held
		e.value, e.held, e.err, e.meta, e.resolvedAt = secret.SensitiveBytes{}, false, err, nil, now
		e.staleSince = time.Time{}
		rec.Result = api.RefreshDeleted
	default:
		if e.staleSince.IsZero() {
			e.staleSince = now
		}
		rec.Result, rec.Error = api.RefreshFailed, reason(err)
	}
	e.lastRefresh = rec
	d.mu.Unlock()
	if wipeOld {
		old.Wipe()
	}

	attrs := []any{slog.String("path", e.found.Path), slog.String("ref", e.found.Ref.String()),
		slog.String("trigger", trigger), slog.String("result", rec.Result)}
	switch rec.Result {
	case api.RefreshOK:
		d.log.Info("reference refreshed", attrs...)
	case api.RefreshDeleted:
		d.log.Warn("the secret was deleted from the vault: the reference fails as missing until it is stored again", attrs...)
	default:
		d.log.Warn("refreshing a reference failed; still serving the value held, marked stale", append(attrs, slog.String("reason", rec.Error))...)
	}
	d.auditRefresh(e, rec)
}

// auditRefresh writes the audit record of one refresh; a failure to write
// it is logged (there is no request to refuse).
func (d *Daemon) auditRefresh(e *entry, rr *api.RefRefresh) {
	rec := audit.Record{Time: rr.Time, Event: audit.EventRefresh, UID: d.uid, PID: int32(d.pid),
		Path: e.found.Path, Ref: e.found.Ref.String(), Trigger: rr.Trigger, Result: rr.Result, Reason: rr.Error}
	if e.found.Ref.Source == resolve.SourceVault {
		rec.Scope, rec.Key = e.found.Ref.Vault.Scope, e.found.Ref.Vault.Key
	}
	if err := d.audit.Write(rec); err != nil {
		d.log.Error("writing a refresh to the audit log", "path", e.found.Path, "err", err)
	}
}

// auditReload records the references a successful reload read again: the
// held ones it did not carry over (on_reload, on_change, a new or changed
// on_startup); per_use ones are only checked, and not recorded.
func (d *Daemon) auditReload(st *state) {
	for _, e := range st.entries {
		if e.carried || e.found.Ref.RefreshPolicy() == resolve.RefreshPerUse {
			continue
		}
		rr := &api.RefRefresh{Time: e.resolvedAt, Trigger: api.TriggerReload, Result: api.RefreshOK}
		switch {
		case e.err == nil:
		case resolve.KindOf(e.err) == resolve.Missing:
			rr.Result, rr.Error = api.RefreshMissing, reason(e.err)
		default:
			rr.Result, rr.Error = api.RefreshFailed, reason(e.err)
		}
		d.mu.Lock()
		e.lastRefresh = rr
		d.mu.Unlock()
		d.auditRefresh(e, rr)
	}
}
