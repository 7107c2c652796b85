package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/secret"
)

// plaintext marks every secret value in the test inputs; no output may
// contain it.
const plaintext = "PLAINTEXT"

var openaiRef = secret.Ref{Scope: "global", Key: "openai_api_key"}

// crlf turns LF line endings into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestSetVaultRefGolden(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		setting string
		ref     secret.Ref
		want    string
	}{
		{
			name:    "plaintext replaced in place keeping its inline comment",
			setting: "model_provider.openai_api_key",
			in: `# Palyra
[model_provider]
kind = "openai"   # provider
openai_api_key = "sk-PLAINTEXT-1"   # my key
model = "gpt-4o"

# Daemon settings.
[daemon]
port = 7142
`,
			want: `# Palyra
[model_provider]
kind = "openai"   # provider
openai_api_key_vault_ref = "vault://global/openai_api_key"   # my key
model = "gpt-4o"

# Daemon settings.
[daemon]
port = 7142
`,
		},
		{
			name:    "spacing and indentation of the replaced line kept",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider]\n\tkind=\"openai\"\n\topenai_api_key='sk-PLAINTEXT'#x\n",
			want:    "[model_provider]\n\tkind=\"openai\"\n\topenai_api_key_vault_ref=\"vault://global/openai_api_key\"#x\n",
		},
		{
			name:    "existing vault ref updated",
			setting: "model_provider.openai_api_key",
			ref:     secret.Ref{Scope: "principal:alice", Key: "openai"},
			in: `[model_provider]
openai_api_key_vault_ref = "global/old"  # set by the reference implementation
model = "gpt-4o"
`,
			want: `[model_provider]
openai_api_key_vault_ref = "vault://principal:alice/openai"  # set by the reference implementation
model = "gpt-4o"
`,
		},
		{
			name:    "existing vault ref updated and plaintext line removed",
			setting: "model_provider.openai_api_key",
			in: `[model_provider]
# the key
openai_api_key = "sk-PLAINTEXT"   # plaintext
# the ref
openai_api_key_vault_ref = "vault://global/old"
model = "gpt-4o"
`,
			want: `[model_provider]
# the key
# the ref
openai_api_key_vault_ref = "vault://global/openai_api_key"
model = "gpt-4o"
`,
		},
		{
			name:    "multi-line plaintext removed whole",
			setting: "model_provider.openai_api_key",
			in: `[model_provider]
openai_api_key_vault_ref = "global/old"
openai_api_key = """
sk-PLAINTEXT
"""
model = "gpt-4o"
`,
			want: `[model_provider]
openai_api_key_vault_ref = "vault://global/openai_api_key"
model = "gpt-4o"
`,
		},
		{
			name:    "multi-line plaintext replaced in place",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider]\nopenai_api_key = '''\nsk-PLAINTEXT\n''' # multi\nmodel = \"x\"\n",
			want:    "[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\" # multi\nmodel = \"x\"\n",
		},
		{
			name:    "missing key appended after the last key of its section",
			setting: "model_provider.openai_api_key",
			in: `[model_provider]
  kind = "openai"
  model = "gpt-4o"   # default

# Daemon settings.
[daemon]
port = 7142
`,
			want: `[model_provider]
  kind = "openai"
  model = "gpt-4o"   # default
  openai_api_key_vault_ref = "vault://global/openai_api_key"

# Daemon settings.
[daemon]
port = 7142
`,
		},
		{
			name:    "missing key after a multi-line value",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider]\nmodels = [\n  \"a\",\n  \"b\",\n]\n[daemon]\n",
			want:    "[model_provider]\nmodels = [\n  \"a\",\n  \"b\",\n]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n[daemon]\n",
		},
		{
			name:    "empty section gets the key after its header",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider]   # empty for now\n\n# next\n[daemon]\n",
			want:    "[model_provider]   # empty for now\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n\n# next\n[daemon]\n",
		},
		{
			name:    "missing table created at the end",
			setting: "model_provider.openai_api_key",
			in:      "# config\n[daemon]\nport = 7142\n",
			want:    "# config\n[daemon]\nport = 7142\n\n[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "missing table after a file without final newline",
			setting: "model_provider.openai_api_key",
			in:      "[daemon]\nport = 7142 # no newline",
			want:    "[daemon]\nport = 7142 # no newline\n\n[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "missing table after a trailing blank line adds no second one",
			setting: "model_provider.openai_api_key",
			in:      "[daemon]\nport = 7142\n\n",
			want:    "[daemon]\nport = 7142\n\n[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "empty file",
			setting: "model_provider.openai_api_key",
			in:      "",
			want:    "[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "appending to the last line of a file without final newline",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider]\nkind = \"openai\"",
			want:    "[model_provider]\nkind = \"openai\"\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "sub-table only: parent table created at the end",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider.retry]\nattempts = 3\n",
			want:    "[model_provider.retry]\nattempts = 3\n\n[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "CRLF file, plaintext replaced",
			setting: "model_provider.openai_api_key",
			in:      crlf("# c\n[model_provider]\nopenai_api_key = \"sk-PLAINTEXT\" # k\nmodel = \"m\"\n"),
			want:    crlf("# c\n[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\" # k\nmodel = \"m\"\n"),
		},
		{
			name:    "CRLF file, key appended",
			setting: "model_provider.openai_api_key",
			in:      crlf("[model_provider]\nmodel = \"m\"\n\n[daemon]\n"),
			want:    crlf("[model_provider]\nmodel = \"m\"\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n\n[daemon]\n"),
		},
		{
			name:    "CRLF file, table created",
			setting: "model_provider.openai_api_key",
			in:      crlf("[daemon]\nport = 1\n"),
			want:    crlf("[daemon]\nport = 1\n\n[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n"),
		},
		{
			name:    "quoted keys keep their quoting",
			setting: "model_provider.openai_api_key",
			in:      "[\"model_provider\"]\n\"openai_api_key\" = \"sk-PLAINTEXT\"\n",
			want:    "[\"model_provider\"]\n\"openai_api_key_vault_ref\" = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "quoted setting name with a dot inside",
			setting: `servers."eu.west".token`,
			ref:     secret.Ref{Scope: "servers", Key: "eu-west"},
			in:      "[servers.\"eu.west\"]\ntoken = \"tok-PLAINTEXT\"\n",
			want:    "[servers.\"eu.west\"]\ntoken_vault_ref = \"vault://servers/eu-west\"\n",
		},
		{
			name:    "new quoted table created",
			setting: `servers."eu west".token`,
			ref:     secret.Ref{Scope: "servers", Key: "eu-west"},
			in:      "",
			want:    "[servers.\"eu west\"]\ntoken_vault_ref = \"vault://servers/eu-west\"\n",
		},
		{
			name:    "top-level dotted key replaced in place",
			setting: "model_provider.openai_api_key",
			in:      "model_provider.kind = \"openai\"\nmodel_provider . openai_api_key = \"sk-PLAINTEXT\"\n",
			want:    "model_provider.kind = \"openai\"\nmodel_provider . openai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "table defined by dotted keys gets a dotted line",
			setting: "model_provider.openai_api_key",
			in:      "model_provider.kind = \"openai\"\nmodel_provider.model = \"m\"\nlog = 1\n\n[daemon]\n",
			want:    "model_provider.kind = \"openai\"\nmodel_provider.model = \"m\"\nmodel_provider.openai_api_key_vault_ref = \"vault://global/openai_api_key\"\nlog = 1\n\n[daemon]\n",
		},
		{
			name:    "dotted key inside a section replaced",
			setting: "tool_call.browser_service.state_key",
			ref:     secret.Ref{Scope: "global", Key: "browser_state_key"},
			in:      "[tool_call]\nenabled = true\nbrowser_service.state_key = \"PLAINTEXT\"\n",
			want:    "[tool_call]\nenabled = true\nbrowser_service.state_key_vault_ref = \"vault://global/browser_state_key\"\n",
		},
		{
			name:    "dotted table inside a section gets a dotted line",
			setting: "tool_call.browser_service.state_key",
			ref:     secret.Ref{Scope: "global", Key: "browser_state_key"},
			in:      "[tool_call]\nbrowser_service.endpoint = \"http://x\"\nenabled = true\n",
			want:    "[tool_call]\nbrowser_service.endpoint = \"http://x\"\nbrowser_service.state_key_vault_ref = \"vault://global/browser_state_key\"\nenabled = true\n",
		},
		{
			name:    "top-level setting with top-level keys",
			setting: "api_token",
			ref:     secret.Ref{Scope: "global", Key: "api_token"},
			in:      "# top\nversion = 1\n\n[daemon]\nport = 1\n",
			want:    "# top\nversion = 1\napi_token_vault_ref = \"vault://global/api_token\"\n\n[daemon]\nport = 1\n",
		},
		{
			name:    "top-level setting goes above the first table and its comments",
			setting: "api_token",
			ref:     secret.Ref{Scope: "global", Key: "api_token"},
			in:      "# palyra\n\n# the daemon\n# section\n[daemon]\nport = 1\n",
			want:    "# palyra\n\napi_token_vault_ref = \"vault://global/api_token\"\n\n# the daemon\n# section\n[daemon]\nport = 1\n",
		},
		{
			name:    "top-level setting in a file of comments only",
			setting: "api_token",
			ref:     secret.Ref{Scope: "global", Key: "api_token"},
			in:      "# nothing yet",
			want:    "# nothing yet\napi_token_vault_ref = \"vault://global/api_token\"\n",
		},
		{
			name:    "arrays of tables and multi-line strings elsewhere untouched",
			setting: "model_provider.openai_api_key",
			in: `[[plugins]]
name = "a"
token = "not-touched"

[model_provider]
prompt = """
openai_api_key = "inside a string"
[model_provider]
"""
raw = '''
# not a comment
'''
openai_api_key = "sk-PLAINTEXT"

[[plugins]]
name = "b"
`,
			want: `[[plugins]]
name = "a"
token = "not-touched"

[model_provider]
prompt = """
openai_api_key = "inside a string"
[model_provider]
"""
raw = '''
# not a comment
'''
openai_api_key_vault_ref = "vault://global/openai_api_key"

[[plugins]]
name = "b"
`,
		},
		{
			name:    "multi-line inline table and arrays elsewhere untouched",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider]\nheaders = {\n  a = \"b\", # c\n}\nlist = [ # x\n  1,\n]\n",
			want:    "[model_provider]\nheaders = {\n  a = \"b\", # c\n}\nlist = [ # x\n  1,\n]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
		{
			name:    "plaintext that is an inline reference table is replaced",
			setting: "model_provider.openai_api_key",
			in:      "[model_provider]\nopenai_api_key = { env = \"OPENAI_API_KEY\" }\n",
			want:    "[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := tt.ref
			if ref == (secret.Ref{}) {
				ref = openaiRef
			}
			got, err := SetVaultRef([]byte(tt.in), tt.setting, ref)
			if err != nil {
				t.Fatalf("SetVaultRef: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("output differs\n--- got\n%s\n--- want\n%s", got, tt.want)
			}
			if bytes.Contains(got, []byte(plaintext)) {
				t.Errorf("output still holds the plaintext")
			}
			// Applying the same change again changes nothing.
			again, err := SetVaultRef(got, tt.setting, ref)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("second application changed the output (err %v):\n%s", err, again)
			}
		})
	}
}

