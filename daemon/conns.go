package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/peercred"
	"github.com/palyra/palyra-vault/daemon/internal/ratelimit"
)

// refusedConnLifetime is how long the connection of a caller that may not
// call stays open when it sends no request: long enough to read its 403,
// too short to hold a file descriptor for long.
const refusedConnLifetime = 2 * time.Second

// The rate limit of warnings about one uid.
const (
	warnWindow = 10 * time.Second
	warnBurst  = 5
)

// unknownUID is the uid under which connections whose caller could not be
// identified are counted; it is never a valid uid of the settings.
const unknownUID = math.MaxUint32

// connLimiter counts open connections per uid and in all. The daemon's own
// uid may open perUID connections whatever the others hold: the others
// share total-perUID.
type connLimiter struct {
	owner uint32

	mu            sync.Mutex
	total, perUID int
	byUID         map[uint32]int
	others        int // open connections of uids other than owner
}

func newConnLimiter(owner uint32, total, perUID int) *connLimiter {
	return &connLimiter{owner: owner, total: total, perUID: perUID, byUID: map[uint32]int{}}
}

// setLimits applies new limits (on reload); open connections beyond them
// stay open, new ones wait for them to close.
func (l *connLimiter) setLimits(total, perUID int) {
	l.mu.Lock()
	l.total, l.perUID = total, perUID
	l.mu.Unlock()
}

// acquire takes a slot for a connection of uid, or reports false.
func (l *connLimiter) acquire(uid uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byUID[uid] >= l.perUID {
		return false
	}
	if uid != l.owner {
		if l.others >= l.total-l.perUID {
			return false
		}
		l.others++
	}
	l.byUID[uid]++
	return true
}

// release frees the slot acquire took for uid.
func (l *connLimiter) release(uid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byUID[uid]--; l.byUID[uid] <= 0 {
		delete(l.byUID, uid)
	}
	if uid != l.owner {
		l.others--
	}
}

// open returns the number of connections open in all.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.byUID {
		n += c
	}
	return n
}

// peerConn is an accepted connection with its caller and its slot.
type peerConn struct {
	*net.UnixConn
	peer *peer
	once sync.Once
	done func()

	mu    sync.Mutex
	timer *time.Timer // closes a refused caller's connection, or nil
}

// closeAfter closes c after d unless it is closed before.
func (c *peerConn) closeAfter(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = time.AfterFunc(d, func() { c.Close() })
}

// Close closes the connection and frees its slot.
func (c *peerConn) Close() error {
	err := c.UnixConn.Close()
	c.once.Do(func() {
		c.mu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		c.done()
	})
	return err
}

// limitListener identifies each caller as it is accepted and holds it to
// the connection limits: a connection over them is answered 503 and closed
// before anything of it is read.
type limitListener struct {
	*net.UnixListener
	d *Daemon
}

// Accept returns the next connection within the limits.
func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return nil, err
		}
		p := &peer{}
		p.cred, p.err = peercred.Get(c)
		uid := p.cred.UID
		if p.err != nil {
			uid = unknownUID
		}
		if !ln.d.conns.acquire(uid) {
			ln.d.refuseConn(c, uid)
			continue
		}
		pc := &peerConn{UnixConn: c, peer: p, done: func() { ln.d.conns.release(uid) }}
		if p.err == nil {
			p.exe = peercred.Executable(p.cred.PID)
		}
		if allowed, _ := ln.d.callerAllowed(uid); !allowed || p.err != nil {
			pc.closeAfter(refusedConnLifetime)
		}
		return pc, nil
	}
}

// tooManyConns is the whole answer to a connection over the limits, built
// on first use (not at init, which every palyra command pays for).
var tooManyConns = sync.OnceValue(func() []byte {
	body, _ := json.Marshal(api.ErrorResponse{Err: api.ErrorBody{Code: api.CodeUnavailable,
		Message: "too many connections from this uid or in all; close idle ones, or raise daemon.max_connections_per_uid or daemon.max_connections"}})
	body = append(body, '\n')
	head := "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n"
	return append([]byte(head), body...)
})

// refuseConn answers a connection over the limits and closes it, without
// waiting on the caller.
func (d *Daemon) refuseConn(c *net.UnixConn, uid uint32) {
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write(tooManyConns())
	_ = c.Close()
	d.warn(uid, "refused a connection over the connection limits", "uid", uid)
}

// connContext records each connection's caller, identified when it was
// accepted, before any byte of a request is read.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*peerConn); ok {
		return context.WithValue(ctx, peerKey{}, pc.peer)
	}
	return context.WithValue(ctx, peerKey{}, &peer{err: errors.New("not a connection of the daemon's listener")})
}

// warn logs a warning about uid unless uid has had warnBurst of them in
// the current warnWindow; those left out are counted in one warning when
// the window ends.
func (d *Daemon) warn(uid uint32, msg string, args ...any) {
	if d.warns.Allow(uid) {
		d.log.Warn(msg, args...)
	}
}

// auditFailed logs a failure to write a refused request's audit record,
// under the limit of warn: a flood must not turn a full disk into a flood
// of errors.
func (d *Daemon) auditFailed(uid uint32, err error) {
	if d.warns.Allow(uid) {
		d.log.Error("writing the audit log", "err", err)
	}
}

// newWarnings returns the limiter of d.warn.
func (d *Daemon) newWarnings() *ratelimit.Window[uint32] {
	return ratelimit.New(warnWindow, warnBurst, func(dr ratelimit.Dropped[uint32]) {
		d.log.Warn("left out warnings about a uid", "uid", dr.Key, "left_out", dr.N, "since", dr.Since.UTC())
	})
}

// Connections returns the number of connections open now.
func (d *Daemon) Connections() int { return d.conns.open() }
