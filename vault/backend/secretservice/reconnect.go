package secretservice

import (
	"context"
	"errors"

	"github.com/godbus/dbus/v5"
)

// A long-running program keeps one Store for hours, while the provider
// behind it may restart (gnome-keyring-daemon crashing, `--replace`, a
// desktop session restarting it) or the bus connection may drop. After a
// restart the well-known name routes our calls to a new process that knows
// nothing of our transport session, so every call that carries a secret
// fails; after a dropped connection every call fails with dbus.ErrClosed.
// do recovers from both: it re-establishes the link and retries the
// operation once.

// do runs fn (through withUnlock) while holding the link for reading. When
// fn fails in a way that says the link is stale (see staleLink), it
// re-establishes the link (reconnect) and runs fn once more; any other
// failure (locked, prompt dismissed, timeout, not found) is returned as it
// is. Each attempt's D-Bus calls keep their own CallTimeout and ctx.
func (s *Store) do(ctx context.Context, op string, fn func() error) error {
	s.linkMu.RLock()
	gen, broken := s.gen, s.broken
	var err error
	if !broken {
		err = s.withUnlock(ctx, op, fn)
	}
	s.linkMu.RUnlock()
	if !broken && !staleLink(err) {
		return err
	}
	if rerr := s.reconnect(ctx, op, gen); rerr != nil {
		return rerr
	}
	s.linkMu.RLock()
	defer s.linkMu.RUnlock()
	return s.withUnlock(ctx, op, fn)
}

// staleLink reports whether err says the bus connection is closed, the
// provider is gone or was replaced (our session or collection unknown to
// it): the failures that re-establishing the link can cure.
func staleLink(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, dbus.ErrClosed) {
		return true
	}
	switch dbusErrorName(err) {
	case errNameServiceUnknown, errNameNameHasNoOwner, errNameDisconnected,
		errNameUnknownObject, errNameNoSuchObject, errNameNoSession:
		return true
	}
	return false
}

// reconnect re-establishes the link, unless another goroutine already did
// since generation gen was read: it dials the bus again if the connection
// is closed, checks the provider, opens a new transport session (never
// weaker than the one it replaces: an encrypted store stays encrypted) and
// resolves the default collection again. The old session key is wiped and
// the old session closed, best effort. On failure the Store is marked
// broken, so the next operation tries again before anything else.
func (s *Store) reconnect(ctx context.Context, op string, gen uint64) error {
	s.linkMu.Lock()
	defer s.linkMu.Unlock()
	if s.closed {
		return newError(op, ErrNoService, errors.New("store is closed"))
	}
	if s.gen != gen {
		return nil // someone else reconnected meanwhile
	}
	s.gen++
	requireEnc := s.opts.RequireEncryption || s.tr.encrypted()
	s.dropSession(ctx)
	s.broken = true
	if !s.conn.Connected() {
		addr, err := busAddress(s.opts.Address)
		if err != nil {
			return newError(op, ErrNoService, err)
		}
		conn, err := connect(ctx, addr, s.opts.CallTimeout)
		if err != nil {
			return classify(op, err)
		}
		_ = s.conn.Close()
		s.conn, s.service = conn, conn.Object(serviceName, servicePath)
	}
	if err := s.ensureOwner(ctx); err != nil {
		return err
	}
	if err := s.openSession(ctx, requireEnc); err != nil {
		return err
	}
	if err := s.resolveDefault(ctx); err != nil {
		return err
	}
	s.broken = false
	return nil
}

// dropSession wipes the transport session key, closes the session (best
// effort, within ctx and CallTimeout) and forgets it. The Close goes to the
// provider's unique name, not the well-known one: a provider that replaced
// ours may have handed the same session path to another client, whose
// session must not be closed. Without a session the Store is unusable
// until a new one opens. The caller holds linkMu for writing.
func (s *Store) dropSession(ctx context.Context) {
	clear(s.tr.key)
	if s.session != "" && s.owner != "" && s.conn.Connected() {
		_ = s.call(ctx, s.conn.Object(s.owner, s.session), methodSessionClose).Err
	}
	s.session, s.tr = "", transport{}
}
