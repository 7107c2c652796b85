package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/palyra/palyra-vault/config"

	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/internal/tomltable"
	"github.com/palyra/palyra-vault/secret"
)

// SectionName is the table that configures the daemon, in the settings
// file (SettingsFileName) and, formerly, in palyra.toml.
const SectionName = "daemon"

// SettingsFileName is the file of this project's own settings, beside
// palyra.toml: its [daemon] table holds the access rules and limits below.
// They left palyra.toml because Palyra refuses keys it does not know in
// its [daemon] table (it has only bind_addr and port), so a palyra.toml
// holding them was invalid for the Rust platform.
const SettingsFileName = "palyra-vault.toml"

// PalyraDaemonKeys are the keys of Palyra's own [daemon] table in
// palyra.toml (crates/palyra-common, daemon_config_schema.rs): accepted
// there and left alone.
var PalyraDaemonKeys = []string{"bind_addr", "port"}

// SettingsPath returns the settings file that goes with the configuration
// file configPath: SettingsFileName in the same directory.
func SettingsPath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), SettingsFileName)
}

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

// Settings is the [daemon] table of palyra-vault.toml (SettingsFileName),
// formerly of palyra.toml: who may call the daemon
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
			Text: "invalid scope: a path scope (segments [a-z0-9][a-z0-9._:-]* joined by '/', at most " + strconv.Itoa(secret.MaxPathScopeLen) +
				" bytes) or global, principal:<id>, channel:<name>:<account>, skill:<id> as stored (docs/CLI.md, \"Names\")"},
		tomltable.Rule[string]{OK: func(s string) bool { return principalSegment(s) == "" },
			Text: "names a principal scope; those are readable only by their principal (see [daemon.principals])"})
	// dirValue: a trusted directory, under the rules of every path in
	// palyra.toml (those of a reference's own trusted_dirs).
	dirValue = tomltable.String().Want("must be an absolute path (or start with ~/)").Check(tomltable.PathRules...)
	// principalIDRule: see validPrincipalID.
	principalIDRule = tomltable.Rule[string]{OK: validPrincipalID,
		Text: "a principal id is 1 to " + strconv.Itoa(secret.MaxIDLen) + " bytes of UTF-8 without '/', '\\', a control character or white space at its ends (it names the scope principal:<id>)"}
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

// ParseSettings reads the [daemon] table from a decoded settings file (as
// config.Document.Tree returns it). A missing table gives the zero
// Settings. It fails with an error joining one *SettingsError per broken
// setting; an unknown key is an error, so a misspelt allowlist cannot pass
// silently. No error quotes a setting's value. Palyra's own keys
// (PalyraDaemonKeys) are refused too: they belong in palyra.toml.
func ParseSettings(tree map[string]any) (*Settings, error) {
	s := &Settings{}
	raw, ok := tree[SectionName]
	if !ok {
		return s, nil
	}
	return parseDaemonTable(raw)
}

func parseDaemonTable(raw any) (*Settings, error) {
	s := &Settings{}
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

// validPrincipalID reports whether id can follow "principal:" in a scope:
// the rule of a Palyra scope id (secret.CheckScopeID), so that every
// principal Palyra names can be mapped. An id holds no '/', so the policy
// finds it as the rest of its scope segment, compared byte for byte.
func validPrincipalID(id string) bool { return secret.CheckScopeID(id) == nil }

// Source says where the daemon's settings came from.
type Source struct {
	// Path is the file the settings were read from: the settings file, or
	// palyra.toml when they are still in its [daemon] table; "" when
	// neither holds any (the defaults apply).
	Path string
	// Moved names the settings found in palyra.toml's [daemon] table,
	// which belong in the settings file now: LoadSettings's caller warns
	// about them.
	Moved []string
}

// Warning returns the warning to log when settings were read from
// palyra.toml, "" otherwise.
func (src Source) Warning(settingsPath string) string {
	if len(src.Moved) == 0 {
		return ""
	}
	return fmt.Sprintf("%s [daemon] holds palyra-vault settings (%s); Palyra refuses them there, so they moved to %s: "+
		"move the table there (the same [daemon] table, without Palyra's own keys %s)",
		src.Path, strings.Join(src.Moved, ", "), settingsPath, strings.Join(PalyraDaemonKeys, ", "))
}

// LoadSettings returns the daemon's settings for the configuration whose
// decoded palyra.toml is tree, read from settingsPath (SettingsPath):
//
//   - the settings file's [daemon] table when the file exists (it may hold
//     nothing else);
//   - else the palyra-vault settings of palyra.toml's [daemon] table, as
//     before they moved, with Source.Moved naming them so that the caller
//     warns;
//   - both is an error that names the two files: one of them would be
//     ignored.
//
// In palyra.toml's [daemon] table Palyra's own keys (PalyraDaemonKeys) are
// left alone; a key that is neither Palyra's nor ours is an error. The
// settings file is checked as the configuration is (check, nil to skip):
// it decides who may read secrets.
func LoadSettings(tree map[string]any, settingsPath string, check func(string) error) (*Settings, Source, error) {
	var moved []string
	legacy := map[string]any{}
	var errs tomltable.Errors
	if m, ok := tree[SectionName].(map[string]any); ok {
		var tbl Settings
		ours := settingsTable(&tbl, new(map[string][]uint32)).Names()
		for _, k := range slices.Sorted(maps.Keys(m)) {
			switch {
			case slices.Contains(PalyraDaemonKeys, k):
			case slices.Contains(ours, k):
				moved = append(moved, k)
				legacy[k] = m[k]
			default:
				q := strconv.Quote(secret.Excerpt(k))
				errs = append(errs, &SettingsError{Path: SectionName + "." + q, Key: q, Unknown: true,
					Rule: "unknown setting; Palyra's [daemon] keys are " + strings.Join(PalyraDaemonKeys, ", ") +
						" and palyra-vault's (in " + SettingsFileName + ") are " + strings.Join(ours, ", ")})
			}
		}
	} else if _, ok := tree[SectionName]; ok {
		errs = append(errs, &SettingsError{Path: SectionName, Rule: "must be a table"})
	}
	if err := errs.Err(); err != nil {
		return nil, Source{}, err
	}

	data, err := config.ReadFile(settingsPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if len(moved) == 0 {
			return &Settings{}, Source{}, nil
		}
		s, err := parseDaemonTable(legacy)
		return s, Source{Path: "palyra.toml", Moved: moved}, err
	case err != nil:
		return nil, Source{}, err
	}
	if len(moved) > 0 {
		return nil, Source{}, fmt.Errorf("palyra-vault settings are in both %s and palyra.toml's [daemon] table (%s): "+
			"the daemon reads only %s; delete them from palyra.toml (Palyra refuses them there)", settingsPath, strings.Join(moved, ", "), SettingsFileName)
	}
	if check != nil {
		if err := check(settingsPath); err != nil {
			return nil, Source{}, err
		}
	}
	doc, err := config.Parse(data)
	if err != nil {
		var pe *config.ParseError
		if errors.As(err, &pe) {
			pe.Path = settingsPath
		}
		return nil, Source{}, err
	}
	for _, k := range slices.Sorted(maps.Keys(doc.Tree())) {
		if k != SectionName {
			return nil, Source{}, fmt.Errorf("%s: %s: unknown table; this file holds only [%s]", settingsPath, strconv.Quote(secret.Excerpt(k)), SectionName)
		}
	}
	s, err := ParseSettings(doc.Tree())
	if err != nil {
		return nil, Source{}, fmt.Errorf("%s: %w", settingsPath, err)
	}
	return s, Source{Path: settingsPath}, nil
}
