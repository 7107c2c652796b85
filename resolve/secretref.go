package resolve

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/tomltable"
)

// SecretRefSuffix ends the name of every key whose value is Palyra's
// SecretRef table. Only such keys hold one: another table with a kind field
// (model_provider.kind, for instance) is ordinary configuration.
const SecretRefSuffix = "_secret_ref"

// IsSecretRefKey reports whether a TOML key names a *_secret_ref field:
// it ends in "_secret_ref" and has something before it.
func IsSecretRefKey(key string) bool {
	return strings.HasSuffix(key, SecretRefSuffix) && key != SecretRefSuffix
}

// secretRefKinds lists, for each kind of the *_secret_ref form, its source
// fields; the first is required.
var secretRefKinds = []struct {
	kind   Source
	fields []string
}{
	{SourceVault, []string{"vault_ref"}},
	{SourceEnv, []string{"variable"}},
	{SourceFile, []string{"path", "trusted_dirs", "allow_symlinks"}},
	{SourceExec, []string{"command", "inherited_env", "cwd"}},
}

// secretRefTable holds the fields of a *_secret_ref table as decoded.
type secretRefTable struct {
	kind, vaultRef, variable, path, cwd, refresh, snapshot string
	redactionLabel, displayName                            string
	trustedDirs, command, inheritedEnv                     []string
	required, symlinks                                     bool
	maxBytes                                               int64
	timeout                                                time.Duration
}

// fields declares the *_secret_ref table: the TOML type and range of each
// field. The rules of the values are Validate's.
func (t *secretRefTable) fields() tomltable.Table {
	str := tomltable.String()
	strs := tomltable.List(str.Want("must be an array of strings"), 0).Want("must be an array of strings")
	kinds := make([]string, len(secretRefKinds))
	for i, k := range secretRefKinds {
		kinds[i] = string(k.kind)
	}
	return tomltable.Table{Noun: "field", Fields: []tomltable.Field{
		tomltable.Set("kind", &t.kind, str.Check(tomltable.OneOf(kinds...))),
		tomltable.Set("vault_ref", &t.vaultRef, str),
		tomltable.Set("variable", &t.variable, str),
		tomltable.Set("path", &t.path, str),
		tomltable.Set("trusted_dirs", &t.trustedDirs, strs),
		tomltable.Set("allow_symlinks", &t.symlinks, tomltable.Bool()),
		tomltable.Set("command", &t.command, strs),
		tomltable.Set("inherited_env", &t.inheritedEnv, strs),
		tomltable.Set("cwd", &t.cwd, str),
		tomltable.Set("required", &t.required, tomltable.Bool()),
		tomltable.Set("refresh_policy", &t.refresh, str),
		tomltable.Set("snapshot_policy", &t.snapshot, str),
		tomltable.Set("max_bytes", &t.maxBytes, maxBytesValue()),
		tomltable.Set("exec_timeout_ms", &t.timeout, timeoutValue()),
		tomltable.Set("redaction_label", &t.redactionLabel, str),
		tomltable.Set("display_name", &t.displayName, str),
	}}
}

