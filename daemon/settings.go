package daemon

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/secret"
)

// SectionName is the table of palyra.toml that configures the daemon.
const SectionName = "daemon"

// Limits of the [daemon] settings.
const (
	// MaxUIDs bounds allowed_uids and the uids of all principals together.
	MaxUIDs = 1024
	// MaxScopes bounds readable_scopes.
	MaxScopes = 256
	// MaxPrincipals bounds the entries of [daemon.principals].
	MaxPrincipals = 1024
	// MaxTrustedDirs bounds trusted_dirs.
	MaxTrustedDirs = 64
)

// Settings is the [daemon] table of palyra.toml: who may call the daemon
// and what they may read. The zero Settings (no table) lets only the
// daemon's own user call, lets it read the configuration's references and
// vault secrets under the "global" scope, and maps no user to a principal.
//
//	[daemon]
//	allowed_uids    = [1001, 1002]       # callers besides the daemon's own user
//	readable_scopes = ["global", "plugins"]  # vault scopes readable by ref (default ["global"])
//	trusted_dirs    = ["/run/secrets"]   # for file references without their own
//	audit_max_bytes = 10485760           # rotate the audit log at this size
//	audit_keep      = 5                  # rotated audit files kept
//	socket_shared   = true               # socket 0666 in a 0711 directory, for allowed_uids
//
//	[daemon.principals]                  # principal id = the uids that act as it
//	alice = [1001]
type Settings struct {
	// AllowedUIDs may call the daemon besides its own uid.
	AllowedUIDs []uint32
	// ReadableScopes are the vault scopes (each with everything below it)
	// whose secrets an allowed caller may read by reference. nil means
	// DefaultReadableScopes; an empty list means none.
	ReadableScopes []string
	// Principals maps a uid to the principal id it acts as: the caller
	// whose uid maps to "alice" may read the scope "principal:alice".
	Principals map[uint32]string
	// TrustedDirs apply to file references that name none of their own.
	TrustedDirs []string
	// AuditMaxBytes and AuditKeep rotate the audit log (0: the defaults,
	// 10 MiB and 5).
	AuditMaxBytes int64
	AuditKeep     int
	// SocketShared makes the socket 0666 and its directory 0711, so that
	// the users of AllowedUIDs can connect at all; the daemon still checks
	// every caller's uid. False keeps them 0600 and 0700.
	SocketShared bool
}

// DefaultReadableScopes are readable by reference when readable_scopes is
// not set.
var DefaultReadableScopes = []string{"global"}

// Scopes returns the effective readable scopes.
func (s *Settings) Scopes() []string {
	if s.ReadableScopes == nil {
		return DefaultReadableScopes
	}
	return s.ReadableScopes
}

// SettingsError reports a [daemon] setting that breaks its rule. Its
// message names the setting by its dotted path.
type SettingsError struct {
	// Field is the dotted path, for example "daemon.allowed_uids[2]".
	Field string
	// Rule is what the value must be.
	Rule string
}

// Error returns "<field>: <rule>".
func (e *SettingsError) Error() string { return e.Field + ": " + e.Rule }

var settingsFields = []string{"allowed_uids", "readable_scopes", "trusted_dirs", "audit_max_bytes", "audit_keep", "socket_shared", "principals"}

