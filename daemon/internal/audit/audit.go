// Package audit writes the daemon's audit log: one JSON object per line for
// every resolve request, allowed or denied, saying who asked (uid, pid,
// executable, principal), for what (the reference's fingerprint and
// configuration path) and what the daemon decided; and one for every
// refresh, when the daemon reads a held value again on its own (event
// "refresh": why, and how it went). A Record has no field that could hold
// a value.
//
// Allowed and denied records go to two files, each rotated on its own, so
// that no number of denied requests can rotate an allowed record away.
// Denied records are also aggregated per caller uid: the first DenialBurst
// of a uid in each DenialWindow are written in full, the rest only counted,
// and one summary record (Suppressed > 0) says how many were left out.
//
// Both files are append-only (O_APPEND), mode 0600, and rotated by size:
// when a line would take a file past MaxBytes it is renamed to <path>.1,
// <path>.1 to <path>.2 and so on, the oldest beyond Keep is deleted, and a
// new file is started. Lines are written with one write(2) each and not
// fsynced: a crash may lose the last lines the kernel had not flushed, never
// corrupt earlier ones. Rotation and Close fsync.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palyra/palyra-vault/daemon/internal/ratelimit"
	"github.com/palyra/palyra-vault/internal/fsutil"
)

// Defaults and limits of Options.
const (
	DefaultMaxBytes = 10 << 20 // 10 MiB
	DefaultKeep     = 5
	MinMaxBytes     = 4 << 10 // 4 KiB
	MaxMaxBytes     = 1 << 30 // 1 GiB
	MaxKeep         = 100
)

// The aggregation of denied records: per caller uid and window, the first
// DenialBurst are written in full and the rest summed up in one record.
const (
	DenialWindow = 10 * time.Second
	DenialBurst  = 20
)

// Decisions.
const (
	Allowed = "allowed"
	Denied  = "denied"
)

// EventRefresh is Record.Event of a refresh record: the daemon read a held
// value again on its own (no caller; UID and PID are the daemon's).
// Refresh records go to the file of allowed records.
const EventRefresh = "refresh"

// Record is one audit line. It never holds a value, nor a reference's text
// beyond a vault secret's scope and key (names the configuration holds
// too, never secret) in a refresh record.
type Record struct {
	Time time.Time `json:"time"`
	// Event is EventRefresh for a refresh, "" for a resolve request.
	Event string `json:"event,omitempty"`
	// UID and PID identify the caller as the kernel reported it on connect;
	// PID is 0 when unknown.
	UID uint32 `json:"uid"`
	PID int32  `json:"pid"`
	// Exe is the caller's executable (/proc/<pid>/exe), "" when unknown.
	Exe string `json:"exe,omitempty"`
	// Principal is the principal the caller's uid maps to, "" for none.
	Principal string `json:"principal,omitempty"`
	// Path is the configuration path asked for, or served.
	Path string `json:"path,omitempty"`
	// Ref is the reference's fingerprint ("vault#3f2a9c1b"), "" when the
	// request named none that could be parsed.
	Ref string `json:"ref,omitempty"`
	// Scope and Key name the vault secret a refresh read ("" for other
	// sources, and in request records).
	Scope string `json:"scope,omitempty"`
	Key   string `json:"key,omitempty"`
	// Trigger says why a refresh happened: "change", "resync" or
	// "reload".
	Trigger string `json:"trigger,omitempty"`
	// Result says how a refresh went: "ok", "failed" (Reason says why),
	// "deleted" or "missing".
	Result string `json:"result,omitempty"`
	// Decision is Allowed or Denied for a request; "" in a refresh.
	Decision string `json:"decision,omitempty"`
	// Status is the HTTP status sent (0 in a summary).
	Status int `json:"status"`
	// Reason says why a request was denied or failed.
	Reason string `json:"reason,omitempty"`
	// Suppressed, in a summary record, is the number of denied requests of
	// UID between Since and Time that were not written one by one.
	Suppressed int        `json:"suppressed,omitempty"`
	Since      *time.Time `json:"since,omitempty"`
}

// Options says where the log goes and how it rotates.
type Options struct {
	// Path is the file of allowed records. Its directory must exist.
	Path string
	// DeniedPath is the file of denied records; "" means Path with
	// "-denied" before its ".log" extension (audit.log: audit-denied.log).
	DeniedPath string
	// MaxBytes is the size at which a file is rotated; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Keep is how many rotated copies of each file are kept; 0 means
	// DefaultKeep.
	Keep int
}

// DeniedPath returns the default file of denied records for the file of
// allowed records path.
func DeniedPath(path string) string {
	return strings.TrimSuffix(path, ".log") + "-denied.log"
}

func (o Options) withDefaults() Options {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Keep == 0 {
		o.Keep = DefaultKeep
	}
	if o.DeniedPath == "" {
		o.DeniedPath = DeniedPath(o.Path)
	}
	return o
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	opts    Options
	allowed *file
	denied  *file
	closed  bool
	denials *ratelimit.Window[uint32]
	// summaryErr is the last failure to write a summary record; the next
	// Write of a denied record returns it.
	summaryErr error
}

// file is one of the log's two rotated files.
type file struct {
	path string
	f    *os.File
	size int64
}

