// Package daemon is the palyra daemon: a long-running process that reads
// palyra.toml, resolves every secret reference in it by its refresh policy,
// and serves the values to local processes over HTTP + JSON on a Unix
// socket (package api is the wire protocol; docs/DAEMON.md the manual).
//
// Start loads the configuration and resolves its references into a
// snapshot: on_startup, on_reload and on_change values are held in memory,
// per_use ones are checked and dropped. On a vault that can be watched (a
// shared vault on etcd) on_change values are read again whenever the vault
// reports a change, and marked stale while it cannot be reached (follow.go). A required reference that fails stops the start
// with a *LoadError listing every failure on its own line (dotted path,
// fingerprint, kind, reason; never a value); optional ones are logged as
// warnings. Reload (SIGHUP under Run) reads the configuration again,
// re-resolves on_reload references, keeps unchanged on_startup values, and
// swaps the snapshot only when everything required resolved; otherwise the
// old snapshot stays and the reason is logged. Shutdown (SIGTERM or SIGINT
// under Run) stops accepting, lets in-flight requests finish, wipes every
// held value and the vault's keys, and removes the socket.
//
// Every caller is identified by the kernel (SO_PEERCRED on Linux,
// LOCAL_PEERCRED on macOS); only the daemon's own uid and the uids of
// allowed_uids (the [daemon] table of palyra-vault.toml, beside
// palyra.toml: see LoadSettings) may call. What they may read is decided by
// Settings.authorize; every resolve request, allowed or not, is written to
// an audit log (denials aggregated per uid, in a file of their own). The
// connections open at once are limited in all and per uid, with the
// daemon's own uid keeping a share no other user can take; a caller that
// may not call is answered once and its connection closed. The daemon
// refuses to start where callers cannot be
// identified (Windows).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/daemon/internal/peercred"
	"github.com/palyra/palyra-vault/daemon/internal/ratelimit"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// Names of the files in the daemon's directory (<state root>/daemon).
const (
	// AuditName is the audit log's file of allowed requests; rotated
	// copies add .1, .2, ….
	AuditName = "audit.log"
	// AuditDeniedName is the audit log's file of denied requests, rotated
	// on its own so that denials never rotate an allowed record away.
	AuditDeniedName = "audit-denied.log"
	// lockSuffix is appended to the socket path to name the lock file that
	// keeps a second daemon from taking over the socket.
	lockSuffix = ".lock"
)

// DefaultShutdownTimeout is how long Shutdown waits for in-flight requests
// when its context has no deadline of its own.
const DefaultShutdownTimeout = 30 * time.Second

// MaxSocketPath is the longest socket path accepted: sockaddr_un holds 104
// bytes on macOS (108 on Linux), including the terminating NUL.
const MaxSocketPath = 103

// Options says which configuration and vault the daemon serves.
type Options struct {
	// ConfigPath is the configuration file; "" means $PALYRA_CONFIG, else
	// the platform default (config.Find).
	ConfigPath string
	// Vault opens the vault that vault references read. Its StateRoot (or
	// $PALYRA_STATE_ROOT, else the platform default) also holds the
	// daemon's directory.
	Vault vault.Config
	// Socket is the socket path; "" means $PALYRA_DAEMON_SOCKET, else
	// <state root>/daemon/daemon.sock.
	Socket string
	// Logger receives the daemon's structured logs; nil means
	// slog.Default().
	Logger *slog.Logger

	// watch and watchable replace vault.Vault.Watch and Watchable as the
	// source of the vault's changes (tests); a nil watch means the vault's
	// own.
	watch     watchFunc
	watchable func(*vault.Vault) bool
}

// Daemon is a started daemon. Serve it, Reload it, Shutdown it.
type Daemon struct {
	log     *slog.Logger
	uid     uint32
	pid     int
	started time.Time
	cfgPath string
	socket  string
	dir     string
	// ownsSockDir is set when the socket's directory is the daemon's own
	// directory or this start created it: only then does the daemon set
	// its mode (0700, or 0711 with socket_shared). Any other directory is
	// checked and left as it was found.
	ownsSockDir bool

	vault  *lazyVault
	audit  *audit.Log
	conns  *connLimiter
	warns  *ratelimit.Window[uint32]
	ln     *net.UnixListener
	srv    *http.Server
	unlock func() error

	mu         sync.RWMutex // guards cur and lastReload
	cur        *state       // nil once shut down
	lastReload *api.Reload

	reloadMu sync.Mutex // serialises Reload, Shutdown and the follower's refreshes
	reloads  uint64
	closed   bool

	fl follower // following the vault's changes (follow.go); guarded by mu
}

