package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/palyra/palyra-vault/daemon/internal/peercred"
	"github.com/palyra/palyra-vault/internal/readlimit"
)

// Client talks to a running daemon over its Unix socket. It is safe for
// concurrent use and keeps connections open between requests.
type Client struct {
	socket string
	hc     *http.Client
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
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, "unix", socket)
			if err != nil {
				return nil, err
			}
			if err := checkPeer(conn, socket); err != nil {
				_ = conn.Close()
				return nil, err
			}
			return conn, nil
		},
		MaxIdleConns:          4,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0, // a per_use command may run for minutes; ctx bounds it
		DisableCompression:    true,
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr}}
}

// Socket returns the socket path the client dials.
func (c *Client) Socket() string { return c.socket }

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Health asks GET /v1/health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	body, err := c.do(ctx, http.MethodGet, PathHealth, nil)
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
	body, err := c.do(ctx, http.MethodGet, PathStatus, nil)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("decoding the daemon's status: %w", err)
	}
	return s, nil
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
	body, err := c.do(ctx, http.MethodPost, PathResolve, reqBody)
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
	if err := c.checkSocket(); err != nil {
		return nil, err
	}
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://palyra-daemon"+path, rd)
	if err != nil {
		return nil, err
	}
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var pe *peerError
		if errors.As(err, &pe) {
			return nil, pe
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, c.notRunning()
		}
		return nil, fmt.Errorf("asking the daemon at %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	// The answer may hold a value: read it leaving no copy behind.
	body, err := readlimit.ReadAll(resp.Body, MaxResponseBytes, int(min(max(resp.ContentLength, 0), MaxResponseBytes)))
	if errors.Is(err, readlimit.ErrTooLarge) {
		err = fmt.Errorf("the answer is larger than %d bytes", MaxResponseBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return body, nil
	}
	var er ErrorResponse
	if json.Unmarshal(body, &er) != nil || er.Err.Code == "" {
		er.Err = ErrorBody{Code: CodeInternal, Message: "the daemon answered " + resp.Status + " without a JSON error"}
	}
	return nil, &Error{Status: resp.StatusCode, Code: er.Err.Code, Message: er.Err.Message}
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
