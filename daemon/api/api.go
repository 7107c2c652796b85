// Package api is the wire protocol of the palyra daemon: HTTP/1.1 with JSON
// bodies over a Unix socket, so that curl --unix-socket works. It holds the
// endpoint paths, the request and response types, their size caps, the
// strict request decoder the daemon uses, and a Client.
//
// Endpoints (docs/DAEMON.md has examples):
//
//	GET  /v1/health   -> Health
//	GET  /v1/status   -> Status (every reference; never a value)
//	POST /v1/resolve  ResolveRequest -> ResolveResponse (the value, base64)
//
// Every failure is a 4xx or 5xx status with an ErrorResponse body. A
// request body is at most MaxRequestBytes; a response body at most
// MaxResponseBytes. Secret values travel only in ResolveResponse, as
// standard base64 in the "value" field; the Go types keep them in
// secret.SensitiveBytes, whose printed and JSON forms are redacted.
package api

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/palyra/palyra-vault/secret"
)

// Endpoint paths.
const (
	PathHealth  = "/v1/health"
	PathStatus  = "/v1/status"
	PathResolve = "/v1/resolve"
)

// Size caps.
const (
	// MaxRequestBytes bounds a request body: 16 KiB. A reference longer than
	// that (a command with a very long argv) can still be resolved by its
	// configuration path.
	MaxRequestBytes = 16 << 10
	// MaxRefLen bounds ResolveRequest.Ref, in bytes.
	MaxRefLen = 12 << 10
	// MaxPathLen bounds ResolveRequest.Path, in bytes (config.MaxDottedLen).
	MaxPathLen = 1024
	// MaxValueBytes is the largest value the daemon sends: 4 MiB, the
	// largest max_bytes a reference may ask for.
	MaxValueBytes = 4 << 20
	// MaxResponseBytes bounds a response body: 8 MiB, room for a
	// MaxValueBytes value in base64 (5.6 MiB) or a large status.
	MaxResponseBytes = 8 << 20
)

// Where the daemon listens.
const (
	// EnvSocket names the environment variable that overrides the socket
	// path for the daemon and its clients.
	EnvSocket = "PALYRA_DAEMON_SOCKET"
	// DirName is the daemon's directory under the state root (mode 0700):
	// it holds the socket, its lock and the audit log.
	DirName = "daemon"
	// SocketName is the socket's file name in that directory (mode 0600).
	SocketName = "daemon.sock"
)

// SocketPath returns the daemon's socket: explicit when it is not empty,
// else $PALYRA_DAEMON_SOCKET, else <state root>/daemon/daemon.sock with the
// state root chosen by secret.StateRoot(stateRoot). The result is absolute.
func SocketPath(explicit, stateRoot string) (string, error) {
	p := explicit
	if p == "" {
		p = os.Getenv(EnvSocket)
	}
	if p == "" {
		root, err := secret.StateRoot(stateRoot)
		if err != nil {
			return "", err
		}
		return filepath.Join(root, DirName, SocketName), nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("socket path %q: %w", p, err)
	}
	return abs, nil
}

// Health is the body of GET /v1/health.
type Health struct {
	// Status is "ok" while the daemon serves.
	Status string `json:"status"`
	// PID is the daemon's process id.
	PID int `json:"pid"`
	// Generation counts the configurations loaded: 1 at start, +1 per
	// successful reload.
	Generation uint64 `json:"generation"`
}

// Status is the body of GET /v1/status. It never holds a value.
type Status struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Socket is the path the daemon listens on.
	Socket string `json:"socket"`
	// Config is the configuration file's path.
	Config string `json:"config"`
	// Generation counts the configurations loaded (see Health).
	Generation uint64 `json:"generation"`
	// Loaded is when the configuration now served was loaded.
	Loaded time.Time `json:"loaded"`
	// LastReload is the last reload attempt, nil before the first SIGHUP.
	LastReload *Reload `json:"last_reload,omitempty"`
	// References lists every reference of the configuration, by line.
	References []RefStatus `json:"references"`
	// Follow says whether the daemon follows its vault's changes for
	// on_change references; nil when the configuration has none.
	Follow *Follow `json:"follow,omitempty"`
}