func TestSetVaultRefRealisticConfigWithPresets(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "realistic.toml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "realistic.want.toml"))
	if err != nil {
		t.Fatal(err)
	}
	out := src
	for _, step := range []struct{ preset, key string }{
		{"openai-api-key", "openai_api_key"},
		{"anthropic-api-key", "anthropic_api_key"},
		{"browser-state-key", "browser_state_key"},
	} {
		setting, ok := Preset(step.preset)
		if !ok {
			t.Fatalf("preset %q missing", step.preset)
		}
		if out, err = SetVaultRef(out, setting, secret.Ref{Scope: "global", Key: step.key}); err != nil {
			t.Fatalf("%s: %v", step.preset, err)
		}
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("output differs from testdata/realistic.want.toml:\n%s", out)
	}
	if bytes.Contains(out, []byte(plaintext)) {
		t.Error("output still holds a plaintext secret")
	}
	// The same edits on the CRLF version of the file give the CRLF version
	// of the result.
	out = []byte(crlf(string(src)))
	for _, s := range []string{"model_provider.openai_api_key", "model_provider.anthropic_api_key", "tool_call.browser_service.state_key"} {
		key := map[string]string{"model_provider.openai_api_key": "openai_api_key", "model_provider.anthropic_api_key": "anthropic_api_key", "tool_call.browser_service.state_key": "browser_state_key"}[s]
		if out, err = SetVaultRef(out, s, secret.Ref{Scope: "global", Key: key}); err != nil {
			t.Fatalf("CRLF %s: %v", s, err)
		}
	}
	if string(out) != crlf(string(want)) {
		t.Fatalf("CRLF output differs:\n%q", out)
	}
}

