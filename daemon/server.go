package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/daemon/internal/peercred"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/vault"
)

// peer is the caller of one connection, as the kernel reported it.
type peer struct {
	cred peercred.Cred
	exe  string
	err  error
}

type peerKey struct{}

// connContext records each connection's peer credentials when it is
// accepted, before any byte of a request is read.
func connContext(ctx context.Context, c net.Conn) context.Context {
	p := &peer{}
	if uc, ok := c.(*net.UnixConn); ok {
		p.cred, p.err = peercred.Get(uc)
		if p.err == nil {
			p.exe = peercred.Executable(p.cred.PID)
		}
	} else {
		p.err = errors.New("not a Unix socket connection")
	}
	return context.WithValue(ctx, peerKey{}, p)
}

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
		d.log.Warn("refused a caller that could not be identified", "err", reason)
		status = writeError(w, errorf(http.StatusForbidden, api.CodeForbidden, "the daemon could not identify the caller: %s", reason))
		return
	}
	st := d.current()
	if st == nil {
		d.mu.RUnlock()
		status = writeError(w, errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the daemon is shutting down"))
		return
	}
	allowed := st.settings.allowedUID(d.uid, p.cred.UID)
	d.mu.RUnlock()
	if !allowed {
		herr := errorf(http.StatusForbidden, api.CodeForbidden,
			"uid %d may not call this daemon: it serves uid %d and the uids in daemon.allowed_uids", p.cred.UID, d.uid)
		d.log.Warn("refused a caller", "uid", p.cred.UID, "pid", p.cred.PID, "exe", p.exe, "path", r.URL.Path)
		if r.URL.Path == api.PathResolve {
			if err := d.audit.Write(d.record(p, "", audit.Denied, herr.status, herr.msg)); err != nil {
				d.log.Error("writing the audit log", "err", err)
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
				d.log.Error("writing the audit log", "err", err)
			}
		}
	default:
		status = writeError(w, errorf(http.StatusNotFound, api.CodeNotFound, "no such endpoint; the endpoints are %s, %s and %s",
			api.PathHealth, api.PathStatus, api.PathResolve))
	}
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
	st := d.current()
	if st == nil {
		d.mu.RUnlock()
		return writeError(w, errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the daemon is shutting down"))
	}
	s := api.Status{
		PID: d.pid, Started: d.started, Socket: d.socket, Config: st.config,
		Generation: st.gen, Loaded: st.loaded, References: make([]api.RefStatus, 0, len(st.entries)),
	}
	if d.lastReload != nil {
		lr := *d.lastReload
		s.LastReload = &lr
	}
	for _, e := range st.entries {
		s.References = append(s.References, e.refStatus())
	}
	d.mu.RUnlock()
	return writeJSON(w, http.StatusOK, s)
}

// serveResolve answers POST /v1/resolve: decode, find the reference,
// authorize, audit, then send the value. Every request is audited, and
// nothing is sent that was not audited first.
func (d *Daemon) serveResolve(w http.ResponseWriter, r *http.Request, p *peer) int {
	rec := d.record(p, "", audit.Denied, 0, "")
	deny := func(herr *httpError) int { rec.Decision = audit.Denied; return d.finish(w, p, rec, herr) }
	// fail answers a request the policy allowed but whose source failed.
	fail := func(herr *httpError) int { rec.Decision = audit.Allowed; return d.finish(w, p, rec, herr) }

	req, err := api.DecodeResolveRequest(r.Body)
	if err != nil {
		var re *api.RequestError
		if errors.As(err, &re) && re.TooLarge {
			return deny(errorf(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "%v", err))
		}
		return deny(errorf(http.StatusBadRequest, api.CodeBadRequest, "%v", err))
	}

	st := d.current()
	if st == nil {
		d.mu.RUnlock()
		return deny(errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the daemon is shutting down"))
	}
	rec.Principal = st.settings.principalOf(p.cred.UID)
	var (
		e   *entry
		ref resolve.Ref
	)
	if req.Path != "" {
		rec.Path = clip(req.Path)
		if e = st.lookupPath(req.Path); e == nil {
			d.mu.RUnlock()
			return deny(errorf(http.StatusNotFound, api.CodeNotFound,
				"the configuration has no reference at %q; palyra daemon status lists them", clip(req.Path)))
		}
		ref = e.found.Ref
	} else {
		if ref, err = resolve.Parse(req.Ref); err != nil {
			d.mu.RUnlock()
			return deny(errorf(http.StatusBadRequest, api.CodeBadRequest, "field \"ref\": %s", reason(err)))
		}
		if e = st.byCanon[ref.Canonical()]; e != nil {
			ref = e.found.Ref // the configuration's policy applies
		}
	}
	rec.Ref = ref.String()
	if e != nil {
		rec.Path = e.found.Path
	}
	if err := st.settings.authorize(rec.Principal, ref, e != nil); err != nil {
		d.mu.RUnlock()
		return deny(errorf(http.StatusForbidden, api.CodeForbidden, "%v", err))
	}
	rec.Decision = audit.Allowed

	meta := api.ResolveResponse{Fingerprint: ref.String(), Refresh: string(resolve.RefreshPerUse)}
	if e != nil {
		meta.Path, meta.Setting, meta.Refresh = e.found.Path, e.found.Setting, string(ref.RefreshPolicy())
	}
	switch {
	case e != nil && e.held:
		// Copy the held value into the body while holding the read lock, so
		// that a reload or shutdown cannot wipe it mid-copy.
		meta.ResolvedAt = e.resolvedAt
		body, err := api.AppendResolveResponse(nil, meta, e.value.Reveal())
		d.mu.RUnlock()
		if err != nil {
			return fail(errorf(http.StatusInternalServerError, api.CodeInternal, "%v", err))
		}
		defer clear(body)
		return d.send(w, rec, body)
	case e != nil && e.err != nil && ref.RefreshPolicy() != resolve.RefreshPerUse:
		failed := e.err
		d.mu.RUnlock()
		return fail(resolveError(failed))
	}
	resolver := st.resolver
	d.mu.RUnlock()

	// per_use, or a vault reference the configuration does not hold:
	// resolve now, for this request only.
	val, err := resolver.Resolve(r.Context(), ref)
	if err != nil {
		return fail(resolveError(err))
	}
	defer val.Wipe()
	meta.ResolvedAt = time.Now().UTC()
	body, err := api.AppendResolveResponse(nil, meta, val.Reveal())
	if err != nil {
		return fail(errorf(http.StatusInternalServerError, api.CodeInternal, "%v", err))
	}
	defer clear(body)
	return d.send(w, rec, body)
}

// send audits an allowed request and writes its body. When the audit log
// cannot be written the value is not sent.
func (d *Daemon) send(w http.ResponseWriter, rec audit.Record, body []byte) int {
	rec.Status = http.StatusOK
	if err := d.audit.Write(rec); err != nil {
		d.log.Error("writing the audit log; refusing to answer unaudited", "err", err)
		return writeError(w, errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "the audit log cannot be written"))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return http.StatusOK
}

// finish audits a refused or failed resolve request and writes its error.
func (d *Daemon) finish(w http.ResponseWriter, p *peer, rec audit.Record, herr *httpError) int {
	rec.Status, rec.Reason = herr.status, herr.msg
	if herr.status == http.StatusForbidden {
		d.log.Warn("refused a resolve request", "uid", p.cred.UID, "pid", p.cred.PID, "exe", p.exe, "ref", rec.Ref, "reason", herr.msg)
	}
	if err := d.audit.Write(rec); err != nil {
		d.log.Error("writing the audit log", "err", err)
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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return status
}

func writeError(w http.ResponseWriter, e *httpError) int {
	b, _ := json.Marshal(api.ErrorResponse{Err: api.ErrorBody{Code: e.code, Message: e.msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(append(b, '\n'))
	return e.status
}