// ErrClosed is returned by Reload after Shutdown.
var ErrClosed = errors.New("the daemon is shut down")

// Start checks that callers can be identified on this system, takes the
// daemon's lock (one daemon per socket), loads the configuration and
// resolves its references, opens the audit log and listens on the socket.
// It fails with a *LoadError when the configuration cannot be used or a
// required reference does not resolve, and with a clear error when another
// daemon holds the socket, a directory is unsafe, or the system is not
// supported. Nothing is left listening when it fails.
func Start(ctx context.Context, opts Options) (_ *Daemon, err error) {
	if err := peercred.Supported(); err != nil {
		return nil, fmt.Errorf("the palyra daemon cannot run here: %w; it would have no way to tell who calls it", err)
	}
	d := &Daemon{log: opts.Logger, uid: uint32(os.Geteuid()), pid: os.Getpid(), started: time.Now().UTC()}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.warns = d.newWarnings()
	d.fl.watch, d.fl.watchable = opts.watch, opts.watchable
	if d.fl.watch == nil {
		d.fl.watch, d.fl.watchable = vaultWatch, (*vault.Vault).Watchable
	}
	stateRoot, err := secret.StateRoot(opts.Vault.StateRoot)
	if err != nil {
		return nil, err
	}
	if d.socket, err = api.SocketPath(opts.Socket, stateRoot); err != nil {
		return nil, err
	}
	if len(d.socket) > MaxSocketPath {
		return nil, fmt.Errorf("socket path %q is %d bytes, Unix sockets allow at most %d: choose a shorter one with --socket or $%s", d.socket, len(d.socket), MaxSocketPath, api.EnvSocket)
	}

	// A configuration that is not there stops the start before anything
	// is created on disk; load checks the file fully.
	loc, err := config.Find(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	d.cfgPath = loc.Path
	if _, err := os.Stat(d.cfgPath); errors.Is(err, fs.ErrNotExist) {
		return nil, &LoadError{Config: d.cfgPath, Err: err}
	}

	// The socket's directory first: one the daemon may not use is refused
	// before anything is created.
	d.dir = filepath.Join(stateRoot, api.DirName)
	sockDir := filepath.Dir(d.socket)
	d.ownsSockDir = sockDir == d.dir
	if !d.ownsSockDir {
		created, err := fsutil.EnsurePrivateDirCreated(sockDir)
		if err != nil {
			return nil, &hintError{err: fmt.Errorf("socket directory: %w", err), hint: sockDirHint}
		}
		d.ownsSockDir = created
	}
	if err := fsutil.EnsurePrivateDir(d.dir); err != nil {
		return nil, fmt.Errorf("daemon directory: %w", err)
	}
	lockCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	d.unlock, err = fsutil.LockExclusive(lockCtx, d.socket+lockSuffix)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("another palyra daemon is running on %s (it holds %s)", d.socket, d.socket+lockSuffix)
		}
		return nil, fmt.Errorf("locking the daemon socket: %w", err)
	}
	defer func() {
		if err != nil {
			d.release()
		}
	}()

	vcfg := opts.Vault
	vcfg.StateRoot = stateRoot
	d.vault = &lazyVault{cfg: vcfg}

	// Open the vault now, so that a passphrase is asked for (or read) at
	// start and never in the middle of serving; a vault that cannot be
	// opened yet is tried again when a vault reference needs it.
	if err := d.vault.open(ctx); err != nil {
		d.log.Warn("the vault is not open; vault references will fail until it can be", "err", err)
	}
	st, err := d.load(ctx, nil)
	if err != nil {
		return nil, err
	}
	d.cur = st
	d.conns = newConnLimiter(d.uid, 0, 0)
	d.conns.setLimits(st.settings.ConnLimits())

	d.audit, err = audit.Open(audit.Options{Path: filepath.Join(d.dir, AuditName),
		DeniedPath: filepath.Join(d.dir, AuditDeniedName), MaxBytes: st.settings.AuditMaxBytes, Keep: st.settings.AuditKeep})
	if err != nil {
		return nil, err
	}
	if d.ln, err = listen(d.socket); err != nil {
		return nil, err
	}
	if err := d.applySocketMode(st.settings); err != nil {
		return nil, err
	}
	d.srv = &http.Server{
		Handler:           d,
		ConnContext:       connContext, // the caller, identified by limitListener
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	d.logLoad(st, "configuration loaded")
	d.ensureFollow(ctx, st)
	return d, nil
}

