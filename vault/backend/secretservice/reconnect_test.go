package secretservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/vault/backend"
)

// TestReconnectAfterKeyringRestart restarts the real gnome-keyring-daemon
// under an open Store: the Store must go on working (Put, Get, List,
// Delete), reading what it wrote before the restart, on a new transport
// session that is as encrypted as the old one.
func TestReconnectAfterKeyringRestart(t *testing.T) {
	ops := []struct {
		name string
		run  func(t *testing.T, s *Store, before, fresh backend.ObjectID)
	}{
		{"get", func(t *testing.T, s *Store, before, _ backend.ObjectID) {
			got, err := s.Get(testCtx(t), before)
			if err != nil || !bytes.Equal(got, []byte("before restart")) {
				t.Fatalf("Get after restart = %q, %v; want the value written before", got, err)
			}
		}},
		{"put", func(t *testing.T, s *Store, _, fresh backend.ObjectID) {
			if err := s.Put(testCtx(t), fresh, []byte("after restart")); err != nil {
				t.Fatalf("Put after restart: %v", err)
			}
			got, err := s.Get(testCtx(t), fresh)
			if err != nil || !bytes.Equal(got, []byte("after restart")) {
				t.Fatalf("Get = %q, %v", got, err)
			}
		}},
		{"list", func(t *testing.T, s *Store, before, _ backend.ObjectID) {
			ids, err := s.List(testCtx(t))
			if err != nil || !slices.Contains(ids, before) {
				t.Fatalf("List after restart = %v, %v; want it to hold %s", ids, err, before)
			}
		}},
		{"delete", func(t *testing.T, s *Store, before, _ backend.ObjectID) {
			existed, err := s.Delete(testCtx(t), before)
			if err != nil || !existed {
				t.Fatalf("Delete after restart = %v, %v; want true, nil", existed, err)
			}
			if _, err := s.Get(testCtx(t), before); !errors.Is(err, backend.ErrNotFound) {
				t.Fatalf("Get after Delete: %v; want ErrNotFound", err)
			}
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			s := openStore(t, Options{RequireEncryption: true})
			before, fresh := newID(t), newID(t)
			if err := s.Put(testCtx(t), before, []byte("before restart")); err != nil {
				t.Fatalf("Put: %v", err)
			}
			oldGen, oldOwner, oldKey := s.gen, s.Info().Service, s.tr.key

			restartKeyring(t)
			op.run(t, s, before, fresh)

			// Values cross the bus on the new link (List and Delete need no
			// transport session, so the first Put may be what reconnects).
			if err := s.Put(testCtx(t), fresh, []byte("on the new link")); err != nil {
				t.Fatalf("Put on the new link: %v", err)
			}
			if got, err := s.Get(testCtx(t), fresh); err != nil || string(got) != "on the new link" {
				t.Fatalf("Get on the new link = %q, %v", got, err)
			}
			info := s.Info()
			if s.gen != oldGen+1 || info.Service == oldOwner {
				t.Errorf("after restart: %d reconnects, service %s; want 1 and a new owner (was %s)", s.gen-oldGen, info.Service, oldOwner)
			}
			if !info.Encrypted {
				t.Error("after restart: transport not encrypted")
			}
			if !bytes.Equal(oldKey, make([]byte, len(oldKey))) {
				t.Error("the old session key was not wiped")
			}
		})
	}
}

// TestReconnectAfterConnectionClosed closes the Store's bus connection
// under it: the next operation dials the bus again.
func TestReconnectAfterConnectionClosed(t *testing.T) {
	s := openStore(t, Options{})
	id := newID(t)
	if err := s.Put(testCtx(t), id, []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	old := s.conn
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(testCtx(t), id)
	if err != nil || string(got) != "v" {
		t.Fatalf("Get after the connection closed = %q, %v", got, err)
	}
	if s.conn == old || !s.conn.Connected() {
		t.Error("the Store did not dial a new connection")
	}
}

// TestReconnectWhileServiceDown: while nothing owns the service, an
// operation fails with ErrNoService (the retry's reconnect finds no
// provider); once a provider is back, the next operation reconnects and
// works.
func TestReconnectWhileServiceDown(t *testing.T) {
	s := openStore(t, Options{})
	id := newID(t)
	if err := s.Put(testCtx(t), id, []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	killKeyringDaemon(t)
	_, err := s.Get(testCtx(t), id)
	if !errors.Is(err, ErrNoService) || !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Get with no provider: %v; want ErrNoService", err)
	}
	if _, err := s.List(testCtx(t)); !errors.Is(err, ErrNoService) {
		t.Fatalf("List with no provider: %v; want ErrNoService", err)
	}
	startKeyringDaemon(t)
	got, err := s.Get(testCtx(t), id)
	if err != nil || string(got) != "v" {
		t.Fatalf("Get once the provider is back = %q, %v", got, err)
	}
}

// TestReconnectConcurrent: goroutines that all find the link stale at once
// re-establish it once between them, and all succeed.
func TestReconnectConcurrent(t *testing.T) {
	s := openStore(t, Options{})
	id := newID(t)
	if err := s.Put(testCtx(t), id, []byte("shared")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	gen := s.gen
	restartKeyring(t)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			got, err := s.Get(context.Background(), id)
			if err == nil && string(got) != "shared" {
				err = fmt.Errorf("got %q", got)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Get: %v", err)
		}
	}
	if s.gen != gen+1 {
		t.Errorf("%d reconnects for one restart, want 1", s.gen-gen)
	}
}

// TestNoRetryOnOtherErrors: a failure that reconnecting cannot cure (here
// a locked collection with NoUnlock, and a caller's expired deadline) is
// returned at once and leaves the link as it was.
func TestNoRetryOnOtherErrors(t *testing.T) {
	s := openStore(t, Options{NoUnlock: true})
	id := newID(t)
	if err := s.Put(testCtx(t), id, []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	gen, session := s.gen, s.session

	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(expired, id); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context: %v; want context.Canceled", err)
	}
	lockDefault(t)
	if _, err := s.Get(testCtx(t), id); !errors.Is(err, ErrLocked) {
		t.Fatalf("Get of a locked collection: %v; want ErrLocked", err)
	}
	if s.gen != gen || s.session != session {
		t.Errorf("link re-established (gen %d→%d) on an error reconnecting cannot cure", gen, s.gen)
	}
}

// TestStaleLink checks which failures count as a stale link.
func TestStaleLink(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{dbus.ErrClosed, true},
		{newError("x", ErrNoService, dbus.ErrClosed), true},
		{dbus.Error{Name: errNameServiceUnknown}, true},
		{newError("x", ErrFailed, dbus.Error{Name: errNameNoSession}), true},
		{dbus.Error{Name: errNameUnknownObject}, true},
		{dbus.Error{Name: errNameIsLocked}, false},
		{newError("x", ErrPromptDismissed, nil), false},
		{newError("x", ErrTimeout, context.DeadlineExceeded), false},
		{context.Canceled, false},
		{backend.ErrNotFound, false},
	}
	for _, tt := range tests {
		if got := staleLink(tt.err); got != tt.want {
			t.Errorf("staleLink(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
