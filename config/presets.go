package config

import "sort"

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
