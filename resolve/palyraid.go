package resolve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// palyraFingerprintDomain is the prefix Palyra hashes before a SecretRef's
// JSON (crates/palyra-common/src/secret_refs.rs, SecretRef::fingerprint).
const palyraFingerprintDomain = "palyra.secret_ref.v1"

// PalyraFingerprint returns the fingerprint Palyra gives this reference:
// the first 16 hex digits of SHA-256 over "palyra.secret_ref.v1" and the
// reference's SecretRef as serde_json writes it (the source's fields
// tagged by kind, then required, refresh_policy, snapshot_policy and the
// optional fields that are set, in that order). Palyra's configured-secret
// id is "<config path>:<this>" (palyra secrets explain).
//
// A *_secret_ref table is fingerprinted as written (its paths neither
// trimmed nor anchored); a *_vault_ref string as Palyra's loader turns it
// into a SecretRef (SecretRef::from_legacy_vault_ref: required, on_startup,
// freeze_until_reload, max_bytes 65536). This project's own forms get the
// fingerprint of the SecretRef closest to them; Palyra does not read them.
func (r Ref) PalyraFingerprint() string {
	doc := r.palyraJSON
	if doc == nil {
		doc = r.palyraDoc()
	}
	sum := sha256.Sum256(append([]byte(palyraFingerprintDomain), doc...))
	return hex.EncodeToString(sum[:])[:16]
}

// palyraField is one field of a SecretRef's JSON.
type palyraField struct {
	name  string
	value any
}

// palyraJSONOf encodes fields as a JSON object in their order, as
// serde_json does: no white space, no HTML escaping.
func palyraJSONOf(fields []palyraField) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(&b, f.name)
		b.WriteByte(':')
		writeJSON(&b, f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)       // strings, bools, integers and string slices only
	b.Truncate(b.Len() - 1) // Encode's newline
}

// palyraPolicy returns the policy fields of a SecretRef's JSON.
func palyraPolicy(required bool, refresh, snapshot string, maxBytes, timeoutMS int64, redaction, display string) []palyraField {
	if refresh == "" {
		refresh = string(RefreshOnStartup)
	}
	if snapshot == "" {
		snapshot = string(SnapshotFreezeUntilReload)
	}
	out := []palyraField{{"required", required}, {"refresh_policy", refresh}, {"snapshot_policy", snapshot}}
	if maxBytes > 0 {
		out = append(out, palyraField{"max_bytes", maxBytes})
	}
	if timeoutMS > 0 {
		out = append(out, palyraField{"exec_timeout_ms", timeoutMS})
	}
	if redaction != "" {
		out = append(out, palyraField{"redaction_label", redaction})
	}
	if display != "" {
		out = append(out, palyraField{"display_name", display})
	}
	return out
}

// nonNil returns s, or an empty slice for nil (serde writes [] for a
// defaulted Vec).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// secretRefJSON returns the SecretRef JSON of a parsed *_secret_ref table,
// from its fields as written.
func (t *secretRefTable) secretRefJSON(vaultRef string) []byte {
	fields := []palyraField{{"kind", t.kind}}
	switch Source(t.kind) {
	case SourceVault:
		fields = append(fields, palyraField{"vault_ref", vaultRef})
	case SourceEnv:
		fields = append(fields, palyraField{"variable", t.variable})
	case SourceFile:
		fields = append(fields, palyraField{"path", t.path}, palyraField{"trusted_dirs", nonNil(t.trustedDirs)}, palyraField{"allow_symlinks", t.symlinks})
	case SourceExec:
		fields = append(fields, palyraField{"command", nonNil(t.command)}, palyraField{"inherited_env", nonNil(t.inheritedEnv)})
		if t.cwd != "" {
			fields = append(fields, palyraField{"cwd", t.cwd})
		}
	}
	fields = append(fields, palyraPolicy(t.required, t.refresh, t.snapshot, t.maxBytes, t.timeout.Milliseconds(), t.redactionLabel, t.displayName)...)
	return palyraJSONOf(fields)
}

// palyraDoc returns the SecretRef JSON closest to a reference not written
// in the *_secret_ref form: a vault reference as from_legacy_vault_ref
// makes it, others with their source and policy.
func (r Ref) palyraDoc() []byte {
	if r.Source == SourceVault {
		return palyraJSONOf(append([]palyraField{{"kind", "vault"}, {"vault_ref", r.Vault.Scope + "/" + r.Vault.Key}},
			palyraPolicy(true, "", "", DefaultMaxBytes, 0, "", "")...))
	}
	fields := []palyraField{{"kind", string(r.Source)}}
	switch r.Source {
	case SourceEnv:
		fields = append(fields, palyraField{"variable", r.Env})
	case SourceFile:
		fields = append(fields, palyraField{"path", r.File}, palyraField{"trusted_dirs", nonNil(r.TrustedDirs)}, palyraField{"allow_symlinks", r.AllowSymlinks})
	case SourceExec:
		fields = append(fields, palyraField{"command", nonNil(r.Exec)}, palyraField{"inherited_env", nonNil(r.PassEnv)})
		if r.Dir != "" {
			fields = append(fields, palyraField{"cwd", r.Dir})
		}
	}
	refresh := string(r.Refresh)
	if r.Refresh == RefreshPerUse {
		refresh = string(RefreshPerUse)
	}
	return palyraJSONOf(append(fields, palyraPolicy(!r.Optional, refresh, string(r.Snapshot), int64(r.MaxBytes), r.Timeout.Milliseconds(), r.RedactionLabel, r.DisplayName)...))
}

// PalyraConfigPath returns the path Palyra's configured-secret id names
// for a reference found at path supplying setting: "<setting>_secret_ref"
// (Palyra turns a *_vault_ref field into that SecretRef), or path itself
// for an inline reference table, which supplies its own path.
func PalyraConfigPath(path, setting string) string {
	if path == setting {
		return path
	}
	return strings.TrimSuffix(setting, SecretRefSuffix) + SecretRefSuffix
}
