package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/palyra/palyra-vault/daemon/internal/peercred"
)

// Client talks to a running daemon over its Unix socket. It is safe for
// concurrent use. Each request is one HTTP/1.1 exchange on a connection of
// its own (httpwire.go): the client is written for palyra's own daemon, not
// for HTTP at large, so that the commands that ask the daemon do not link
// net/http (docs/PERFORMANCE.md, "Start-up").
type Client struct {
	socket string
	dialer net.Dialer
}

// NewClient returns a Client for the daemon listening on socket. It does not
// connect until the first request.
//
// Before it sends anything on a new connection, the client checks who
// listens: the process at the other end must run as this process's user or
// as root (its credentials as the kernel recorded them, daemon/internal/peercred),
// else every request fails with an error wrapping ErrUntrustedDaemon. So a
// socket that another user planted at the path never receives a request
// and never answers one. Where peer credentials cannot be read (neither
// Linux nor macOS; the daemon does not run there either) every request
// fails that way too.
func NewClient(socket string) *Client {
	return &Client{socket: socket, dialer: net.Dialer{Timeout: 5 * time.Second}}
}

// Socket returns the socket path the client dials.
func (c *Client) Socket() string { return c.socket }

// Close releases the client. Connections are not kept between requests,
// so there is nothing to drop; Close stays so that callers need not know.
func (c *Client) Close() {}

// Health asks GET /v1/health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	body, err := c.do(ctx, "GET", PathHealth, nil)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, fmt.Errorf("decoding the daemon's health: %w", err)
	}
	return h, nil
}

// Status asks GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	body, err := c.do(ctx, "GET", PathStatus, nil)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("decoding the daemon's status: %w", err)
	}
	return s, nil
}

// Peer is the process that answered a request, as the kernel recorded it
// when it accepted the connection.
type Peer struct {
	// UID is its effective user id.
	UID uint32
	// PID is its process id, 0 when the platform does not tell.
	PID int32
}

// StatusPeer asks GET /v1/status, as Status does, and also returns who
// answered: "palyra secrets apply --runtime" signals the daemon only when
// it is the caller's own and its pid is the one its status names.
func (c *Client) StatusPeer(ctx context.Context) (Status, Peer, error) {
	var s Status
	var p Peer
	body, err := c.doPeer(ctx, "GET", PathStatus, nil, &p)
	if err != nil {
		return s, p, err
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, p, fmt.Errorf("decoding the daemon's status: %w", err)
	}
	return s, p, nil
}

// Resolve asks POST /v1/resolve. The caller owns the result's Value and
// should Wipe it. A refusal is an *Error (Code says why); a daemon that is
// not there is an error wrapping ErrNotRunning.
func (c *Client) Resolve(ctx context.Context, req ResolveRequest) (ResolveResponse, error) {
	if err := c.checkSocket(); err != nil {
		return ResolveResponse{}, err
	}
	reqBody, err := json.Marshal(req)
	if err != nil {
		return ResolveResponse{}, fmt.Errorf("encoding request: %w", err)
	}
	body, err := c.do(ctx, "POST", PathResolve, reqBody)
	clear(reqBody)
	if err != nil {
		return ResolveResponse{}, err
	}
	defer clear(body)
	return DecodeResolveResponse(body)
}

// do sends one request and returns the body of a 2xx answer, or an *Error
// built from the ErrorResponse.
func (c *Client) do(ctx context.Context, method, path string, reqBody []byte) ([]byte, error) {
	return c.doPeer(ctx, method, path, reqBody, nil)
}

// doPeer is do, filling in peer (when not nil) with who accepted the
// connection.
func (c *Client) doPeer(ctx context.Context, method, path string, reqBody []byte, peer *Peer) ([]byte, error) {
	if err := c.checkSocket(); err != nil {
		return nil, err
	}
	conn, err := c.dialer.DialContext(ctx, "unix", c.socket)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, c.notRunning()
		}
		return nil, fmt.Errorf("asking the daemon at %s: %w", c.socket, err)
	}
	defer conn.Close()
	if err := checkPeer(conn, c.socket); err != nil {
		return nil, err
	}
	if peer != nil {
		if cred, err := peercred.Get(conn.(*net.UnixConn)); err == nil { // checkPeer read it already
			*peer = Peer{UID: cred.UID, PID: cred.PID}
		}
	}
	status, body, err := exchange(ctx, conn, method, path, reqBody)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		} else if d, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
			err = context.DeadlineExceeded // the connection's deadline, which is ctx's, fired first
		}
		return nil, fmt.Errorf("asking the daemon at %s: %w", c.socket, err)
	}
	if status/100 == 2 {
		return body, nil
	}
	var er ErrorResponse
	bad := json.Unmarshal(body, &er) != nil
	clear(body)
	if bad || er.Err.Code == "" {
		er.Err = ErrorBody{Code: CodeInternal, Message: fmt.Sprintf("the daemon answered HTTP status %d without a JSON error", status)}
	}
	return nil, &Error{Status: status, Code: er.Err.Code, Message: er.Err.Message}
}

// checkSocket returns an error wrapping ErrNotRunning when no file exists
// at the socket path, without building a request: the common case of a
// command asking for a daemon that is not running (secrets get, run and
// inject in --daemon auto mode) then costs one stat rather than an HTTP
// round trip's set-up. Anything else is left to the dial.
func (c *Client) checkSocket() error {
	if _, err := os.Stat(c.socket); errors.Is(err, fs.ErrNotExist) {
		return c.notRunning()
	}
	return nil
}

// ErrUntrustedDaemon is wrapped by the Client's errors when the process
// listening on the socket is not the user's own palyra daemon: it runs as
// another user (not root), or its user cannot be read. Nothing was sent to
// it, and nothing it could answer was read.
var ErrUntrustedDaemon = errors.New("the process listening on the daemon socket runs as another user")

// peerError is the error of a connection to an untrusted listener; the
// client returns it as it is, without the HTTP layers around it.
type peerError struct{ err error }

func (e *peerError) Error() string { return e.err.Error() }
func (e *peerError) Unwrap() error { return e.err }

// checkPeer returns nil when the process that accepted conn runs as this
// process's effective user or as root, else a *peerError wrapping
// ErrUntrustedDaemon.
func checkPeer(conn net.Conn, socket string) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return &peerError{fmt.Errorf("%w: %s is not a Unix socket connection", ErrUntrustedDaemon, socket)}
	}
	cred, err := peercred.Get(uc)
	if err != nil {
		return &peerError{fmt.Errorf("%w: cannot tell who listens on %s: %w", ErrUntrustedDaemon, socket, err)}
	}
	self := os.Geteuid()
	if cred.UID == 0 || int64(cred.UID) == int64(self) {
		return nil
	}
	return &peerError{fmt.Errorf("%w: the process listening on %s runs as uid %d, not as this user (uid %d) or root; nothing was sent to it",
		ErrUntrustedDaemon, socket, cred.UID, self)}
}

func (c *Client) notRunning() error {
	return fmt.Errorf("%w: nothing listens on %s", ErrNotRunning, c.socket)
}