// ParseSettings reads the [daemon] table from a decoded configuration (as
// config.Document.Tree returns it). A missing table gives the zero
// Settings. It fails with an error joining one *SettingsError per broken
// setting; an unknown key is an error, so a misspelt allowlist cannot pass
// silently.
func ParseSettings(tree map[string]any) (*Settings, error) {
	s := &Settings{}
	raw, ok := tree[SectionName]
	if !ok {
		return s, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, &SettingsError{Field: SectionName, Rule: "must be a table"}
	}
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, &SettingsError{Field: SectionName + "." + field, Rule: fmt.Sprintf(format, args...)})
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(settingsFields, k) {
			name := k
			if len(name) > 40 {
				name = name[:40] + "…"
			}
			errs = append(errs, &SettingsError{Field: SectionName + "." + fmt.Sprintf("%q", name),
				Rule: "unknown setting; the settings are " + strings.Join(settingsFields, ", ")})
		}
	}

	if v, ok := m["allowed_uids"]; ok {
		list, isList := v.([]any)
		if !isList {
			fail("allowed_uids", "must be an array of user ids")
		}
		if len(list) > MaxUIDs {
			fail("allowed_uids", "has %d entries, at most %d allowed", len(list), MaxUIDs)
			list = nil
		}
		for i, e := range list {
			uid, ok := uidValue(e)
			if !ok {
				fail(fmt.Sprintf("allowed_uids[%d]", i), "must be an integer between 0 and %d", uint32(math.MaxUint32-1))
				continue
			}
			if !slices.Contains(s.AllowedUIDs, uid) {
				s.AllowedUIDs = append(s.AllowedUIDs, uid)
			}
		}
	}

	if v, ok := m["readable_scopes"]; ok {
		list, isList := v.([]any)
		if !isList {
			fail("readable_scopes", "must be an array of scopes")
		}
		if len(list) > MaxScopes {
			fail("readable_scopes", "has %d entries, at most %d allowed", len(list), MaxScopes)
			list = nil
		}
		s.ReadableScopes = []string{}
		for i, e := range list {
			field := fmt.Sprintf("readable_scopes[%d]", i)
			sc, ok := e.(string)
			switch {
			case !ok:
				fail(field, "must be a string")
			case secret.ValidateScope(sc) != nil:
				fail(field, "%v", secret.ValidateScope(sc))
			case principalSegment(sc) != "":
				fail(field, "%q names a principal scope; those are readable only by their principal (see [daemon.principals])", sc)
			default:
				s.ReadableScopes = append(s.ReadableScopes, sc)
			}
		}
	}

	if v, ok := m["trusted_dirs"]; ok {
		list, isList := v.([]any)
		if !isList {
			fail("trusted_dirs", "must be an array of absolute paths")
		}
		if len(list) > MaxTrustedDirs {
			fail("trusted_dirs", "has %d entries, at most %d allowed", len(list), MaxTrustedDirs)
			list = nil
		}
		for i, e := range list {
			d, ok := e.(string)
			if !ok || d == "" || len(d) > 4096 || strings.ContainsRune(d, 0) || !(filepath.IsAbs(d) || strings.HasPrefix(d, "~/")) {
				fail(fmt.Sprintf("trusted_dirs[%d]", i), "must be an absolute path (or start with ~/)")
				continue
			}
			s.TrustedDirs = append(s.TrustedDirs, d)
		}
	}

	if v, ok := m["audit_max_bytes"]; ok {
		n, isInt := v.(int64)
		if !isInt || n < audit.MinMaxBytes || n > audit.MaxMaxBytes {
			fail("audit_max_bytes", "must be an integer between %d and %d", audit.MinMaxBytes, audit.MaxMaxBytes)
		} else {
			s.AuditMaxBytes = n
		}
	}
	if v, ok := m["audit_keep"]; ok {
		n, isInt := v.(int64)
		if !isInt || n < 1 || n > audit.MaxKeep {
			fail("audit_keep", "must be an integer between 1 and %d", audit.MaxKeep)
		} else {
			s.AuditKeep = int(n)
		}
	}

	if v, ok := m["socket_shared"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			fail("socket_shared", "must be true or false")
		}
		s.SocketShared = b
	}

	if v, ok := m["principals"]; ok {
		errs = append(errs, s.parsePrincipals(v)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// parsePrincipals reads [daemon.principals]: principal id = [uids].
func (s *Settings) parsePrincipals(v any) []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, &SettingsError{Field: SectionName + ".principals" + field, Rule: fmt.Sprintf(format, args...)})
	}
	m, ok := v.(map[string]any)
	if !ok {
		fail("", "must be a table of principal id = [uids]")
		return errs
	}
	if len(m) > MaxPrincipals {
		fail("", "has %d principals, at most %d allowed", len(m), MaxPrincipals)
		return errs
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	s.Principals = map[uint32]string{}
	for _, id := range ids {
		field := "." + id
		if !validPrincipalID(id) {
			name := id
			if len(name) > 40 {
				name = name[:40] + "…"
			}
			fail(fmt.Sprintf(".%q", name), "a principal id must match [a-z0-9][a-z0-9._-]* (it names the scope principal:<id>)")
			continue
		}
		list, ok := m[id].([]any)
		if !ok || len(list) == 0 {
			fail(field, "must be a non-empty array of user ids")
			continue
		}
		for i, e := range list {
			uid, ok := uidValue(e)
			if !ok {
				fail(fmt.Sprintf("%s[%d]", field, i), "must be an integer between 0 and %d", uint32(math.MaxUint32-1))
				continue
			}
			if other, dup := s.Principals[uid]; dup && other != id {
				fail(fmt.Sprintf("%s[%d]", field, i), "uid %d is already principal %q; a uid acts as one principal only", uid, other)
				continue
			}
			if len(s.Principals) >= MaxUIDs {
				fail(field, "more than %d uids in all", MaxUIDs)
				return errs
			}
			s.Principals[uid] = id
		}
	}
	return errs
}

// CheckUIDs verifies that every uid mapped to a principal may call the
// daemon at all (it is self, or listed in allowed_uids), so that a mapping
// never grants access by itself.
func (s *Settings) CheckUIDs(self uint32) error {
	var errs []error
	uids := make([]uint32, 0, len(s.Principals))
	for uid := range s.Principals {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	for _, uid := range uids {
		if uid != self && !slices.Contains(s.AllowedUIDs, uid) {
			errs = append(errs, &SettingsError{Field: SectionName + ".principals." + s.Principals[uid],
				Rule: fmt.Sprintf("uid %d may not call the daemon: add it to daemon.allowed_uids too", uid)})
		}
	}
	return errors.Join(errs...)
}

// uidValue accepts a TOML integer that is a valid uid (not -1).
func uidValue(v any) (uint32, bool) {
	n, ok := v.(int64)
	if !ok || n < 0 || n >= math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// validPrincipalID reports whether id can follow "principal:" in a scope
// segment without adding segments of its own: [a-z0-9][a-z0-9._-]*, at most
// 128 bytes. (The scope grammar would allow ':' too; a principal id does
// not, so that "principal:a:b" is never ambiguous.)
func validPrincipalID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}
