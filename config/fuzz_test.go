package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/palyra/palyra-vault/secret"
)

// FuzzSetVaultRef checks, for any input, that SetVaultRef either fails
// cleanly or returns TOML that parses, holds the reference, no longer holds
// the plaintext setting, and is a fixed point of the same edit. Valid TOML
// may only be refused with ErrUnsupportedLayout: a verification failure or
// any other error would be an editor bug.
func FuzzSetVaultRef(f *testing.F) {
	seeds := []string{
		"",
		"[model_provider]\nopenai_api_key = \"sk\"\n",
		"model_provider.openai_api_key = 'sk' # c",
		"[model_provider]\r\nkind = 1\r\n",
		"[a]\nb = \"\"\"\n[model_provider]\n\"\"\"\n",
		"[[model_provider.x]]\n[model_provider]\n",
		"x = { y = 1 }\n[tool_call.browser_service]\nstate_key = 1\n",
		"\"model_provider\".\"openai_api_key_vault_ref\" = \"g/x\"\n",
		"# c\n\n# d\n[t]\n",
		"[tool_call]\nbrowser_service.state_key = 'x'\n",
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "realistic.toml")); err == nil {
		seeds = append(seeds, string(data))
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	settings := [][]string{
		{"model_provider", "openai_api_key"},
		{"tool_call", "browser_service", "state_key"},
		{"api_token"},
		{"a", "b c", "d"},
	}
	ref := secret.Ref{Scope: "global", Key: "fuzz"}
	f.Fuzz(func(t *testing.T, src []byte, which uint8) {
		parts := settings[int(which)%len(settings)]
		setting := renderKeys(parts)
		out, err := SetVaultRef(src, setting, ref)
		if err != nil {
			// Valid TOML may only be refused for its layout.
			if _, derr := decode(src); derr == nil && !errors.Is(err, ErrUnsupportedLayout) {
				t.Fatalf("valid TOML %q refused: %v", src, err)
			}
			return
		}
		tree, err := decode(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		m := tree
		for _, k := range parts[:len(parts)-1] {
			m = m[k].(map[string]any)
		}
		if m[parts[len(parts)-1]+RefSuffix] != ref.String() {
			t.Fatalf("reference missing in %q", out)
		}
		if _, ok := m[parts[len(parts)-1]]; ok {
			t.Fatalf("plaintext setting still present in %q", out)
		}
		again, err := SetVaultRef(out, setting, ref)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("second application changed %q into %q (err %v)", out, again, err)
		}
	})
}