// ParseSecretRef parses Palyra's SecretRef (crates/palyra-common,
// secret_refs.rs), a table found under a key ending in "_secret_ref" and
// decoded into a map as ParseTable's input is:
//
//	kind = "vault"  vault_ref = "<scope>/<key>" (or vault://<scope>/<key>)
//	kind = "env"    variable = "NAME"
//	kind = "file"   path = "…", trusted_dirs = ["…"], allow_symlinks = false
//	kind = "exec"   command = ["argv", …], inherited_env = ["NAME"], cwd = "…"
//
// with the policy fields required, refresh_policy (on_startup, on_reload,
// per_run, per_use), snapshot_policy (freeze_until_reload,
// refresh_per_run, refresh_per_use), max_bytes, exec_timeout_ms (exec
// only), redaction_label and display_name. The result has Form
// FormSecretRef; its relative paths stay relative until InDir anchors them.
//
// It is stricter than Palyra in two ways, both reported like any broken
// reference: an unknown field (Palyra ignores it) is an error, so that a
// misspelt policy cannot pass unseen; and max_bytes and exec_timeout_ms
// above this project's caps (MaxBytesLimit, MaxTimeout) are errors naming
// the cap. It fails with an *Error of kind Invalid naming the field and the
// rule, never the field's content. Of several broken fields it reports the
// first of: an unknown field, a missing or unknown kind, a missing source
// field, a field of another kind, a field's type or range, then Validate's
// rules.
func ParseSecretRef(m map[string]any) (Ref, error) {
	t := secretRefTable{required: true}
	tbl := t.fields()
	errs := tbl.Decode(m)
	if i := slices.IndexFunc(errs, func(e *tomltable.Error) bool { return e.Unknown }); i >= 0 {
		return Ref{}, invalid("unknown field " + errs[i].Key + "; the fields of a " + SecretRefSuffix + " table are " + strings.Join(tbl.Names(), ", "))
	}
	if _, ok := m["kind"]; !ok {
		return Ref{}, invalid(`field "kind" is missing: a ` + SecretRefSuffix + ` table is tagged by kind = "vault", "env", "file" or "exec"`)
	}
	if i := slices.IndexFunc(errs, func(e *tomltable.Error) bool { return e.Key == "kind" }); i >= 0 {
		return Ref{}, invalid(fmt.Sprintf("field %q: %s", "kind", errs[i].Rule))
	}
	src := Source(t.kind)
	for _, k := range secretRefKinds {
		if k.kind == src {
			if _, ok := m[k.fields[0]]; !ok {
				return Ref{}, invalid(fmt.Sprintf("field %q is missing: a reference of kind %q needs it", k.fields[0], t.kind))
			}
			continue
		}
		for _, f := range slices.Sorted(maps.Keys(m)) {
			if slices.Contains(k.fields, f) {
				return Ref{}, invalid(fmt.Sprintf("field %q: applies only to references of kind %q", f, k.kind))
			}
		}
	}
	if _, ok := m["exec_timeout_ms"]; ok && src != SourceExec {
		return Ref{}, invalid(`field "exec_timeout_ms": applies only to references of kind "exec"`)
	}
	if len(errs) > 0 {
		return Ref{}, invalid(fmt.Sprintf("field %q: %s", errs[0].Key, errs[0].Rule))
	}
	if _, ok := m["cwd"]; ok && strings.TrimSpace(t.cwd) == "" {
		return Ref{}, invalid(`field "cwd": must not be empty`)
	}
	r := Ref{Source: src, Form: FormSecretRef}
	switch src {
	case SourceVault:
		vr, err := ParseVaultRefField(t.vaultRef)
		if err != nil {
			return Ref{}, err
		}
		r.Vault = vr.Vault
	case SourceEnv:
		r.Env = t.variable
	case SourceFile:
		// Palyra trims the paths it reads; so do we.
		r.File, r.AllowSymlinks = strings.TrimSpace(t.path), t.symlinks
		r.TrustedDirs = make([]string, len(t.trustedDirs))
		for i, d := range t.trustedDirs {
			r.TrustedDirs[i] = strings.TrimSpace(d)
		}
	case SourceExec:
		r.Exec, r.PassEnv, r.Dir = t.command, t.inheritedEnv, strings.TrimSpace(t.cwd)
		r.Timeout = t.timeout
	}
	r.Optional, r.MaxBytes = !t.required, int(t.maxBytes)
	r.Refresh, r.Snapshot = Refresh(t.refresh), Snapshot(t.snapshot)
	r.RedactionLabel, r.DisplayName = t.redactionLabel, t.displayName
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	r.palyraJSON = t.secretRefJSON(r.Vault.Scope + "/" + r.Vault.Key)
	return r, nil
}
