package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// entry is one reference of a loaded configuration and what the daemon
// holds for it. It is immutable once its state is published, except for
// transferred, which only the goroutine that builds the next state touches,
// and the fields of an on_change entry that the follower refreshes (value,
// held, err, resolvedAt, meta, staleSince, lastRefresh): it changes them
// holding both reloadMu and the daemon's write lock, so readers under the
// read lock, and Reload, see them whole.
type entry struct {
	found config.Found
	// value is the held value: set when held is true.
	value secret.SensitiveBytes
	held  bool
	// err is the last resolution's failure (an *resolve.Error), nil when it
	// resolved.
	err        error
	resolvedAt time.Time
	// meta is the vault secret's metadata when the value came from the
	// vault, nil otherwise.
	meta *api.VaultMetadata
	// transferred marks an entry carried into the next state (an unchanged
	// on_startup reference): wiping the old state must skip it.
	transferred bool
	// carried marks an entry of a new state that is a copy of the previous
	// state's (an unchanged on_startup reference), not read again.
	carried bool
	// staleSince is set while an on_change entry may be behind the vault
	// (the vault was lost, or a re-read failed): since when.
	staleSince time.Time
	// lastRefresh is the last refresh of the entry (by a change, a resync
	// or a reload), nil before the first.
	lastRefresh *api.RefRefresh
}

// onChange reports whether the entry follows the vault's changes: an
// on_change reference (vault references only, by resolve's rule).
func (e *entry) onChange() bool {
	return e.found.Ref.RefreshPolicy() == resolve.RefreshOnChange && e.found.Ref.Source == resolve.SourceVault
}

func (e *entry) status() string {
	switch {
	case e.err == nil:
		return api.StatusOK
	case resolve.KindOf(e.err) == resolve.Missing:
		return api.StatusMissing
	default:
		return api.StatusFailed
	}
}

// refStatus describes the entry; followed says whether the daemon follows
// its vault now. Called under the daemon's read lock.
func (e *entry) refStatus(followed bool) api.RefStatus {
	rs := api.RefStatus{
		Path:        e.found.Path,
		Setting:     e.found.Setting,
		Line:        e.found.Line,
		Source:      string(e.found.Ref.Source),
		Fingerprint: e.found.Ref.String(),
		Required:    e.found.Ref.Required(),
		Refresh:     string(e.found.Ref.RefreshPolicy()),
		Status:      e.status(),
		Held:        e.held,
		ResolvedAt:  e.resolvedAt,
	}
	if e.err != nil {
		rs.Error = reason(e.err)
	}
	if e.onChange() {
		rs.Followed = followed
	}
	if !e.staleSince.IsZero() {
		since := e.staleSince
		rs.Stale, rs.StaleSince = true, &since
	}
	if e.lastRefresh != nil {
		lr := *e.lastRefresh
		rs.LastRefresh = &lr
	}
	return rs
}

// state is one loaded configuration: its settings and its references with
// their values. The daemon swaps whole states under its lock.
type state struct {
	gen      uint64
	config   string
	loaded   time.Time
	settings *Settings
	resolver *resolver
	entries  []*entry // by line
	byPath   map[string]*entry
	bySet    map[string]*entry
	byCanon  map[string]*entry
}

// lookupPath returns the reference at a dotted path, matched first against
// each reference's own path, then against the setting it supplies.
func (s *state) lookupPath(p string) *entry {
	if e, ok := s.byPath[p]; ok {
		return e
	}
	return s.bySet[p]
}

// wipe zeroes every value the state holds that was not carried into a newer
// state, and returns how many it wiped.
func (s *state) wipe() int {
	n := 0
	for _, e := range s.entries {
		if e.held && !e.transferred {
			e.value.Wipe()
			n++
		}
	}
	return n
}

// RefFailure is one reference that did not resolve (or, with kind Invalid,
// could not even be read from the configuration).
type RefFailure struct {
	// Path is the dotted path of the field holding the reference.
	Path string
	// Line is its 1-based line in the configuration.
	Line int
	// Fingerprint is the reference's redacted description
	// ("vault#3f2a9c1b"), "" for an invalid reference.
	Fingerprint string
	// Kind says why it failed.
	Kind resolve.Kind
	// Reason is the failure's redacted cause.
	Reason string
	// Required is false for a reference with required = false.
	Required bool
}

