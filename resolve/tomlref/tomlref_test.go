package tomlref

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
)

func TestParseReadsEveryStringForm(t *testing.T) {
	tests := []struct {
		in   string
		want resolve.Ref
	}{
		{"vault://global/openai_api_key", resolve.VaultRef(secret.Ref{Scope: "global", Key: "openai_api_key"})},
		{"env:OPENAI_API_KEY", resolve.EnvRef("OPENAI_API_KEY")},
		{"file:/run/secrets/key", resolve.FileRef("/run/secrets/key")},
		{`{ exec = ["pass", "show", "x"], timeout_ms = 500 }`, resolve.Ref{Source: resolve.SourceExec, Exec: []string{"pass", "show", "x"}, Timeout: 500 * time.Millisecond}},
		{` { env = "A", required = false }`, resolve.Ref{Source: resolve.SourceEnv, Env: "A", Optional: true}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	// Palyra's SecretRef, tagged by kind.
	got, err := Parse(`{ kind = "env", variable = "OPENAI_API_KEY" }`)
	if err != nil || got.Source != resolve.SourceEnv || got.Env != "OPENAI_API_KEY" || got.Form != resolve.FormSecretRef {
		t.Errorf("Parse(kind = env) = %v (env %q, form %v), %v", got, got.Env, got.Form, err)
	}
}

func TestParseRefusesBrokenReferencesWithoutQuotingThem(t *testing.T) {
	const pasted = "sk-Proj-ABCdef0123456789secret"
	tests := []struct {
		in, want string
	}{
		{"", "not a reference"},
		{"global/x", "not a reference"},
		{"env:1X", ""},
		{"{ env = 1 }", `field "env"`},
		{"{ env = \"A\" }\nother = 1", "not a single TOML inline table"},
		{"{ env = ", "not a valid TOML inline table (line 1, column"},
		{`{ env = "` + pasted + `" }`, ""},
		{`{ exec = ["` + pasted, "not a valid TOML inline table"},
		{pasted, "not a reference"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if resolve.KindOf(err) != resolve.Invalid || errors.Is(err, resolve.ErrInlineTable) {
			t.Errorf("Parse(%q) error = %v, want kind Invalid", tt.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.in, err, tt.want)
		}
		if strings.Contains(err.Error(), "ABCdef") {
			t.Errorf("Parse(%q) error shows the content: %v", tt.in, err)
		}
	}
}