// listen creates the socket with mode 0600, replacing a stale socket file
// left by a daemon that died (the caller holds the lock, so no live daemon
// uses it). Anything at the path that is not a socket is refused.
func listen(path string) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%q exists and is not a socket: move it out of the way", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	// Between its creation (mode from the umask) and this chmod, only
	// users who can traverse the directory could reach the socket: nobody
	// else in the daemon's own 0700 directory; in a directory the admin
	// opened, a caller who connects then is still checked by uid.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("setting the socket's mode: %w", err)
	}
	return ln, nil
}

// applySocketMode sets the socket to 0600, or with socket_shared to 0666:
// reachable by every local user who can traverse the directories above,
// who are then checked by uid. It sets the socket's directory to 0700 (0711
// with socket_shared) only when the daemon owns it (its own directory, or
// one this start created); any other directory keeps the mode its owner
// gave it, and a shared socket in one that no other user can traverse is
// logged as a warning.
func (d *Daemon) applySocketMode(s *Settings) error {
	sockMode, dirMode := os.FileMode(0o600), os.FileMode(0o700)
	if s.SocketShared {
		sockMode, dirMode = 0o666, 0o711
	}
	dir := filepath.Dir(d.socket)
	if d.ownsSockDir {
		if err := os.Chmod(dir, dirMode); err != nil {
			return fmt.Errorf("setting the socket directory's mode: %w", err)
		}
	} else if fi, err := os.Stat(dir); err == nil && s.SocketShared && fi.Mode().Perm()&0o011 == 0 {
		d.log.Warn("socket_shared is set but no other user can traverse the socket's directory; the daemon does not change a directory it did not create",
			"dir", dir, "mode", fmt.Sprintf("%04o", uint32(fi.Mode().Perm())), "fix", fmt.Sprintf("chmod 711 %q", dir))
	}
	if err := os.Chmod(d.socket, sockMode); err != nil {
		return fmt.Errorf("setting the socket's mode: %w", err)
	}
	if s.SocketShared {
		d.log.Info("socket shared: other users may connect; only the daemon's uid and daemon.allowed_uids are served",
			"socket", d.socket, "allowed_uids", s.AllowedUIDs)
	}
	return nil
}

// sockDirHint is the hint of a socket directory refused by its owner or
// mode.
const sockDirHint = "the daemon checks, and never changes, a socket directory it did not create: " +
	"it must be owned by the daemon's user and writable by no one else (mode 0700, or 0711 with socket_shared); " +
	"or give --socket a path in a directory that does not exist yet, which the daemon creates"

// hintError is an error with a hint saying what to do next; the palyra
// command prints it on a "palyra: hint:" line of its own.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// Hint returns what to do next.
func (e *hintError) Hint() string { return e.hint }

// release frees what Start took, for a failed start or after Shutdown.
func (d *Daemon) release() {
	if d.ln != nil {
		d.ln.Close() // also unlinks the socket
	}
	d.warns.Flush()
	if d.audit != nil {
		if err := d.audit.Close(); err != nil {
			d.log.Error("closing the audit log", "err", err)
		}
	}
	if d.vault != nil {
		d.vault.Close() // wipes the vault's keys
	}
	if d.unlock != nil {
		_ = d.unlock()
	}
}

// Socket returns the path the daemon listens on.
func (d *Daemon) Socket() string { return d.socket }

// ConfigPath returns the configuration file the daemon reads.
func (d *Daemon) ConfigPath() string { return d.cfgPath }

// Serve accepts connections until Shutdown; it then returns nil. Call it
// once.
func (d *Daemon) Serve() error {
	d.log.Info("listening", "socket", d.socket, "pid", d.pid, "uid", d.uid)
	if err := d.srv.Serve(&limitListener{UnixListener: d.ln, d: d}); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", d.socket, err)
	}
	return nil
}

