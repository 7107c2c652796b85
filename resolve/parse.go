package resolve

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/tomltable"
	"github.com/palyra/palyra-vault/secret"
)

// sourceFields are the fields of a reference table that name its source
// (docs/REFERENCES.md); exactly one must be present. The policy fields are
// those of policies.
var sourceFields = []string{"vault_ref", "env", "file", "exec"}

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

// refTable holds the fields of a reference table as decoded, before they
// become a Ref.
type refTable struct {
	vaultRef, env, file, refresh, dir string
	exec, trustedDirs, passEnv        []string
	required, trimNewline, symlinks   bool
	maxBytes                          int64
	timeout                           time.Duration
}

// fields declares the reference table: the TOML type and range of each
// field, and the rules that only the TOML form has (an empty trusted_dirs
// or dir). The rules of the values themselves (names, paths, argv) are
// Validate's, so that a Ref built in Go meets them too.
func (t *refTable) fields() tomltable.Table {
	str := tomltable.String()
	strs := tomltable.List(str.Want("must be an array of strings"), 0).Want("must be an array of strings")
	return tomltable.Table{Noun: "field", Fields: []tomltable.Field{
		tomltable.Set("vault_ref", &t.vaultRef, str),
		tomltable.Set("env", &t.env, str),
		tomltable.Set("file", &t.file, str),
		tomltable.Set("exec", &t.exec, strs),
		tomltable.Set("required", &t.required, tomltable.Bool()),
		tomltable.Set("max_bytes", &t.maxBytes, maxBytesValue()),
		tomltable.Set("refresh", &t.refresh, str),
		tomltable.Set("trim_newline", &t.trimNewline, tomltable.Bool()),
		tomltable.Set("trusted_dirs", &t.trustedDirs, strs.Check(tomltable.Rule[[]string]{
			OK: func(l []string) bool { return len(l) > 0 }, Text: "must list at least one directory"})),
		tomltable.Set("allow_symlinks", &t.symlinks, tomltable.Bool()),
		tomltable.Set("timeout_ms", &t.timeout, timeoutValue()),
		tomltable.Set("pass_env", &t.passEnv, strs),
		tomltable.Set("dir", &t.dir, str.Check(tomltable.Rule[string]{
			OK: func(s string) bool { return s != "" }, Text: "must not be empty"})),
	}}
}

// maxBytesValue and timeoutValue are the values of max_bytes and
// timeout_ms (exec_timeout_ms), whose errors name this project's caps.
func maxBytesValue() tomltable.Value[int64] {
	return tomltable.Int[int64](1, MaxBytesLimit).Want(MaxBytesRule)
}

func timeoutValue() tomltable.Value[time.Duration] {
	return tomltable.Convert(tomltable.Int[int64](1, MaxTimeout.Milliseconds()).Want(TimeoutRule), "",
		func(ms int64) (time.Duration, bool) { return time.Duration(ms) * time.Millisecond, true })
}

