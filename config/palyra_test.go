package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPalyraIncompatibilities(t *testing.T) {
	for name, want := range map[string][]string{
		"a.toml": nil,
		"b.toml": {"admin.connector_token_secret_ref.vault_ref"}, // vault://… in a SecretRef
	} {
		d, err := Load(filepath.Join("testdata", "palyra", name))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range PalyraIncompatibilities(d) {
			got = append(got, in.Path)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: incompatibilities at %v, want %v", name, got, want)
		}
	}

	tests := []struct{ name, toml, path, rule string }{
		{"unknown top-level table", "[channels]\nx = 1\n", "channels", "Palyra does not know this key at the top level"},
		{"unknown key in a known table", "[model_provider]\nopenai_key = \"x\"\n", "model_provider.openai_key", "Palyra does not know this key in this table"},
		{"our daemon setting", "[daemon]\nport = 1\nallowed_uids = [1]\n", "daemon.allowed_uids", "move it to palyra-vault.toml"},
		{"inline reference where a string is wanted", "[model_provider]\nopenai_api_key = { env = \"X\" }\n", "model_provider.openai_api_key",
			"our inline reference form where Palyra wants a string"},
		{"vault:// in a _vault_ref", "[model_provider]\nopenai_api_key_vault_ref = \"vault://global/k\"\n", "model_provider.openai_api_key_vault_ref", "bare <scope>/<key>"},
		{"hierarchical scope", "[model_provider]\nopenai_api_key_vault_ref = \"plugins/github/k\"\n", "model_provider.openai_api_key_vault_ref", "Palyra's scopes have no '/'"},
		{"port out of range", "[daemon]\nport = 70000\n", "daemon.port", "between 0 and 65535"},
		{"wrong type", "[admin]\nrequire_auth = \"yes\"\n", "admin.require_auth", "Palyra wants true or false"},
		{"secret_ref not a table", "[admin]\nauth_token_secret_ref = \"global/x\"\n", "admin.auth_token_secret_ref", "SecretRef table"},
		{"unknown key in an array of tables", "[[model_provider.providers]]\nprovider_id = \"p\"\ntoken = \"x\"\n", "model_provider.providers[0].token", "does not know"},
		{"our on_change policy in a SecretRef", "[admin.auth_token_secret_ref]\nkind = \"vault\"\nvault_ref = \"global/t\"\nrefresh_policy = \"on_change\"\n",
			"admin.auth_token_secret_ref.refresh_policy", "on_change is this project's own refresh policy"},
		{"array of strings", "[gateway]\nvault_get_approval_required_refs = [1]\n", "gateway.vault_get_approval_required_refs", "array of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			got := PalyraIncompatibilities(d)
			if len(got) != 1 || got[0].Path != tt.path || !strings.Contains(got[0].Rule, tt.rule) || got[0].Line == 0 {
				t.Fatalf("got %+v, want one at %s containing %q", got, tt.path, tt.rule)
			}
		})
	}
}
