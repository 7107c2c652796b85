package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/secret"
)

// The presets edit palyra.toml as Palyra's handler does, keeping comments.
func TestApplyPresetMakesPalyrasEdits(t *testing.T) {
	ref := secret.Ref{Scope: "global", Key: "openai_api_key"}
	tests := []struct {
		name, preset, src, want string
	}{
		{"openai, plaintext and an auth profile", "openai-api-key", `# my config
[model_provider]
kind = "deterministic"   # was a test
openai_api_key = "sk-plain"  # prod
auth_profile_id = "p1"
auth_provider_kind = "openai"
openai_model = "gpt-4o-mini"
`, `# my config
[model_provider]
kind = "openai_compatible"   # was a test
openai_api_key_vault_ref = "global/openai_api_key"  # prod
openai_model = "gpt-4o-mini"
openai_base_url = "https://api.openai.com/v1"
`},
		{"openai keeps a base URL", "openai-api-key", `[model_provider]
openai_base_url = "https://proxy.example/v1"
`, `[model_provider]
openai_base_url = "https://proxy.example/v1"
kind = "openai_compatible"
openai_api_key_vault_ref = "global/openai_api_key"
`},
		{"openai in an empty file", "openai-api-key", ``, `[model_provider]
kind = "openai_compatible"
openai_base_url = "https://api.openai.com/v1"
openai_api_key_vault_ref = "global/openai_api_key"
`},
		{"browser state key", "browser-state-key", `[tool_call.browser_service]
enabled = true
state_key_vault_ref = "vault://global/old"
`, `[tool_call.browser_service]
enabled = true
state_key_vault_ref = "global/openai_api_key"
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ApplyPreset([]byte(tt.src), tt.preset, ref)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", out, tt.want)
			}
			d, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if in := PalyraIncompatibilities(d); len(in) != 0 {
				t.Errorf("the result is not valid for Palyra: %+v", in)
			}
		})
	}
}

func TestSetVaultRefRefusesASettingASecretRefSupplies(t *testing.T) {
	src := []byte("[model_provider]\nopenai_api_key_secret_ref = { kind = \"env\", variable = \"X\" }\n")
	for _, f := range []func() ([]byte, error){
		func() ([]byte, error) {
			return SetVaultRef(src, "model_provider.openai_api_key", secret.Ref{Scope: "global", Key: "k"})
		},
		func() ([]byte, error) {
			return ApplyPreset(src, "openai-api-key", secret.Ref{Scope: "global", Key: "k"})
		},
	} {
		_, err := f()
		if !errors.Is(err, ErrUnsupportedLayout) || !strings.Contains(err.Error(), "model_provider.openai_api_key_secret_ref supplies it already") {
			t.Errorf("err = %v", err)
		}
	}
}

func TestUnset(t *testing.T) {
	src := "[a]\nx = 1 # c\ny = \"\"\"\nmulti\n\"\"\"\nz = 3\n"
	out, err := Unset([]byte(src), "a.y")
	if err != nil || string(out) != "[a]\nx = 1 # c\nz = 3\n" {
		t.Fatalf("Unset = %q, %v", out, err)
	}
	if out, err := Unset([]byte(src), "a.none"); err != nil || string(out) != src {
		t.Fatalf("Unset of an absent key = %q, %v", out, err)
	}
	if _, err := Unset([]byte("a = { y = 1 }\n"), "a.y"); !errors.Is(err, ErrUnsupportedLayout) {
		t.Fatalf("Unset inside an inline table = %v", err)
	}
}
