package resolve

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/pelletier/go-toml/v2"
)

// The fields of a reference table (docs/REFERENCES.md). Exactly one of the
// source fields must be present.
var (
	sourceFields = []string{"vault_ref", "env", "file", "exec"}
	policyFields = []string{"required", "max_bytes", "refresh", "trim_newline", "trusted_dirs", "allow_symlinks", "timeout_ms", "pass_env", "dir"}
)

// fieldSources lists, for the policy fields that belong to some sources
// only, the sources they apply to.
var fieldSources = map[string][]Source{
	"trim_newline":   {SourceFile, SourceExec},
	"trusted_dirs":   {SourceFile},
	"allow_symlinks": {SourceFile},
	"timeout_ms":     {SourceExec},
	"pass_env":       {SourceExec},
	"dir":            {SourceExec},
}

func sourceList(ss []Source) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, " and ")
}

// IsRefTable reports whether m, a decoded TOML table, is meant as a
// reference: it has at least one of the source fields vault_ref, env, file
// or exec. Whether it is a valid one is ParseTable's job.
func IsRefTable(m map[string]any) bool {
	for _, k := range sourceFields {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// ParseTable parses a reference written as a TOML table and decoded into a
// map (as github.com/pelletier/go-toml/v2 decodes it: strings, bool, int64,
// []any). It needs exactly one source field (vault_ref, env, file, exec) and
// accepts the policy fields required, max_bytes, refresh, trim_newline,
// trusted_dirs, allow_symlinks, timeout_ms, pass_env and dir. It fails with
// an *Error of kind Invalid that names the field and the rule, without the
// field's content.
func ParseTable(m map[string]any) (Ref, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sources []string
	for _, k := range keys {
		switch {
		case slices.Contains(sourceFields, k):
			sources = append(sources, k)
		case slices.Contains(policyFields, k):
		default:
			return Ref{}, invalid(fmt.Sprintf("unknown field %q; the fields are %s and %s", clip(k),
				strings.Join(sourceFields, ", "), strings.Join(policyFields, ", ")))
		}
	}
	switch len(sources) {
	case 0:
		return Ref{}, invalid("no source field: exactly one of vault_ref, env, file or exec is needed")
	case 1:
	default:
		return Ref{}, invalid(fmt.Sprintf("fields %q and %q both name a source; exactly one of vault_ref, env, file or exec is allowed", sources[0], sources[1]))
	}

	var r Ref
	var err error
	switch src := sources[0]; src {
	case "vault_ref":
		var s string
		if s, err = str(m, src); err == nil {
			r, err = ParseVaultRefField(s)
		}
	case "env":
		r.Source = SourceEnv
		r.Env, err = str(m, src)
	case "file":
		r.Source = SourceFile
		r.File, err = str(m, src)
	case "exec":
		r.Source = SourceExec
		r.Exec, err = strList(m, src)
	}
	if err != nil {
		return Ref{}, err
	}
	for _, k := range keys {
		if only, ok := fieldSources[k]; ok && !slices.Contains(only, r.Source) {
			return Ref{}, invalid(fmt.Sprintf("field %q: applies only to %s references", k, sourceList(only)))
		}
	}

	if v, ok := m["required"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return Ref{}, typeError("required", "true or false")
		}
		r.Optional = !b
	}
	if _, ok := m["max_bytes"]; ok {
		n, err := integer(m, "max_bytes", 1, MaxBytesLimit)
		if err != nil {
			return Ref{}, err
		}
		r.MaxBytes = int(n)
	}
	if _, ok := m["refresh"]; ok {
		s, err := str(m, "refresh")
		if err != nil {
			return Ref{}, err
		}
		r.Refresh = Refresh(s)
	}
	if v, ok := m["trim_newline"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return Ref{}, typeError("trim_newline", "true or false")
		}
		r.KeepNewline = !b
	}
	if _, ok := m["trusted_dirs"]; ok {
		if r.TrustedDirs, err = strList(m, "trusted_dirs"); err != nil {
			return Ref{}, err
		}
		if len(r.TrustedDirs) == 0 {
			return Ref{}, invalid(`field "trusted_dirs": must list at least one directory`)
		}
	}
	if v, ok := m["allow_symlinks"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return Ref{}, typeError("allow_symlinks", "true or false")
		}
		r.AllowSymlinks = b
	}
	if _, ok := m["timeout_ms"]; ok {
		n, err := integer(m, "timeout_ms", 1, MaxTimeout.Milliseconds())
		if err != nil {
			return Ref{}, err
		}
		r.Timeout = time.Duration(n) * time.Millisecond
	}
	if _, ok := m["pass_env"]; ok {
		if r.PassEnv, err = strList(m, "pass_env"); err != nil {
			return Ref{}, err
		}
	}
	if _, ok := m["dir"]; ok {
		if r.Dir, err = str(m, "dir"); err != nil {
			return Ref{}, err
		}
		if r.Dir == "" {
			return Ref{}, invalid(`field "dir": must not be empty`)
		}
	}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// ParseVaultRefField parses the value of a vault reference field (a TOML
