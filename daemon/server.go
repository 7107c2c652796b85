package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/daemon/internal/peercred"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/resolve/tomlref"
	"github.com/palyra/palyra-vault/vault"
)

// peer is the caller of one connection, as the kernel reported it.
type peer struct {
	cred peercred.Cred
	exe  string
	err  error
}

type peerKey struct{}

// httpError is a refusal: the status, the api error code and a message
// that is safe to send and log.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) *httpError {
	return &httpError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP identifies the caller, checks that its uid may call, and
// dispatches. Every answer is JSON; a panic becomes a 500, never a crash.
func (d *Daemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status := 0
	p, _ := r.Context().Value(peerKey{}).(*peer)
	defer func() {
		if v := recover(); v != nil {
			// The panic value is not logged: it could quote anything.
			d.log.Error("panic while serving a request", "path", r.URL.Path, "panic_type", fmt.Sprintf("%T", v))
			writeError(w, errorf(http.StatusInternalServerError, api.CodeInternal, "internal error"))
			status = http.StatusInternalServerError
		}
		if p != nil {
			d.log.Debug("request", "method", r.Method, "path", r.URL.Path, "uid", p.cred.UID, "pid", p.cred.PID,
				"status", status, "duration", time.Since(start))
		}
	}()
	w.Header().Set("Cache-Control", "no-store")

	if p == nil || p.err != nil {
		reason := "no credentials"
		if p != nil {
			reason = p.err.Error()
		}
		d.warn(unknownUID, "refused a caller that could not be identified", "err", reason)
		w.Header().Set("Connection", "close")
		status = writeError(w, errorf(http.StatusForbidden, api.CodeForbidden, "the daemon could not identify the caller: %s", reason))
		return
	}
	allowed, up := d.callerAllowed(p.cred.UID)
	if !up {
		status = writeError(w, errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the daemon is shutting down"))
		return
	}
	if !allowed {
		herr := errorf(http.StatusForbidden, api.CodeForbidden,
			"uid %d may not call this daemon: it serves uid %d and the uids in daemon.allowed_uids", p.cred.UID, d.uid)
		d.warn(p.cred.UID, "refused a caller", "uid", p.cred.UID, "pid", p.cred.PID, "exe", p.exe, "path", r.URL.Path)
		// Its connection closes after this answer: nothing it sends next
		// would be served, so it holds no slot for the keep-alive.
		w.Header().Set("Connection", "close")
		if r.URL.Path == api.PathResolve {
			if err := d.audit.Write(d.record(p, "", audit.Denied, herr.status, herr.msg)); err != nil {
				d.auditFailed(p.cred.UID, err)
			}
		}
		status = writeError(w, herr)
		return
	}

	switch r.URL.Path {
	case api.PathHealth:
		if status = checkMethod(w, r, http.MethodGet); status == 0 {
			status = d.serveHealth(w)
		}
	case api.PathStatus:
		if status = checkMethod(w, r, http.MethodGet); status == 0 {
			status = d.serveStatus(w)
		}
	case api.PathResolve:
		if status = checkMethod(w, r, http.MethodPost); status == 0 {
			status = d.serveResolve(w, r, p)
		} else {
			if err := d.audit.Write(d.record(p, "", audit.Denied, status, "method not allowed")); err != nil {
				d.auditFailed(p.cred.UID, err)
			}
		}
	default:
		status = writeError(w, errorf(http.StatusNotFound, api.CodeNotFound, "no such endpoint; the endpoints are %s, %s and %s",
			api.PathHealth, api.PathStatus, api.PathResolve))
	}
}

// callerAllowed reports whether uid may call under the current settings,
// and whether the daemon still serves at all.
func (d *Daemon) callerAllowed(uid uint32) (allowed, up bool) {
	st := d.current()
	defer d.mu.RUnlock()
	if st == nil {
		return false, false
	}
	return st.settings.allowedUID(d.uid, uid), true
}

// checkMethod answers 405 unless r uses method (HEAD counts as GET); it
// returns the status it wrote, or 0.
func checkMethod(w http.ResponseWriter, r *http.Request, method string) int {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return 0
	}
	w.Header().Set("Allow", method)
	return writeError(w, errorf(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "%s needs %s", r.URL.Path, method))
}

func (d *Daemon) serveHealth(w http.ResponseWriter) int {
	st := d.current()
	var gen uint64
	if st != nil {
		gen = st.gen
	}
	d.mu.RUnlock()
	return writeJSON(w, http.StatusOK, api.Health{Status: "ok", PID: d.pid, Generation: gen})
}