// ParseTable parses a reference written as a TOML table and decoded into a
// map (as github.com/pelletier/go-toml/v2 decodes it: strings, bool, int64,
// []any). It needs exactly one source field (vault_ref, env, file, exec) and
// accepts the policy fields required, max_bytes, refresh, trim_newline,
// trusted_dirs, allow_symlinks, timeout_ms, pass_env and dir. It fails with
// an *Error of kind Invalid that names the field and the rule, without the
// field's content. Of several broken fields it reports the first of: an
// unknown field, the number of sources, a policy field that does not apply
// to the source, a field's type or range, then Validate's rules.
//
// A table with a kind field is Palyra's form, which ParseSecretRef reads:
// ParseTable refuses it with a message saying so, because that form is a
// reference only under a key ending in "_secret_ref".
func ParseTable(m map[string]any) (Ref, error) {
	if _, ok := m["kind"]; ok {
		return Ref{}, invalid(`field "kind": a table tagged by kind is Palyra's SecretRef form, a reference only under a key ending in ` +
			SecretRefSuffix + `; this table's other fields make it an inline reference, which has no kind`)
	}
	t := refTable{required: true, trimNewline: true}
	errs := t.fields().Decode(m)
	if i := slices.IndexFunc(errs, func(e *tomltable.Error) bool { return e.Unknown }); i >= 0 {
		return Ref{}, invalid("unknown field " + errs[i].Key + "; the fields are " +
			strings.Join(sourceFields, ", ") + " and " + strings.Join(policyNames(), ", "))
	}
	src, err := tableSource(m)
	if err != nil {
		return Ref{}, err
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if p := policyOf(k); p != nil && !p.appliesTo(src) {
			return Ref{}, invalid(fmt.Sprintf("field %q: %s", k, p.onlyRule()))
		}
	}
	if len(errs) > 0 {
		return Ref{}, invalid(fmt.Sprintf("field %q: %s", errs[0].Key, errs[0].Rule))
	}
	r, err := t.ref(src)
	if err != nil {
		return Ref{}, err
	}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// tableSource returns the source the table names, failing unless it names
// exactly one.
func tableSource(m map[string]any) (Source, error) {
	var present []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if slices.Contains(sourceFields, k) {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 0:
		return "", invalid("no source field: exactly one of vault_ref, env, file or exec is needed")
	case 1:
	default:
		return "", invalid(fmt.Sprintf("fields %q and %q both name a source; exactly one of vault_ref, env, file or exec is allowed", present[0], present[1]))
	}
	if present[0] == "vault_ref" {
		return SourceVault, nil
	}
	return Source(present[0]), nil
}

// ref builds the Ref of a decoded table whose source is src.
func (t *refTable) ref(src Source) (Ref, error) {
	r := Ref{Source: src, Env: t.env, File: t.file, Exec: t.exec}
	if src == SourceVault {
		var err error
		if r, err = ParseVaultRefField(t.vaultRef); err != nil {
			return Ref{}, err
		}
	}
	r.Optional, r.KeepNewline = !t.required, !t.trimNewline
	r.MaxBytes, r.Refresh = int(t.maxBytes), Refresh(t.refresh)
	r.TrustedDirs, r.AllowSymlinks = t.trustedDirs, t.symlinks
	r.Timeout = t.timeout
	r.PassEnv, r.Dir = t.passEnv, t.dir
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

// ErrInlineTable is matched (errors.Is) by the error of ParseString for a
// reference written as a TOML inline table, which it does not read:
// package resolve/tomlref does (tomlref.Parse).
var ErrInlineTable = errors.New("a reference written as a TOML inline table")

// IsInlineTable reports whether s, the string form of a reference, is
// written as a TOML inline table: its first character other than white
// space is '{'. It says nothing of whether the table is valid.
func IsInlineTable(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "{") }

// ParseString parses the short string forms of a reference, used on
// command lines and in templates:
//
//	vault://<scope>/<key>
//	env:<NAME>
//	file:<absolute path>          (trusted directories: the Resolver's defaults)
//
// The string form has a fourth shape, a TOML inline table as in palyra.toml
// ({ exec = ["pass", "show", "openai"], timeout_ms = 2000 }), which
// tomlref.Parse (package resolve/tomlref) reads with everything else: this
// package links no TOML decoder, so that a program that only resolves the
// short forms (the palyra command) does not pay for one at start-up. For an
// inline table (IsInlineTable) ParseString fails with an *Error of kind
// Invalid matching ErrInlineTable. It fails with an *Error of kind Invalid
// that does not quote s.
func ParseString(s string) (Ref, error) {
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
	case IsInlineTable(s):
		return Ref{}, &Error{Kind: Invalid, Err: &safeError{
			msg: "a TOML inline table is not read here, only vault://<scope>/<key>, env:<NAME> and file:<path>", cause: ErrInlineTable}}
	default:
		return Ref{}, invalid(`not a reference: it must be vault://<scope>/<key>, env:<NAME>, file:<path> or a TOML inline table such as { exec = ["pass", "show", "openai"] }`)
	}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// ParseInlineTable parses a reference written as a TOML inline table and
// decoded into a map (see ParseTable): Palyra's SecretRef when it has a
// kind field (ParseSecretRef), else an inline reference table
// (ParseTable). It fails as they do.
func ParseInlineTable(m map[string]any) (Ref, error) {
	if _, palyra := m["kind"]; palyra {
		return ParseSecretRef(m)
	}
	return ParseTable(m)
}
