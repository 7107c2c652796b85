// Package audit writes the daemon's audit log: one JSON object per line for
// every resolve request, allowed or denied, saying who asked (uid, pid,
// executable, principal), for what (the reference's fingerprint and
// configuration path) and what the daemon decided. A Record has no field
// that could hold a value.
//
// The log is append-only (O_APPEND), mode 0600, and rotated by size: when a
// line would take the file past MaxBytes it is renamed to <path>.1, <path>.1
// to <path>.2 and so on, the oldest beyond Keep is deleted, and a new file is
// started. Lines are written with one write(2) each and not fsynced: a crash
// may lose the last lines the kernel had not flushed, never corrupt earlier
// ones. Rotation and Close fsync.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

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

// Decisions.
const (
	Allowed = "allowed"
	Denied  = "denied"
)

// Record is one audit line. It never holds a value or a reference's text.
type Record struct {
	Time time.Time `json:"time"`
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
	// Decision is Allowed or Denied.
	Decision string `json:"decision"`
	// Status is the HTTP status sent.
	Status int `json:"status"`
	// Reason says why a request was denied or failed.
	Reason string `json:"reason,omitempty"`
}

// Options says where the log goes and how it rotates.
type Options struct {
	// Path is the log file. Its directory must exist.
	Path string
	// MaxBytes is the size at which the file is rotated; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Keep is how many rotated files are kept; 0 means DefaultKeep.
	Keep int
}

func (o Options) withDefaults() Options {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Keep == 0 {
		o.Keep = DefaultKeep
	}
	return o
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	opts Options
	f    *os.File
	size int64
}

// Open opens (creating it with mode 0600 if needed) the audit log for
// appending. It refuses a file that is a symbolic link, not a regular file,
// not owned by this user, or readable or writable by group or others.
func Open(opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	l := &Log{opts: opts}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func checkOptions(o Options) error {
	if o.MaxBytes < MinMaxBytes || o.MaxBytes > MaxMaxBytes {
		return fmt.Errorf("audit log size limit %d is not between %d and %d bytes", o.MaxBytes, MinMaxBytes, MaxMaxBytes)
	}
	if o.Keep < 1 || o.Keep > MaxKeep {
		return fmt.Errorf("audit log keep count %d is not between 1 and %d", o.Keep, MaxKeep)
	}
	return nil
}

func (l *Log) open() error {
	f, err := openAppend(l.opts.Path)
	if err != nil {
		return err
	}
	if err := fsutil.CheckPrivateFile(l.opts.Path); err != nil {
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit log %q: %w", l.opts.Path, err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// SetLimits changes MaxBytes and Keep (0 means the default), for a
// configuration reload. Rotated files beyond the new Keep are deleted at the
// next rotation.
func (l *Log) SetLimits(maxBytes int64, keep int) error {
	o := Options{Path: l.opts.Path, MaxBytes: maxBytes, Keep: keep}.withDefaults()
	if err := checkOptions(o); err != nil {
		return err
	}
	l.mu.Lock()
	l.opts = o
	l.mu.Unlock()
	return nil
}

// Write appends rec as one line, rotating first when the line would take
// the file past MaxBytes. A zero rec.Time is set to now. When it fails the
// caller must not serve the request: an unaudited answer is not allowed.
func (l *Log) Write(rec Record) error {
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
	if l.f == nil {
		return errors.New("audit log is closed")
	}
	if l.size > 0 && l.size+int64(len(line)) > l.opts.MaxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("writing audit log %q: %w", l.opts.Path, err)
	}
	return nil
}

// rotate shifts <path>.i to <path>.i+1, drops what falls beyond Keep, moves
// the current file to <path>.1 and opens a new one. Called with l.mu held.
func (l *Log) rotate() error {
	p := l.opts.Path
	_ = l.f.Sync()
	if err := l.f.Close(); err != nil {
		l.f = nil
		return fmt.Errorf("closing audit log %q: %w", p, err)
	}
	l.f = nil
	// Drop every file numbered Keep or more (Keep may have shrunk since
	// they were made; it never exceeds MaxKeep), then shift the rest up.
	name := func(i int) string { return rotated(p, i) }
	if err := fsutil.RotateNumbered(name, l.opts.Keep, MaxKeep); err != nil {
		return fmt.Errorf("rotating audit log: %w", err)
	}
	if err := os.Rename(p, rotated(p, 1)); err != nil {
		return fmt.Errorf("rotating audit log: %w", err)
	}
	_ = fsutil.SyncDir(filepath.Dir(p))
	return l.open()
}

func rotated(p string, i int) string { return p + "." + strconv.Itoa(i) }

// Close flushes the log to disk and closes it. Writes after Close fail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
