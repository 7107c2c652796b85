package config

import (
	"fmt"
	"sort"

	"github.com/palyra/palyra-vault/secret"
)

// presets name the secret settings of the reference implementation.
var presets = map[string]string{
	"openai-api-key":    "model_provider.openai_api_key",
	"anthropic-api-key": "model_provider.anthropic_api_key",
	"browser-state-key": "tool_call.browser_service.state_key",
}

// Preset returns the dotted setting a preset name stands for
// ("openai-api-key" → "model_provider.openai_api_key") and whether name is
// a preset.
func Preset(name string) (setting string, ok bool) {
	setting, ok = presets[name]
	return setting, ok
}

// PresetNames returns the preset names, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OpenAIBaseURL is the model_provider.openai_base_url the openai-api-key
// preset sets when the file has none, as Palyra's does.
const OpenAIBaseURL = "https://api.openai.com/v1"

// ApplyPreset returns src edited as Palyra's "palyra secrets configure
// <preset>" edits palyra.toml (crates/palyra-cli/src/commands/secrets.rs),
// so that the file stays valid for it, keeping every other byte:
//
//   - every preset: <setting>_vault_ref = "<scope>/<key>" (the bare form,
//     which Palyra reads) and the plaintext <setting> removed
//     (SetBareVaultRef);
//   - openai-api-key also: model_provider.kind = "openai_compatible",
//     model_provider.openai_base_url = OpenAIBaseURL unless it holds a
//     string, and model_provider.auth_profile_id, auth_profile_ref and
//     auth_provider_kind removed (an auth profile would take precedence
//     over the key).
//
// anthropic-api-key is this project's own preset (Palyra has none); it
// makes the first edit only. A name that is not a preset is an error.
func ApplyPreset(src []byte, name string, ref secret.Ref) ([]byte, error) {
	setting, ok := Preset(name)
	if !ok {
		return nil, fmt.Errorf("%q is not a preset", name)
	}
	out := src
	var err error
	if name == "openai-api-key" {
		if out, err = SetString(out, "model_provider.kind", "openai_compatible"); err != nil {
			return nil, err
		}
		tree, err := decode(out)
		if err != nil {
			return nil, err
		}
		if _, isString := tableAt(tree, []string{"model_provider"})["openai_base_url"].(string); !isString {
			if out, err = SetString(out, "model_provider.openai_base_url", OpenAIBaseURL); err != nil {
				return nil, err
			}
		}
		for _, k := range []string{"auth_profile_id", "auth_profile_ref", "auth_provider_kind"} {
			if out, err = Unset(out, "model_provider."+k); err != nil {
				return nil, err
			}
		}
	}
	return SetBareVaultRef(out, setting, ref)
}