// Reload reads the configuration again and resolves it into a new snapshot
// (see the package doc). When the new configuration cannot be used or a
// required reference fails, it logs why, keeps serving the old snapshot and
// returns the *LoadError.
func (d *Daemon) Reload(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.reloads++
	d.mu.RLock()
	old := d.cur
	d.mu.RUnlock()

	st, err := d.load(ctx, old)
	rec := &api.Reload{Time: time.Now().UTC(), OK: err == nil, Attempts: d.reloads}
	if err != nil {
		rec.Error = err.Error()
		d.log.Error("reload refused; still serving the previous configuration", "generation", old.gen, "err", err)
		d.mu.Lock()
		d.lastReload = rec
		d.mu.Unlock()
		return err
	}
	d.mu.Lock()
	d.cur = st
	d.mu.Unlock()
	// No request holds old any more: readers copy values under the read
	// lock, and the swap above waited for them.
	wiped := old.wipe()
	if err := d.audit.SetLimits(st.settings.AuditMaxBytes, st.settings.AuditKeep); err != nil {
		d.log.Error("audit log limits unchanged", "err", err)
	}
	if err := d.applySocketMode(st.settings); err != nil {
		d.log.Error("socket permissions unchanged", "err", err)
	}
	d.conns.setLimits(st.settings.ConnLimits())
	d.logLoad(st, "configuration reloaded")
	d.log.Debug("previous snapshot wiped", "values", wiped)
	d.auditReload(st)
	d.ensureFollow(ctx, st)
	// Published last, so whoever sees it in the status finds the logs written.
	d.mu.Lock()
	d.lastReload = rec
	d.mu.Unlock()
	return nil
}

// Shutdown stops accepting connections, waits for in-flight requests (until
// ctx is done, or DefaultShutdownTimeout when ctx has no deadline; then it
// cuts them), wipes every held value, closes the vault (wiping its keys)
// and the audit log, removes the socket and releases the lock. It returns
// how many held values it wiped.
func (d *Daemon) Shutdown(ctx context.Context) (int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownTimeout)
		defer cancel()
	}
	err := d.srv.Shutdown(ctx)
	if err != nil {
		d.log.Warn("in-flight requests did not finish in time; closing them", "err", err)
		d.srv.Close()
	}
	d.stopFollow()
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.closed {
		return 0, ErrClosed
	}
	d.closed = true
	d.mu.Lock()
	st := d.cur
	d.cur = nil
	d.mu.Unlock()
	wiped := 0
	if st != nil {
		wiped = st.wipe()
	}
	d.release()
	d.log.Info("stopped", "wiped_values", wiped)
	return wiped, err
}

// current returns the state under the read lock; the caller must call
// d.mu.RUnlock. It returns nil (still locked) once shut down.
func (d *Daemon) current() *state {
	d.mu.RLock()
	return d.cur
}

// lazyVault opens the vault on first use and keeps it open, so the daemon
// starts (and serves other sources) even when no vault exists yet, and a
// vault created later is found. It implements resolve.VaultLookup.
type lazyVault struct {
	cfg    vault.Config
	mu     sync.Mutex
	v      *vault.Vault
	closed bool
}

func (l *lazyVault) Get(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
	l.mu.Lock()
	err := l.openLocked(ctx)
	v := l.v
	l.mu.Unlock()
	if err != nil {
		return secret.SensitiveBytes{}, vault.Metadata{}, err
	}
	return v.Get(ctx, scope, key)
}

// get returns the vault, opening it unless it is open.
func (l *lazyVault) get(ctx context.Context) (*vault.Vault, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.openLocked(ctx); err != nil {
		return nil, err
	}
	return l.v, nil
}

// open opens the vault unless it is open.
func (l *lazyVault) open(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.openLocked(ctx)
}

func (l *lazyVault) openLocked(ctx context.Context) error {
	if l.closed {
		return ErrClosed
	}
	if l.v != nil {
		return nil
	}
	v, err := vault.Open(ctx, l.cfg)
	if err != nil {
		return fmt.Errorf("opening the vault: %w", err)
	}
	// Load the key now: Open does not, and a passphrase must be asked for
	// at start, never in the middle of serving.
	if err := v.Unlock(ctx); err != nil {
		_ = v.Close()
		return fmt.Errorf("opening the vault: %w", err)
	}
	l.v = v
	return nil
}

// Close closes the vault if it was opened.
func (l *lazyVault) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.v != nil {
		_ = l.v.Close()
		l.v = nil
	}
}
