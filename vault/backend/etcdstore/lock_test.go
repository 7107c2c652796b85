package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/palyra/palyra-vault/vault/backend/etcdstore"
)

// lockTTL is the lease of the locks these tests take: short, so a killed
// holder's lock frees in seconds.
const lockTTL = 2 * time.Second

func init() {
	childRoles["lock"] = childLock
}

// childLock takes the key-state lock of its host's prefix, prints
// "locked" and holds it until killed or its stdin closes.
func childLock() int {
	st, err := etcdconf.Read(os.Getenv(childRootEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	o, err := optionsFrom(st)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	o.LockTTL = lockTTL
	ctx := childContext()
	s, err := etcdstore.New(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := s.Lock(ctx, backend.LockKeyState)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	emit("locked %s", l.Holder())
	<-ctx.Done()
	return 0
}

// openTTL opens a store on prefix with the short lock lease.
func openTTL(t testing.TB, c *etcdproc.Cluster, prefix string) *etcdstore.Store {
	t.Helper()
	tc, err := c.TLS()
	if err != nil {
		t.Fatal(err)
	}
	s, err := etcdstore.New(t.Context(), etcdstore.Options{
		Endpoints: c.Endpoints(), Prefix: prefix, TLS: tc,
		User: etcdproc.User, Password: c.Password, LockTTL: lockTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tryLock takes the lock waiting at most wait.
func tryLock(s *etcdstore.Store, wait time.Duration) (backend.HeldLock, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return s.Lock(ctx, backend.LockKeyState)
}

// TestLockIsExclusiveAcrossHosts: while one store (host) holds the lock,
// another's Lock waits and, when its context ends, fails naming the
// holder; once the holder unlocks, the waiter gets it.
func TestLockIsExclusiveAcrossHosts(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a, b := openTTL(t, c, prefix), openTTL(t, c, prefix)
	la, err := a.Lock(t.Context(), backend.LockKeyState)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tryLock(b, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), la.Holder()) {
		t.Fatalf("Lock while another holds it: %v; want a timeout naming %q", err, la.Holder())
	}
	type result struct {
		l   backend.HeldLock
		err error
		at  time.Time
	}
	got := make(chan result, 1)
	go func() {
		l, err := tryLock(b, 30*time.Second)
		got <- result{l, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond) // let b wait (the order is checked below, not the time)
	released := time.Now()
	if err := la.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", r.err)
	}
	if r.at.Before(released) {
		t.Fatal("the waiter got the lock before the holder released it")
	}
	if _, err := tryLock(a, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the first host relocked while the second holds it: %v", err)
	}
	if err := r.l.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestLockOfAHolderKilledWithSIGKILLExpires: a holder process killed with
// -9 keeps the lock until its lease expires, then another host gets it.
func TestLockOfAHolderKilledWithSIGKILLExpires(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	h := newHost(t, c, prefix)
	holder := startChild(t, "lock holder", "lock", h)
	line, ok := holder.next(t)
	if !ok || !strings.HasPrefix(line, "locked ") {
		t.Fatalf("lock holder printed %q; stderr:\n%s", line, holder.stderr)
	}
	name := strings.TrimPrefix(line, "locked ")
	if !strings.Contains(name, fmt.Sprintf("pid %d", holder.cmd.Process.Pid)) {
		t.Fatalf("holder names itself %q; want its pid %d", name, holder.cmd.Process.Pid)
	}
	if err := holder.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.wait()
	s := openTTL(t, c, prefix)
	// Right after the kill the lease still runs: the lock is held.
	if _, err := tryLock(s, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), name) {
		t.Fatalf("Lock right after the holder was killed: %v; want it still held by %q", err, name)
	}
	// Then the lease expires (lockTTL) and the lock is free; 30 s is a
	// deadlock guard.
	l, err := tryLock(s, 30*time.Second)
	if err != nil {
		t.Fatalf("Lock after the killed holder's lease expired: %v", err)
	}
	if err := l.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestLockOnAnUnreachableClusterFailsWithinTheDeadline: taking a lock
// with no member answering is ErrUnreachable, not a wait.
func TestLockOnAnUnreachableClusterFailsWithinTheDeadline(t *testing.T) {
	s, err := etcdstore.New(context.Background(), etcdstore.Options{
		Endpoints: []string{"http://127.0.0.1:9"}, Prefix: "/x/", Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Lock(t.Context(), backend.LockKeyState); !errors.Is(err, backend.ErrUnreachable) {
		t.Fatalf("Lock: %v, want ErrUnreachable", err)
	}
}