// Open opens (creating them with mode 0600 if needed) the audit log's files
// for appending. It refuses a file that is a symbolic link, not a regular
// file, not owned by this user, or readable or writable by group or others.
func Open(opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	l := &Log{opts: opts, allowed: &file{path: opts.Path}, denied: &file{path: opts.DeniedPath}}
	if err := l.allowed.open(); err != nil {
		return nil, err
	}
	if err := l.denied.open(); err != nil {
		l.allowed.f.Close()
		return nil, err
	}
	l.denials = ratelimit.New(DenialWindow, DenialBurst, l.summarize)
	return l, nil
}

func checkOptions(o Options) error {
	if o.MaxBytes < MinMaxBytes || o.MaxBytes > MaxMaxBytes {
		return fmt.Errorf("audit log size limit %d is not between %d and %d bytes", o.MaxBytes, MinMaxBytes, MaxMaxBytes)
	}
	if o.Keep < 1 || o.Keep > MaxKeep {
		return fmt.Errorf("audit log keep count %d is not between 1 and %d", o.Keep, MaxKeep)
	}
	if o.DeniedPath == o.Path {
		return fmt.Errorf("audit log: denied records need a file of their own, not %q", o.Path)
	}
	return nil
}

func (f *file) open() error {
	fd, err := openAppend(f.path)
	if err != nil {
		return err
	}
	if err := fsutil.CheckPrivateFile(f.path); err != nil {
		fd.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	fi, err := fd.Stat()
	if err != nil {
		fd.Close()
		return fmt.Errorf("audit log %q: %w", f.path, err)
	}
	f.f, f.size = fd, fi.Size()
	return nil
}

// SetLimits changes MaxBytes and Keep (0 means the default), for a
// configuration reload. Rotated files beyond the new Keep are deleted at the
// next rotation.
func (l *Log) SetLimits(maxBytes int64, keep int) error {
	o := Options{Path: l.opts.Path, DeniedPath: l.opts.DeniedPath, MaxBytes: maxBytes, Keep: keep}.withDefaults()
	if err := checkOptions(o); err != nil {
		return err
	}
	l.mu.Lock()
	l.opts = o
	l.mu.Unlock()
	return nil
}

// Write appends rec as one line to the file of its decision (a refresh
// record to the allowed file), rotating that file first when the line
// would take it past MaxBytes. A zero rec.Time is set to now. A denied
// record beyond its uid's DenialBurst in the current DenialWindow is only
// counted, and Write returns nil. When Write fails for an allowed record
// the caller must not serve the request: an unaudited answer is not
// allowed.
func (l *Log) Write(rec Record) error {
	if rec.denied() {
		if !l.denials.Allow(rec.UID) {
			return nil
		}
	}
	err := l.write(rec)
	if rec.denied() && err == nil {
		l.mu.Lock()
		err, l.summaryErr = l.summaryErr, nil
		l.mu.Unlock()
	}
	return err
}

// denied reports whether rec goes to the file of denied records: every
// record of a request not allowed (a refresh is no request).
func (r *Record) denied() bool { return r.Event != EventRefresh && r.Decision != Allowed }

// summarize writes the record of a window's suppressed denials.
func (l *Log) summarize(d ratelimit.Dropped[uint32]) {
	since := d.Since.UTC()
	err := l.write(Record{Time: d.Until, UID: d.Key, Decision: Denied, Suppressed: d.N, Since: &since,
		Reason: strconv.Itoa(d.N) + " more denied requests of this uid, not written one by one"})
	if err != nil {
		l.mu.Lock()
		l.summaryErr = err
		l.mu.Unlock()
	}
}

func (l *Log) write(rec Record) error {
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	rec.Time = rec.Time.UTC()
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("audit log is closed")
	}
	f := l.allowed
	if rec.denied() {
		f = l.denied
	}
	if f.f == nil {
		// A rotation failed to open the new file; try again.
		if err := f.open(); err != nil {
			return err
		}
	}
	if f.size > 0 && f.size+int64(len(line)) > l.opts.MaxBytes {
		if err := f.rotate(l.opts.Keep); err != nil {
			return err
		}
	}
	n, err := f.f.Write(line)
	f.size += int64(n)
	if err != nil {
		return fmt.Errorf("writing audit log %q: %w", f.path, err)
	}
	return nil
}

// rotate shifts <path>.i to <path>.i+1, drops what falls beyond keep, moves
// the current file to <path>.1 and opens a new one. Called with l.mu held.
func (f *file) rotate(keep int) error {
	p := f.path
	_ = f.f.Sync()
	err := f.f.Close()
	f.f = nil
	if err != nil {
		return fmt.Errorf("closing audit log %q: %w", p, err)
	}
	// Drop every file numbered keep or more (keep may have shrunk since
	// they were made; it never exceeds MaxKeep), then shift the rest up.
	name := func(i int) string { return rotated(p, i) }
	if err := fsutil.RotateNumbered(name, keep, MaxKeep); err != nil {
		return fmt.Errorf("rotating audit log: %w", err)
	}
	if err := os.Rename(p, rotated(p, 1)); err != nil {
		return fmt.Errorf("rotating audit log: %w", err)
	}
	_ = fsutil.SyncDir(filepath.Dir(p))
	return f.open()
}

func rotated(p string, i int) string { return p + "." + strconv.Itoa(i) }

// Close writes the summaries of denials still being counted, flushes both
// files to disk and closes them. Writes after Close fail.
func (l *Log) Close() error {
	l.denials.Flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for _, f := range []*file{l.allowed, l.denied} {
		if f.f == nil {
			continue
		}
		errs = append(errs, f.f.Sync(), f.f.Close())
		f.f = nil
	}
	return errors.Join(errs...)
}