// Follow states: whether the daemon follows its vault's changes.
const (
	// FollowFollowing: the daemon watches the shared vault; on_change
	// references are read again when their secret changes.
	FollowFollowing = "following"
	// FollowLost: the vault cannot be reached; held values are served,
	// on_change ones are stale, and the daemon keeps trying.
	FollowLost = "lost"
	// FollowNotWatchable: the vault's backend cannot report changes (every
	// local backend); on_change references act as on_reload.
	FollowNotWatchable = "not_watchable"
	// FollowStopped: following ended (Reason says why) or could not start
	// (the vault is not open); the next reload tries again.
	FollowStopped = "stopped"
)

// Follow describes the daemon's following of its vault's changes.
type Follow struct {
	// State is FollowFollowing, FollowLost, FollowNotWatchable or
	// FollowStopped.
	State string `json:"state"`
	// Since is when State began (for FollowLost: when the vault was last
	// known to be reachable).
	Since time.Time `json:"since"`
	// Reason says why (lost, stopped, resynchronised), on one line; it
	// names endpoints and revisions, never a value.
	Reason string `json:"reason,omitempty"`
}

// Refresh triggers: why the daemon read a held value again on its own.
const (
	// TriggerChange: the vault reported that the secret was set or deleted.
	TriggerChange = "change"
	// TriggerResync: the vault asked for every followed value to be read
	// again (it came back, changes may have been missed, its keys changed).
	TriggerResync = "resync"
	// TriggerReload: a configuration reload (SIGHUP) resolved it again.
	TriggerReload = "reload"
)

// Refresh results.
const (
	// RefreshOK: the value was read; the new one is served.
	RefreshOK = "ok"
	// RefreshFailed: the read failed (Error says why); the previous value
	// is still served, marked stale.
	RefreshFailed = "failed"
	// RefreshDeleted: the secret is no longer in the vault; the reference
	// fails as missing until it is stored again.
	RefreshDeleted = "deleted"
	// RefreshMissing: a reload found no value for an optional reference.
	RefreshMissing = "missing"
)

// RefRefresh is one refresh of a reference: when, why and how it went.
type RefRefresh struct {
	Time time.Time `json:"time"`
	// Trigger is TriggerChange, TriggerResync or TriggerReload.
	Trigger string `json:"trigger"`
	// Result is RefreshOK, RefreshFailed, RefreshDeleted or RefreshMissing.
	Result string `json:"result"`
	// Error is the redacted reason of a failure.
	Error string `json:"error,omitempty"`
}

// Reload describes one reload attempt (SIGHUP).
type Reload struct {
	Time time.Time `json:"time"`
	// OK is false when the attempt was refused and the previous
	// configuration is still served.
	OK bool `json:"ok"`
	// Error says why it was refused (no value, ever); one line per problem.
	Error string `json:"error,omitempty"`
	// Attempts counts the reloads tried since start, including this one.
	Attempts uint64 `json:"attempts"`
}

// Reference statuses.
const (
	// StatusOK: the value is held (on_startup, on_reload, on_change) or,
	// for per_use, resolved when last checked.
	StatusOK = "ok"
	// StatusMissing: an optional reference whose source has no value, or
	// an on_change one whose secret was deleted from the vault.
	StatusMissing = "missing"
	// StatusFailed: an optional reference that failed for another reason.
	StatusFailed = "failed"
)

// RefStatus describes one reference of the configuration.
type RefStatus struct {
	// Path is the dotted path of the field holding the reference.
	Path string `json:"path"`
	// Setting is the setting it supplies (Path without "_vault_ref").
	Setting string `json:"setting"`
	// Line is the 1-based line in the configuration file.
	Line int `json:"line"`
	// Source is the reference's kind: vault, env, file or exec.
	Source string `json:"source"`
	// Fingerprint is the redacted description, "<source>#<8 hex digits>".
	Fingerprint string `json:"fingerprint"`
	Required    bool   `json:"required"`
	// Refresh is on_startup, on_reload, on_change or per_use.
	Refresh string `json:"refresh"`
	// Status is StatusOK, StatusMissing or StatusFailed.
	Status string `json:"status"`
	// Held is true when the daemon keeps the value in memory.
	Held bool `json:"held"`
	// ResolvedAt is when the reference was last resolved (for per_use: last
	// checked, at start or reload).
	ResolvedAt time.Time `json:"resolved_at"`
	// Error is the redacted reason of a failure.
	Error string `json:"error,omitempty"`
	// Followed is true for an on_change reference while the daemon
	// follows its vault (Status.Follow is following or lost); absent
	// (false) otherwise, notably on a vault that cannot be watched, where
	// on_change acts as on_reload.
	Followed bool `json:"followed,omitempty"`
	// Stale is true when the value served (or its absence) may be behind
	// the vault: the vault was lost, or the last re-read failed. Only
	// on_change references are ever stale.
	Stale bool `json:"stale,omitempty"`
	// StaleSince is when it became stale (RFC 3339), nil when not stale.
	StaleSince *time.Time `json:"stale_since,omitempty"`
	// LastRefresh is the last time the daemon read the reference again on
	// its own (a change, a resync, a reload); nil before the first.
	LastRefresh *RefRefresh `json:"last_refresh,omitempty"`
}

