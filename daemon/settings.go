package daemon

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/internal/tomltable"
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
	// MaxConnectionsLimit bounds max_connections and max_connections_per_uid.
	MaxConnectionsLimit = 65536
)

// Defaults of the connection limits (see Settings.MaxConnections).
const (
	DefaultMaxConnections       = 1024
	DefaultMaxConnectionsPerUID = 128
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
//	max_connections = 1024               # open connections in all
//	max_connections_per_uid = 128        # open connections of one uid
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
	// every caller's uid. False keeps them 0600 and 0700. The directory's
	// mode is set only when the daemon owns it (its own directory, or one
	// it created for the socket): an existing one keeps the mode its owner
	// gave it.
	SocketShared bool
	// MaxConnections bounds the connections open at once, of every uid
	// together (0: DefaultMaxConnections). MaxConnectionsPerUID of them are
	// kept for the daemon's own uid, so that no flood of other users' can
	// keep its owner out.
	MaxConnections int
	// MaxConnectionsPerUID bounds the connections one uid has open at once
	// (0: DefaultMaxConnectionsPerUID); it must be below MaxConnections.
	MaxConnectionsPerUID int
}

// ConnLimits returns the effective MaxConnections and MaxConnectionsPerUID.
func (s *Settings) ConnLimits() (total, perUID int) {
	total, perUID = s.MaxConnections, s.MaxConnectionsPerUID
	if total == 0 {
		total = DefaultMaxConnections
	}
	if perUID == 0 {
		perUID = DefaultMaxConnectionsPerUID
	}
	return total, perUID
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

// SettingsError reports a [daemon] setting that breaks its rule. Its Path
// names the setting ("daemon.allowed_uids[2]") and its Rule says what the
// value must be. Those of ParseSettings never quote the value; those of
// CheckUIDs name the uid that may not call.
type SettingsError = tomltable.Error

// The rules of the [daemon] values.
var (
	uidValue = tomltable.Int[uint32](0, math.MaxUint32-1)
	// scopeValue: a readable scope. The scope grammar is secret.CheckScope's;
	// a principal scope is readable by its principal only.
	scopeValue = tomltable.String().Check(
		tomltable.Rule[string]{OK: func(s string) bool { return secret.CheckScope(s) == nil },
			Text: "invalid scope: scope segments must match [a-z0-9][a-z0-9._:-]*, joined by '/', at most " + strconv.Itoa(secret.MaxScopeLen) + " bytes"},
		tomltable.Rule[string]{OK: func(s string) bool { return principalSegment(s) == "" },
			Text: "names a principal scope; those are readable only by their principal (see [daemon.principals])"})
	// dirValue: a trusted directory, under the rules of every path in
	// palyra.toml (those of a reference's own trusted_dirs).
	dirValue = tomltable.String().Want("must be an absolute path (or start with ~/)").Check(tomltable.PathRules...)
	// principalIDRule: see validPrincipalID.
	principalIDRule = tomltable.Rule[string]{OK: validPrincipalID,
		Text: "a principal id must match [a-z0-9][a-z0-9._-]* (it names the scope principal:<id>)"}
	principalUIDs = tomltable.List(uidValue, MaxUIDs).Want("must be a non-empty array of user ids").Check(
		tomltable.Rule[[]uint32]{OK: func(l []uint32) bool { return len(l) > 0 }, Text: "must be a non-empty array of user ids"})
)

// settingsTable declares the [daemon] table, decoding into s and ids
// (principal id = uids, turned into s.Principals by setPrincipals).
func settingsTable(s *Settings, ids *map[string][]uint32) tomltable.Table {
	return tomltable.Table{Path: SectionName, Noun: "setting", Fields: []tomltable.Field{
		tomltable.Set("allowed_uids", &s.AllowedUIDs, tomltable.List(uidValue, MaxUIDs).Want("must be an array of user ids")),
		tomltable.Set("readable_scopes", &s.ReadableScopes, tomltable.List(scopeValue, MaxScopes).Want("must be an array of scopes")),
		tomltable.Set("trusted_dirs", &s.TrustedDirs, tomltable.List(dirValue, MaxTrustedDirs).Want("must be an array of absolute paths")),
		tomltable.Set("audit_max_bytes", &s.AuditMaxBytes, tomltable.Int[int64](audit.MinMaxBytes, audit.MaxMaxBytes)),
		tomltable.Set("audit_keep", &s.AuditKeep, tomltable.Int[int](1, audit.MaxKeep)),
		tomltable.Set("socket_shared", &s.SocketShared, tomltable.Bool()),
		tomltable.Set("max_connections", &s.MaxConnections, tomltable.Int[int](2, MaxConnectionsLimit)),
		tomltable.Set("max_connections_per_uid", &s.MaxConnectionsPerUID, tomltable.Int[int](1, MaxConnectionsLimit-1)),
		tomltable.Set("principals", ids, tomltable.Map(tomltable.Rules[string]{principalIDRule}, principalUIDs, MaxPrincipals).
			Want("must be a table of principal id = [uids]")),
	}}
}

// ParseSettings reads the [daemon] table from a decoded configuration (as
// config.Document.Tree returns it). A missing table gives the zero
// Settings. It fails with an error joining one *SettingsError per broken
// setting; an unknown key is an error, so a misspelt allowlist cannot pass
// silently. No error quotes a setting's value.
func ParseSettings(tree map[string]any) (*Settings, error) {
	s := &Settings{}
	raw, ok := tree[SectionName]
	if !ok {
		return s, nil
	}
	var ids map[string][]uint32
	errs := settingsTable(s, &ids).Decode(raw)
	s.AllowedUIDs = dedup(s.AllowedUIDs)
	if ids != nil {
		errs = append(errs, s.setPrincipals(ids)...)
	}
	if total, perUID := s.ConnLimits(); len(errs) == 0 && perUID >= total {
		of := "max_connections"
		if s.MaxConnections == 0 {
			of += " (default " + strconv.Itoa(DefaultMaxConnections) + ")"
		}
		errs = append(errs, &SettingsError{Path: SectionName + ".max_connections_per_uid", Key: "max_connections_per_uid",
			Rule: "must be less than " + of + ": the daemon's own uid keeps that many of them for itself"})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// setPrincipals maps every uid of ids to its principal id, refusing a uid
// listed under two principals and more than MaxUIDs uids in all.
func (s *Settings) setPrincipals(ids map[string][]uint32) tomltable.Errors {
	var errs tomltable.Errors
	s.Principals = map[uint32]string{}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		at := SectionName + ".principals." + id
		for i, uid := range ids[id] {
			if other, dup := s.Principals[uid]; dup && other != id {
				errs = append(errs, &SettingsError{Path: fmt.Sprintf("%s[%d]", at, i), Key: "principals",
					Rule: fmt.Sprintf("this uid is already principal %q; a uid acts as one principal only", other)})
				continue
			}
			if len(s.Principals) >= MaxUIDs {
				return append(errs, &SettingsError{Path: at, Key: "principals", Rule: fmt.Sprintf("more than %d uids in all", MaxUIDs)})
			}
			s.Principals[uid] = id
		}
	}
	return errs
}

// dedup drops repeated uids, keeping the first of each.
func dedup(uids []uint32) []uint32 {
	var out []uint32
	for _, u := range uids {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
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
			errs = append(errs, &SettingsError{Path: SectionName + ".principals." + s.Principals[uid], Key: "principals",
				Rule: fmt.Sprintf("uid %d may not call the daemon: add it to daemon.allowed_uids too", uid)})
		}
	}
	return errors.Join(errs...)
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