// String returns the failure on one line:
// "<path> (line N): <fingerprint>: <kind>: <reason>". It never holds a
// value.
func (f RefFailure) String() string {
	var b strings.Builder
	b.WriteString(f.Path)
	if f.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", f.Line)
	}
	if f.Fingerprint != "" {
		b.WriteString(": " + f.Fingerprint)
	}
	b.WriteString(": " + f.Kind.String())
	if f.Reason != "" {
		b.WriteString(": " + f.Reason)
	}
	return b.String()
}

// LoadError is returned by Start, and by Reload when it keeps the previous
// configuration: the configuration could not be read (Err), or required
// references did not resolve (Failures). Its message has one line per
// failure and never holds a value.
type LoadError struct {
	// Config is the configuration file's path.
	Config string
	// Err is why the file could not be used: unreadable, not TOML, unsafe
	// permissions, bad [daemon] settings.
	Err error
	// Failures are the required references that failed, and every invalid
	// reference.
	Failures []RefFailure
}

// Error returns a first line saying what failed ("no configuration file
// at <path>" when the file does not exist), then one line per failure.
func (e *LoadError) Error() string {
	if errors.Is(e.Err, fs.ErrNotExist) {
		return "no configuration file at " + e.Config
	}
	if e.Err != nil {
		return fmt.Sprintf("configuration %s: %v", e.Config, e.Err)
	}
	var b strings.Builder
	n := len(e.Failures)
	noun := "references"
	if n == 1 {
		noun = "reference"
	}
	fmt.Fprintf(&b, "%d required %s in %s did not resolve:", n, noun, e.Config)
	for _, f := range e.Failures {
		b.WriteString("\n" + f.String())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *LoadError) Unwrap() error { return e.Err }

// reason returns the part of a resolution error after its "resolving
// <fingerprint>: <kind>: " prefix, which RefFailure prints itself.
func reason(err error) string {
	if errors.Is(err, vault.ErrNotFound) {
		return "the secret is not in the vault" // the vault's own message names object files
	}
	var re *resolve.Error
	if errors.As(err, &re) && re.Err != nil {
		return re.Err.Error()
	}
	return err.Error()
}

// load reads the configuration and resolves its references into a new
// state. Unchanged on_startup references of old (nil at start) are carried
// over without resolving them again; on_reload ones are resolved again;
// per_use ones are resolved once to check them, and not kept. When a
// required reference fails it wipes what it resolved and returns a
// *LoadError; old is left untouched (nothing is marked transferred).
func (d *Daemon) load(ctx context.Context, old *state) (*state, error) {
	path := d.cfgPath
	lerr := func(err error) error { return &LoadError{Config: path, Err: err} }
	if err := checkConfigFile(path); err != nil {
		return nil, lerr(err)
	}
	doc, err := config.Load(path)
	if err != nil {
		return nil, lerr(err)
	}
	settingsPath := SettingsPath(path)
	settings, src, err := LoadSettings(doc.Tree(), settingsPath, checkConfigFile)
	if err != nil {
		return nil, lerr(err)
	}
	if w := src.Warning(settingsPath); w != "" {
		d.log.Warn(w)
	}
	if err := settings.CheckUIDs(d.uid); err != nil {
		return nil, lerr(err)
	}
	found, refErr := config.References(doc)
	var failures []RefFailure
	for _, re := range config.RefErrors(refErr) {
		failures = append(failures, RefFailure{Path: re.Path, Line: re.Line, Kind: resolve.Invalid, Reason: re.Rule(), Required: true})
	}

	st := &state{
		gen:      1,
		config:   path,
		loaded:   time.Now().UTC(),
		settings: settings,
		resolver: &resolver{vault: d.vault, opts: resolve.Options{TrustedDirs: settings.TrustedDirs}},
		byPath:   map[string]*entry{},
		bySet:    map[string]*entry{},
		byCanon:  map[string]*entry{},
	}
	if old != nil {
		st.gen = old.gen + 1
	}
	var carried []*entry
	for _, f := range found {
		e := d.resolveEntry(ctx, st.resolver, f, old)
		if e.transferred {
			// e is a copy of the old entry sharing its value; the old one is
			// marked only if this load succeeds (below).
			e.transferred, e.carried = false, true
			carried = append(carried, e)
		}
		st.entries = append(st.entries, e)
		if _, dup := st.byPath[f.Path]; !dup {
			st.byPath[f.Path] = e
		}
		if _, dup := st.bySet[f.Setting]; !dup {
			st.bySet[f.Setting] = e
		}
		if c := f.Ref.Canonical(); st.byCanon[c] == nil {
			st.byCanon[c] = e
		}
		if e.err == nil {
			continue
		}
		fail := RefFailure{Path: f.Path, Line: f.Line, Fingerprint: f.Ref.String(), Kind: resolve.KindOf(e.err), Reason: reason(e.err), Required: f.Ref.Required()}
		if fail.Required {
			failures = append(failures, fail)
		} else {
			d.log.Warn("optional reference did not resolve", "path", f.Path, "line", f.Line,
				"ref", fail.Fingerprint, "kind", fail.Kind.String(), "reason", fail.Reason)
		}
	}
	if len(failures) > 0 {
		for _, e := range st.entries {
			if e.held && !slices.Contains(carried, e) {
				e.value.Wipe()
			}
		}
		return nil, &LoadError{Config: path, Failures: failures}
	}
	if old != nil {
		for _, e := range carried {
			if o := old.byPath[e.found.Path]; o != nil {
				o.transferred = true
			}
		}
	}
	return st, nil
}

// resolveEntry resolves one reference by its refresh policy. For an
// unchanged on_startup reference of old it returns a copy of the old entry
// (sharing its value) with transferred set, as a signal to load.
func (d *Daemon) resolveEntry(ctx context.Context, r *resolver, f config.Found, old *state) *entry {
	policy := f.Ref.RefreshPolicy()
	if policy == resolve.RefreshOnStartup && old != nil {
		if o := old.byPath[f.Path]; o != nil && o.found.Ref.RefreshPolicy() == resolve.RefreshOnStartup && reflect.DeepEqual(o.found.Ref, f.Ref) {
			e := *o
			e.found = f // the line may have moved
			e.transferred = true
			return &e
		}
	}
	e := &entry{found: f}
	val, meta, err := resolveWithMetadata(ctx, r, f.Ref)
	e.resolvedAt, e.meta = time.Now().UTC(), meta
	if err != nil {
		e.err = err
		return e
	}
	if policy == resolve.RefreshPerUse {
		val.Wipe() // checked, not kept
		return e
	}
	e.value, e.held = val, true
	return e
}

// metadataVault passes vault lookups through and keeps the metadata of the
// last one, which resolve.Resolver does not return.
type metadataVault struct {
	resolve.VaultLookup
	meta *api.VaultMetadata
}

func (m *metadataVault) Get(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
	val, md, err := m.VaultLookup.Get(ctx, scope, key)
	if err == nil {
		m.meta = &api.VaultMetadata{Scope: md.Scope, Key: md.Key, Created: md.Created.UTC(), Updated: md.Updated.UTC()}
	}
	return val, md, err
}

// resolveWithMetadata resolves ref with r's options and, for a vault
// reference, also returns the secret's metadata. It builds a Resolver per
// call (a few words) so that concurrent calls do not share the metadata.
func resolveWithMetadata(ctx context.Context, r *resolver, ref resolve.Ref) (secret.SensitiveBytes, *api.VaultMetadata, error) {
	mv := &metadataVault{VaultLookup: r.vault}
	val, err := resolve.New(mv, r.opts).Resolve(ctx, ref)
	if err != nil {
		return val, nil, err
	}
	return val, mv.meta, nil
}

// resolver is what a state resolves with: the vault and the options.
type resolver struct {
	vault resolve.VaultLookup
	opts  resolve.Options
}

// logLoad reports a loaded state: one line per reference, never a value.
func (d *Daemon) logLoad(st *state, msg string) {
	held := 0
	for _, e := range st.entries {
		if e.held {
			held++
		}
	}
	d.log.Info(msg, "config", st.config, "generation", st.gen, "references", len(st.entries), "held", held)
	for _, e := range st.entries {
		d.log.Debug("reference", slog.String("path", e.found.Path), slog.String("ref", e.found.Ref.String()),
			slog.String("refresh", string(e.found.Ref.RefreshPolicy())), slog.String("status", e.status()))
	}
}