// key ending in "_vault_ref", or vault_ref in a reference table): either
// "vault://<scope>/<key>" or the bare "<scope>/<key>". It fails with an
// *Error of kind Invalid that does not quote s; errors.Is(err,
// secret.ErrInvalidRef) holds.
func ParseVaultRefField(s string) (Ref, error) {
	vr, err := secret.ParseVaultRefField(s)
	if err != nil {
		return Ref{}, &Error{Kind: Invalid, Err: &safeError{msg: "field \"vault_ref\": " + vaultRule, cause: err}}
	}
	return VaultRef(vr), nil
}

// Parse parses the string form of a reference, used on command lines and in
// templates:
//
//	vault://<scope>/<key>
//	env:<NAME>
//	file:<absolute path>          (trusted directories: the Resolver's defaults)
//	{ <reference table> }         a TOML inline table, as in palyra.toml
//
// Commands have no short form; write them as an inline table, for example
// { exec = ["pass", "show", "openai"], timeout_ms = 2000 }. Parse fails with
// an *Error of kind Invalid that does not quote s.
func Parse(s string) (Ref, error) {
	var r Ref
	switch {
	case strings.HasPrefix(s, secret.RefPrefix):
		vr, err := secret.ParseRef(s)
		if err != nil {
			return Ref{}, &Error{Kind: Invalid, Err: &safeError{msg: vaultRule, cause: err}}
		}
		r = VaultRef(vr)
	case strings.HasPrefix(s, "env:"):
		r = EnvRef(strings.TrimPrefix(s, "env:"))
	case strings.HasPrefix(s, "file:"):
		r = FileRef(strings.TrimPrefix(s, "file:"))
	case strings.HasPrefix(strings.TrimSpace(s), "{"):
		return parseInline(s)
	default:
		return Ref{}, invalid(`not a reference: it must be vault://<scope>/<key>, env:<NAME>, file:<path> or a TOML inline table such as { exec = ["pass", "show", "openai"] }`)
	}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// parseInline parses a TOML inline table given as a string.
func parseInline(s string) (Ref, error) {
	var doc map[string]any
	if err := toml.Unmarshal([]byte("ref = "+s), &doc); err != nil {
		msg := "not a valid TOML inline table"
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			if row == 1 {
				col -= len("ref = ")
			}
			msg += fmt.Sprintf(" (line %d, column %d)", row, col)
		}
		return Ref{}, invalid(msg)
	}
	m, ok := doc["ref"].(map[string]any)
	if !ok || len(doc) != 1 {
		return Ref{}, invalid("not a single TOML inline table")
	}
	return ParseTable(m)
}

func str(m map[string]any, field string) (string, error) {
	s, ok := m[field].(string)
	if !ok {
		return "", typeError(field, "a string")
	}
	return s, nil
}

func strList(m map[string]any, field string) ([]string, error) {
	var out []string
	switch v := m[field].(type) {
	case []any:
		out = make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, typeError(field, "an array of strings")
			}
			out = append(out, s)
		}
	case []string:
		out = slices.Clone(v)
	default:
		return nil, typeError(field, "an array of strings")
	}
	return out, nil
}

func integer(m map[string]any, field string, lo, hi int64) (int64, error) {
	var n int64
	switch v := m[field].(type) {
	case int64:
		n = v
	case int:
		n = int64(v)
	default:
		return 0, typeError(field, "an integer")
	}
	if n < lo || n > hi {
		return 0, invalid(fmt.Sprintf("field %q: %d is not between %d and %d", field, n, lo, hi))
	}
	return n, nil
}

func typeError(field, want string) error {
	return invalid(fmt.Sprintf("field %q: must be %s", field, want))
}

// clip shortens a field name for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