func (d *Daemon) serveStatus(w http.ResponseWriter) int {
	s, ok := d.status()
	if !ok {
		return writeError(w, errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the daemon is shutting down"))
	}
	return writeJSON(w, http.StatusOK, s)
}

// status builds the status under the read lock; ok is false once shut down.
func (d *Daemon) status() (s api.Status, ok bool) {
	st := d.current()
	defer d.mu.RUnlock()
	if st == nil {
		return s, false
	}
	s = api.Status{
		PID: d.pid, Started: d.started, Socket: d.socket, Config: st.config,
		Generation: st.gen, Loaded: st.loaded, References: make([]api.RefStatus, 0, len(st.entries)),
	}
	if d.lastReload != nil {
		lr := *d.lastReload
		s.LastReload = &lr
	}
	followed := d.fl.followed()
	for _, e := range st.entries {
		s.References = append(s.References, e.refStatus(followed))
	}
	s.Follow = d.fl.status(st)
	return s, true
}

// serveResolve answers POST /v1/resolve: decode, find the reference,
// authorize, audit, then send the value. Every request is audited, and
// nothing is sent that was not audited first.
func (d *Daemon) serveResolve(w http.ResponseWriter, r *http.Request, p *peer) int {
	rec := d.record(p, "", audit.Denied, 0, "")
	req, err := api.DecodeResolveRequest(r.Body)
	if err != nil {
		var re *api.RequestError
		if errors.As(err, &re) && re.TooLarge {
			return d.finish(w, p, rec, errorf(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "%v", err))
		}
		return d.finish(w, p, rec, errorf(http.StatusBadRequest, api.CodeBadRequest, "%v", err))
	}
	pl := d.plan(req, p.cred.UID, &rec)
	switch {
	case pl.refusal != nil:
		return d.finish(w, p, rec, pl.refusal)
	case pl.body != nil:
		defer clear(pl.body)
		return d.send(w, rec, pl.body)
	}

	// per_use, or a vault reference the configuration does not hold:
	// resolve now, for this request only.
	val, meta, err := resolveWithMetadata(r.Context(), pl.resolver, pl.ref)
	if err != nil {
		return d.finish(w, p, rec, resolveError(err))
	}
	defer val.Wipe()
	pl.meta.ResolvedAt, pl.meta.Vault = time.Now().UTC(), meta
	body, err := api.AppendResolveResponse(nil, pl.meta, val.Reveal())
	if err != nil {
		return d.finish(w, p, rec, errorf(http.StatusInternalServerError, api.CodeInternal, "%v", err))
	}
	defer clear(body)
	return d.send(w, rec, body)
}

// resolvePlan is what serveResolve does next: refuse, send a held value's
// body, or resolve ref with resolver.
type resolvePlan struct {
	refusal  *httpError
	body     []byte
	ref      resolve.Ref
	resolver *resolver
	meta     api.ResolveResponse
}

// plan does everything that needs the current state, under its read lock:
// find the reference, authorize it, and copy a held value into the answer
// (so that a reload or shutdown cannot wipe it mid-copy). It fills in rec's
// principal, path, reference and decision.
func (d *Daemon) plan(req api.ResolveRequest, uid uint32, rec *audit.Record) (pl resolvePlan) {
	st := d.current()
	defer d.mu.RUnlock()
	if st == nil {
		pl.refusal = errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the daemon is shutting down")
		return pl
	}
	rec.Principal = st.settings.principalOf(uid)
	var e *entry
	if req.Path != "" {
		rec.Path = clip(req.Path)
		if e = st.lookupPath(req.Path); e == nil {
			pl.refusal = errorf(http.StatusNotFound, api.CodeNotFound,
				"the configuration has no reference at the path asked for (not repeated: it may be a mistyped secret); palyra daemon status lists them")
			return pl
		}
		pl.ref = e.found.Ref
	} else {
		ref, err := tomlref.Parse(req.Ref)
		if err != nil {
			pl.refusal = errorf(http.StatusBadRequest, api.CodeBadRequest, "field \"ref\": %s", reason(err))
			return pl
		}
		pl.ref = ref
		if e = st.byCanon[ref.Canonical()]; e != nil {
			pl.ref = e.found.Ref // the configuration's policy applies
		}
	}
	rec.Ref = pl.ref.String()
	if e != nil {
		rec.Path = e.found.Path
	}
	if err := st.settings.authorize(rec.Principal, pl.ref, e != nil); err != nil {
		pl.refusal = errorf(http.StatusForbidden, api.CodeForbidden, "%v", err)
		return pl
	}
	// From here on the policy allowed the request; a failure is the source's.
	rec.Decision = audit.Allowed
	pl.meta = api.ResolveResponse{Fingerprint: pl.ref.String(), Refresh: string(resolve.RefreshPerUse)}
	if e != nil {
		pl.meta.Path, pl.meta.Setting, pl.meta.Refresh = e.found.Path, e.found.Setting, string(pl.ref.RefreshPolicy())
	}
	switch {
	case e != nil && e.held:
		pl.meta.ResolvedAt, pl.meta.Vault = e.resolvedAt, e.meta
		if !e.staleSince.IsZero() {
			since := e.staleSince
			pl.meta.StaleSince = &since
		}
		body, err := api.AppendResolveResponse(nil, pl.meta, e.value.Reveal())
		if err != nil {
			clear(body)
			pl.refusal = errorf(http.StatusInternalServerError, api.CodeInternal, "%v", err)
			return pl
		}
		pl.body = body
	case e != nil && e.err != nil && pl.ref.RefreshPolicy() != resolve.RefreshPerUse:
		pl.refusal = resolveError(e.err)
	default:
		pl.resolver = st.resolver
	}
	return pl
}

// send audits an allowed request and writes its body. When the audit log
// cannot be written the value is not sent.
func (d *Daemon) send(w http.ResponseWriter, rec audit.Record, body []byte) int {
	rec.Status = http.StatusOK
	if err := d.audit.Write(rec); err != nil {
		d.log.Error("writing the audit log; refusing to answer unaudited", "err", err)
		return writeError(w, errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the audit log cannot be written"))
	}
	writeBody(w, http.StatusOK, body)
	return http.StatusOK
}

// finish audits a refused or failed resolve request and writes its error.
func (d *Daemon) finish(w http.ResponseWriter, p *peer, rec audit.Record, herr *httpError) int {
	rec.Status, rec.Reason = herr.status, herr.msg
	if herr.status == http.StatusForbidden {
		d.warn(p.cred.UID, "refused a resolve request", "uid", p.cred.UID, "pid", p.cred.PID, "exe", p.exe, "ref", rec.Ref, "reason", herr.msg)
	}
	if err := d.audit.Write(rec); err != nil {
		d.auditFailed(p.cred.UID, err)
	}
	return writeError(w, herr)
}

func (d *Daemon) record(p *peer, principal, decision string, status int, reason string) audit.Record {
	return audit.Record{UID: p.cred.UID, PID: p.cred.PID, Exe: p.exe, Principal: principal, Decision: decision, Status: status, Reason: reason}
}

// resolveError maps a resolution failure onto an HTTP answer.
func resolveError(err error) *httpError {
	msg := "resolving " + err.Error()
	var re *resolve.Error
	if errors.As(err, &re) {
		msg = err.Error()
	}
	switch resolve.KindOf(err) {
	case resolve.Missing:
		return errorf(http.StatusNotFound, api.CodeMissing, "%s", msg)
	case resolve.Invalid:
		return errorf(http.StatusBadRequest, api.CodeBadRequest, "%s", msg)
	case resolve.Timeout:
		return errorf(http.StatusGatewayTimeout, api.CodeTimeout, "%s", msg)
	}
	if errors.Is(err, ErrClosed) || errors.Is(err, vault.ErrBackendUnavailable) {
		return errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "%s", msg)
	}
	return errorf(http.StatusBadGateway, api.CodeResolveFailed, "%s", msg)
}

// clip shortens user input quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return writeError(w, errorf(http.StatusInternalServerError, api.CodeInternal, "encoding the answer: %v", err))
	}
	writeBody(w, status, append(b, '\n'))
	return status
}

func writeError(w http.ResponseWriter, e *httpError) int {
	b, _ := json.Marshal(api.ErrorResponse{Err: api.ErrorBody{Code: e.code, Message: e.msg}})
	writeBody(w, e.status, append(b, '\n'))
	return e.status
}

// writeBody writes a whole JSON answer with its Content-Length, so that
// every answer is delimited the same way whatever its size (the client,
// daemon/api, also reads chunked answers).
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