// ResolveRequest is the body of POST /v1/resolve. Exactly one field is set.
type ResolveRequest struct {
	// Ref is a reference in string form (docs/REFERENCES.md): a vault
	// reference vault://<scope>/<key>, or the text of one of the
	// configuration's own references.
	Ref string `json:"ref,omitempty"`
	// Path is the dotted path of a reference in the configuration, as
	// Status reports it (Path or Setting).
	Path string `json:"path,omitempty"`
}

// Target describes the request for logs and errors without its content:
// "path <quoted path>" or "ref" (a ref's text is never repeated).
func (r ResolveRequest) Target() string {
	if r.Path != "" {
		return fmt.Sprintf("path %q", r.Path)
	}
	return "ref"
}

// ResolveResponse is the body of a successful POST /v1/resolve.
type ResolveResponse struct {
	// Path and Setting are the configuration reference served; empty for a
	// vault reference that is not in the configuration.
	Path    string `json:"path,omitempty"`
	Setting string `json:"setting,omitempty"`
	// Fingerprint is the reference's redacted description.
	Fingerprint string `json:"fingerprint"`
	// Refresh is the policy the value was served under: a held value
	// (on_startup, on_reload, on_change) or one resolved for this request
	// (per_use).
	Refresh string `json:"refresh"`
	// ResolvedAt is when the value was resolved.
	ResolvedAt time.Time `json:"resolved_at"`
	// StaleSince is set when the value served may be behind the vault
	// (an on_change value while the vault is lost, or after a failed
	// re-read): since when.
	StaleSince *time.Time `json:"stale_since,omitempty"`
	// Size is the value's length in bytes.
	Size int `json:"size"`
	// Vault is the secret's metadata when the value came from the vault,
	// as it was when the value was read; nil for other sources.
	Vault *VaultMetadata `json:"vault,omitempty"`
	// Encoding is always "base64" (standard, padded).
	Encoding string `json:"encoding"`
	// Value is the secret. On the wire it is the standard base64 of the
	// bytes; in Go it is redacted when printed or marshalled. Wipe it when
	// done.
	Value secret.SensitiveBytes `json:"-"`
}

// VaultMetadata describes a vault secret; it never holds the value.
type VaultMetadata struct {
	Scope   string    `json:"scope"`
	Key     string    `json:"key"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// EncodingBase64 is ResolveResponse.Encoding.
const EncodingBase64 = "base64"

// Error codes of ErrorResponse.
const (
	CodeBadRequest       = "bad_request"        // 400: malformed body or reference
	CodeForbidden        = "forbidden"          // 403: caller or scope not allowed
	CodeNotFound         = "not_found"          // 404: no such endpoint or config path
	CodeMissing          = "missing"            // 404: the reference's source has no value
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeTooLarge         = "too_large"          // 413: request body over MaxRequestBytes
	CodeUnsupported      = "unsupported_media"  // 415: body is not application/json
	CodeResolveFailed    = "resolve_failed"     // 502: the source failed (blocked, i/o, too large)
	CodeTimeout          = "timeout"            // 504: the source did not answer in time
	CodeUnavailable      = "unavailable"        // 503: shutting down, audit log unwritable
	CodeInternal         = "internal"           // 500
)

// ErrorResponse is the body of every failed request.
type ErrorResponse struct {
	Err ErrorBody `json:"error"`
}

// ErrorBody says what went wrong. Message never holds a value or the text
// of a reference.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the error the Client returns for a non-2xx answer.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code and Message come from the ErrorResponse body.
	Code    string
	Message string
}

// Error returns "daemon: <message> (<code>, HTTP <status>)".
func (e *Error) Error() string {
	return fmt.Sprintf("daemon: %s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// ErrNotRunning is wrapped by the Client's errors when nothing listens on
// the socket (it does not exist, or no process accepts on it).
var ErrNotRunning = errors.New("the palyra daemon is not running")
