package resolve

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestPalyraFingerprint checks the SecretRef JSON that PalyraFingerprint
// hashes against the text serde_json writes for Palyra's SecretRef
// (crates/palyra-common/src/secret_refs.rs: the source flattened and
// tagged by kind, then the policy fields, optional ones skipped when
// unset), and the hash against one computed here from that text.
func TestPalyraFingerprint(t *testing.T) {
	tests := []struct {
		name string
		ref  func(t *testing.T) Ref
		doc  string
	}{
		{"legacy *_vault_ref", func(t *testing.T) Ref {
			r, err := ParseVaultRefField("GLOBAL/openai_api_key")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, `{"kind":"vault","vault_ref":"global/openai_api_key","required":true,"refresh_policy":"on_startup","snapshot_policy":"freeze_until_reload","max_bytes":65536}`},
		{"secret_ref vault, defaults", func(t *testing.T) Ref {
			return mustSecretRef(t, map[string]any{"kind": "vault", "vault_ref": "global/k"})
		}, `{"kind":"vault","vault_ref":"global/k","required":true,"refresh_policy":"on_startup","snapshot_policy":"freeze_until_reload"}`},
		{"secret_ref env with policies", func(t *testing.T) Ref {
			return mustSecretRef(t, map[string]any{"kind": "env", "variable": "A_B", "required": false, "refresh_policy": "per_use", "max_bytes": int64(10), "display_name": "<A&B>"})
		}, `{"kind":"env","variable":"A_B","required":false,"refresh_policy":"per_use","snapshot_policy":"freeze_until_reload","max_bytes":10,"display_name":"<A&B>"}`},
		{"secret_ref file as written", func(t *testing.T) Ref {
			return mustSecretRef(t, map[string]any{"kind": "file", "path": " secrets/k.txt", "trusted_dirs": []any{"secrets"}})
		}, `{"kind":"file","path":" secrets/k.txt","trusted_dirs":["secrets"],"allow_symlinks":false,"required":true,"refresh_policy":"on_startup","snapshot_policy":"freeze_until_reload"}`},
		{"secret_ref exec", func(t *testing.T) Ref {
			return mustSecretRef(t, map[string]any{"kind": "exec", "command": []any{"pass", "show", "k"}, "exec_timeout_ms": int64(2000), "cwd": "/tmp"})
		}, `{"kind":"exec","command":["pass","show","k"],"inherited_env":[],"cwd":"/tmp","required":true,"refresh_policy":"on_startup","snapshot_policy":"freeze_until_reload","exec_timeout_ms":2000}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.ref(t)
			doc := r.palyraJSON
			if doc == nil {
				doc = r.palyraDoc()
			}
			if string(doc) != tt.doc {
				t.Fatalf("SecretRef JSON =\n%s\nwant\n%s", doc, tt.doc)
			}
			sum := sha256.Sum256([]byte("palyra.secret_ref.v1" + tt.doc))
			if got, want := r.PalyraFingerprint(), hex.EncodeToString(sum[:8]); got != want {
				t.Fatalf("PalyraFingerprint = %s, want %s", got, want)
			}
			if got := r.InDir("/etc/palyra").PalyraFingerprint(); got != r.PalyraFingerprint() {
				t.Fatalf("anchoring the paths changed the fingerprint: %s", got)
			}
		})
	}
}

func mustSecretRef(t *testing.T, m map[string]any) Ref {
	t.Helper()
	r, err := ParseSecretRef(m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPalyraConfigPath(t *testing.T) {
	tests := []struct{ path, setting, want string }{
		{"model_provider.openai_api_key_vault_ref", "model_provider.openai_api_key", "model_provider.openai_api_key_secret_ref"},
		{"admin.auth_token_secret_ref", "admin.auth_token", "admin.auth_token_secret_ref"},
		{"tool.token", "tool.token", "tool.token"},
	}
	for _, tt := range tests {
		if got := PalyraConfigPath(tt.path, tt.setting); got != tt.want {
			t.Errorf("PalyraConfigPath(%q, %q) = %q, want %q", tt.path, tt.setting, got, tt.want)
		}
	}
}
