//go:build unix

package daemon

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/daemon/internal/fixture"
)

func TestConnLimiterKeepsTheOwnersShareAndEachUIDsLimit(t *testing.T) {
	const owner = 1000
	type step struct {
		uid     uint32
		acquire bool // false: release
		want    bool // for acquire: admitted
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"per-uid limit", []step{{7, true, true}, {7, true, true}, {7, true, false}, {8, true, true}}},
		{"others share total minus per-uid", []step{
			{7, true, true}, {7, true, true}, {8, true, true}, {8, true, true}, // others: 4 of 6-2
			{9, true, false},                                               // others full
			{owner, true, true}, {owner, true, true}, {owner, true, false}, // the owner's own 2
		}},
		{"release frees a slot", []step{
			{7, true, true}, {7, true, true}, {7, true, false}, {7, false, false}, {7, true, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newConnLimiter(owner, 6, 2)
			for i, s := range tt.steps {
				if !s.acquire {
					l.release(s.uid)
					continue
				}
				if got := l.acquire(s.uid); got != s.want {
					t.Fatalf("step %d: acquire(%d) = %v, want %v (open %d)", i, s.uid, got, s.want, l.open())
				}
			}
			total := 0
			for _, n := range l.byUID {
				total += n
			}
			if total > 6 || l.open() != total || l.others != total-l.byUID[owner] {
				t.Fatalf("counts: open %d, others %d, byUID %v", l.open(), l.others, l.byUID)
			}
		})
	}
}

// TestOwnConnectionsAreLimitedAndAnsweredWhenOver opens the owner's whole
// share of connections, checks that one more is answered 503 and closed
// by the daemon, then that closing one frees its slot.
func TestOwnConnectionsAreLimitedAndAnsweredWhenOver(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config+"\n[daemon]\nmax_connections = 4\nmax_connections_per_uid = 2\n")
	e.start()
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("unix", e.d.Socket())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	waitConns := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); e.d.Connections() != want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections open, want %d", e.d.Connections(), want)
			}
		}
	}
	waitConns(2)
	over, err := net.Dial("unix", e.d.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	over.SetReadDeadline(time.Now().Add(30 * time.Second))
	answer, err := io.ReadAll(over) // returns at EOF: the daemon closed it
	if err != nil || !strings.HasPrefix(string(answer), "HTTP/1.1 503 ") || !strings.Contains(string(answer), "max_connections_per_uid") {
		t.Fatalf("over the limit: %v, %q", err, answer)
	}
	if n := e.d.Connections(); n != 2 {
		t.Fatalf("%d connections open after a refused one, want 2", n)
	}
	held[0].Close()
	waitConns(1)
	if _, err := e.client.Health(context.Background()); err != nil {
		t.Fatalf("health after a slot was freed: %v", err)
	}
	if !strings.Contains(e.logs.String(), "refused a connection over the connection limits") {
		t.Fatalf("no warning about the refused connection:\n%s", e.logs)
	}
}
