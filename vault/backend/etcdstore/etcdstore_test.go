package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testhook"
	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/backendtest"
	"github.com/palyra/palyra-vault/vault/backend/etcdstore"
)

func TestMain(m *testing.M) {
	testhook.MarkTestBinary()
	os.Setenv(testhook.EnvCheapKDF, "1") // cheap passphrase keys here and in children
	if role, ok := os.LookupEnv(childRoleEnv); ok {
		run := childRoles[role]
		if run == nil {
			fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
			os.Exit(2)
		}
		os.Exit(run())
	}
	os.Exit(etcdproc.Main(m))
}

// open returns a store on the shared cluster under a fresh prefix, as the
// limited test user over TLS.
func open(t *testing.T, timeout time.Duration) *etcdstore.Store {
	t.Helper()
	c := etcdproc.Shared(t)
	tc, err := c.TLS()
	if err != nil {
		t.Fatal(err)
	}
	s, err := etcdstore.New(t.Context(), etcdstore.Options{
		Endpoints: c.Endpoints(), Prefix: etcdproc.NewPrefix(), TLS: tc,
		User: etcdproc.User, Password: c.Password, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		s := open(t, 0)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestOutsideTheRolesPrefixIsPermission: a prefix the user's role does not
// cover is refused with ErrPermission, naming the prefix.
func TestOutsideTheRolesPrefixIsPermission(t *testing.T) {
	c := etcdproc.Shared(t)
	tc, err := c.TLS()
	if err != nil {
		t.Fatal(err)
	}
	s, err := etcdstore.New(t.Context(), etcdstore.Options{
		Endpoints: c.Endpoints(), Prefix: "/not-granted/", TLS: tc,
		User: etcdproc.User, Password: c.Password,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.List(t.Context())
	if !errors.Is(err, backend.ErrPermission) {
		t.Fatalf("List outside the prefix: %v, want ErrPermission", err)
	}
}

// TestWrongPasswordIsPermission: a wrong password fails at connection with
// ErrPermission.
func TestWrongPasswordIsPermission(t *testing.T) {
	c := etcdproc.Shared(t)
	tc, err := c.TLS()
	if err != nil {
		t.Fatal(err)
	}
	_, err = etcdstore.New(t.Context(), etcdstore.Options{
		Endpoints: c.Endpoints(), Prefix: etcdproc.NewPrefix(), TLS: tc,
		User: etcdproc.User, Password: "wrong",
	})
	if !errors.Is(err, backend.ErrPermission) {
		t.Fatalf("New with a wrong password: %v, want ErrPermission", err)
	}
}

// TestGuardedWritesCompareTheRecordsRevision: a write guarded by an old
// revision of the key-source record stores nothing.
func TestGuardedWritesCompareTheRecordsRevision(t *testing.T) {
	s := open(t, 0)
	defer s.Close()
	ctx := t.Context()
	rev, err := s.WriteRecord(ctx, backend.RecordKeySource, []byte("one"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteRecord(ctx, backend.RecordKeySource, []byte("again"), 0); !errors.Is(err, backend.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	id := backendtest.NewID(t)
	if err := s.PutGuarded(ctx, id, []byte("blob"), backend.RecordKeySource, rev); err != nil {
		t.Fatal(err)
	}
	rev2, err := s.WriteRecord(ctx, backend.RecordKeySource, []byte("two"), rev)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutGuarded(ctx, id, []byte("stale"), backend.RecordKeySource, rev); !errors.Is(err, backend.ErrConflict) {
		t.Fatalf("PutGuarded under the old revision: %v, want ErrConflict", err)
	}
	if got, err := s.Get(ctx, id); err != nil || string(got) != "blob" {
		t.Fatalf("after the refused write: %q, %v; want the first blob", got, err)
	}
	if data, rev3, err := s.ReadRecord(ctx, backend.RecordKeySource); err != nil || string(data) != "two" || rev3 != rev2 {
		t.Fatalf("ReadRecord = %q, %d, %v; want two, %d", data, rev3, err, rev2)
	}
}

// TestUnreachableClusterFailsWithinTheDeadline: endpoints where nothing
// listens fail every call with ErrUnreachable, naming them, within about
// the deadline.
func TestUnreachableClusterFailsWithinTheDeadline(t *testing.T) {
	const deadline = 300 * time.Millisecond
	s, err := etcdstore.New(context.Background(), etcdstore.Options{
		Endpoints: []string{"http://127.0.0.1:9"}, Prefix: "/x/", Timeout: deadline,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = s.Get(t.Context(), backendtest.NewID(t))
	if !errors.Is(err, backend.ErrUnreachable) || !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Get: %v, want ErrUnreachable", err)
	}
	if el := time.Since(start); el > 10*deadline {
		t.Fatalf("Get took %s with a deadline of %s", el, deadline)
	}
	if want := "127.0.0.1:9"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name the endpoint", err)
	}
}

// TestHealthNamesTheMemberThatIsDown: with one member killed, Health names
// it (and only it); the store still works on the quorum.
func TestHealthNamesTheMemberThatIsDown(t *testing.T) {
	c := etcdproc.Shared(t)
	s := open(t, time.Second)
	defer s.Close()
	if err := s.Health(t.Context()); err != nil {
		t.Fatalf("Health of a healthy cluster: %v", err)
	}
	c.Kill(2)
	defer func() {
		if err := c.Restart(2); err != nil {
			t.Error(err)
		}
		if err := c.WaitHealthy(30 * time.Second); err != nil {
			t.Error(err)
		}
	}()
	err := s.Health(t.Context())
	down := c.Endpoints()[2]
	if err == nil || !strings.Contains(err.Error(), down) || strings.Contains(err.Error(), c.Endpoints()[0]) {
		t.Fatalf("Health with %s down: %v; want an error naming it alone", down, err)
	}
}

// TestPutIfAtComparesTheObjectsRevision: a write guarded by an object
// revision the object no longer has (or a wrong "absent"), or by an old
// key state, stores nothing and returns the object as it is.
func TestPutIfAtComparesTheObjectsRevision(t *testing.T) {
	s := open(t, 0)
	defer s.Close()
	ctx := t.Context()
	rev, err := s.WriteRecord(ctx, backend.RecordKeySource, []byte("state"), 0)
	if err != nil {
		t.Fatal(err)
	}
	id := backendtest.NewID(t)
	objRev, _, _, err := s.PutIfAt(ctx, id, []byte("first"), backend.RecordKeySource, rev, 0, 8)
	if err != nil || objRev == 0 {
		t.Fatalf("PutIfAt of a new object: %d, %v", objRev, err)
	}
	for _, tt := range []struct {
		name        string
		rev, objRev int64
	}{
		{"object said absent", rev, 0},
		{"object at an older revision", rev, objRev - 1},
		{"key state at an older revision", rev - 1, objRev},
	} {
		_, cur, curRev, err := s.PutIfAt(ctx, id, []byte("stale"), backend.RecordKeySource, tt.rev, tt.objRev, 3)
		if !errors.Is(err, backend.ErrConflict) || string(cur) != "fir" || curRev != objRev {
			t.Fatalf("%s: %q, %d, %v; want ErrConflict and the object as it is (fir, %d)", tt.name, cur, curRev, err, objRev)
		}
	}
	missing := backendtest.NewID(t)
	if _, cur, curRev, err := s.PutIfAt(ctx, missing, []byte("x"), backend.RecordKeySource, rev, objRev, 3); !errors.Is(err, backend.ErrConflict) || cur != nil || curRev != 0 {
		t.Fatalf("a guess on a missing object: %q, %d, %v; want ErrConflict, nil, 0", cur, curRev, err)
	}
	if _, _, _, err := s.PutIfAt(ctx, id, []byte("second"), backend.RecordKeySource, rev, objRev, 8); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, id); err != nil || string(got) != "second" {
		t.Fatalf("Get: %q, %v", got, err)
	}
}