func TestSetVaultRefRefusesLayoutsItCannotEdit(t *testing.T) {
	tests := []struct {
		name, in, setting string
		want              error
		msg               string
	}{
		{"setting inside an inline table", "model_provider = { openai_api_key = \"sk-PLAINTEXT\" }\n",
			"model_provider.openai_api_key", ErrUnsupportedLayout, "model_provider is written inline on line 1"},
		{"table is an array of tables", "[[model_provider]]\nopenai_api_key = \"sk-PLAINTEXT\"\n",
			"model_provider.openai_api_key", ErrUnsupportedLayout, "model_provider is an array"},
		{"setting is a table", "[model_provider.openai_api_key]\nvalue = \"sk-PLAINTEXT\"\n",
			"model_provider.openai_api_key", ErrUnsupportedLayout, "model_provider.openai_api_key is a table (line 1)"},
		{"setting is a dotted table", "[model_provider]\nopenai_api_key.value = \"sk-PLAINTEXT\"\n",
			"model_provider.openai_api_key", ErrUnsupportedLayout, "is a table defined by dotted keys (line 2)"},
		{"vault ref field is a table", "[model_provider.openai_api_key_vault_ref]\nx = 1\n",
			"model_provider.openai_api_key", ErrUnsupportedLayout, "model_provider.openai_api_key_vault_ref is a table"},
		{"parent holds a value", "model_provider = \"sk-PLAINTEXT\"\n",
			"model_provider.openai_api_key", ErrUnsupportedLayout, "model_provider holds a value, not a table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SetVaultRef([]byte(tt.in), tt.setting, openaiRef)
			if err == nil {
				t.Fatalf("SetVaultRef succeeded:\n%s", out)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), plaintext) {
				t.Errorf("error shows the plaintext: %v", err)
			}
		})
	}
}

func TestSetVaultRefRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, in, setting string
		ref               secret.Ref
		msg               string
	}{
		{"invalid TOML", "[model_provider]\nopenai_api_key = sk-PLAINTEXT\n", "model_provider.openai_api_key", openaiRef, "line 2, column 18"},
		{"duplicate key", "a = 1\na = 2\n", "model_provider.openai_api_key", openaiRef, "line 2"},
		{"setting names the ref field", "", "model_provider.openai_api_key_vault_ref", openaiRef, `name the setting itself, not its _vault_ref field (for example "model_provider.openai_api_key")`},
		{"empty setting", "", "", openaiRef, "setting name is empty"},
		{"bad setting syntax", "", "model provider.key", openaiRef, "must be TOML keys joined by dots"},
		{"trailing dot", "", "model_provider.", openaiRef, "must be TOML keys joined by dots"},
		{"array element", "", "plugins[0].token", openaiRef, "array elements cannot be addressed"},
		{"setting with newline", "", "a\nb", openaiRef, "on one line"},
		{"invalid ref", "", "model_provider.openai_api_key", secret.Ref{Scope: "Global", Key: "x"}, "invalid scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SetVaultRef([]byte(tt.in), tt.setting, tt.ref)
			if err == nil {
				t.Fatalf("SetVaultRef succeeded:\n%s", out)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), plaintext) {
				t.Errorf("error shows the plaintext: %v", err)
			}
		})
	}
}

func TestParseDotted(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"model_provider.openai_api_key", []string{"model_provider", "openai_api_key"}},
		{"a . b.c", []string{"a", "b", "c"}},
		{`servers."eu.west".token`, []string{"servers", "eu.west", "token"}},
		{`'literal key'.x`, []string{"literal key", "x"}},
		{`"esc\"aped"`, []string{`esc"aped`}},
		{`"with [brackets]"`, []string{"with [brackets]"}},
		{"openai-api-key", []string{"openai-api-key"}},
	}
	for _, tt := range tests {
		got, err := ParseDotted(tt.in)
		if err != nil {
			t.Fatalf("ParseDotted(%q): %v", tt.in, err)
		}
		if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
			t.Errorf("ParseDotted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", ".a", "a..b", "a = 1", "a # c", "a.b = 1 #", `"unterminated`, "a b"} {
		if got, err := ParseDotted(bad); err == nil {
			t.Errorf("ParseDotted(%q) = %q, want an error", bad, got)
		}
	}
}

func TestPresets(t *testing.T) {
	want := map[string]string{
		"openai-api-key":    "model_provider.openai_api_key",
		"anthropic-api-key": "model_provider.anthropic_api_key",
		"browser-state-key": "tool_call.browser_service.state_key",
	}
	for name, setting := range want {
		if got, ok := Preset(name); !ok || got != setting {
			t.Errorf("Preset(%q) = %q, %v; want %q", name, got, ok, setting)
		}
	}
	if got, ok := Preset("a.b"); ok {
		t.Errorf("Preset of a dotted name = %q, true; want not a preset", got)
	}
	if names := PresetNames(); strings.Join(names, ",") != "anthropic-api-key,browser-state-key,openai-api-key" {
		t.Errorf("PresetNames() = %v", names)
	}
}
