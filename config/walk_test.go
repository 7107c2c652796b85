package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
)

const refsDoc = `# references of every form
[model_provider]
openai_api_key_vault_ref = "vault://global/openai_api_key"
anthropic_api_key_vault_ref = "global/anthropic_api_key"   # bare form
label = "vault://global/not_a_reference"

[tool_call.browser_service]
state_key = { env = "BROWSER_STATE_KEY", required = false, refresh = "on_reload" }
cert = { file = "/run/secrets/cert.pem", trusted_dirs = ["/run/secrets"], max_bytes = 8192 }

[[tool_call.plugins]]
name = "github"
token = { exec = ["pass", "show", "github"], timeout_ms = 1000, pass_env = ["HOME"] }

[[tool_call.plugins]]
name = "slack"
"token_vault_ref" = "plugins/slack/token"

[channels]
keys = [{ env = "K0" }, { vault_ref = "vault://channel:a/k1" }]

[not_a_ref]
env = "production"
`

func TestReferencesFindsEveryForm(t *testing.T) {
	d, err := Parse([]byte(refsDoc))
	if err != nil {
		t.Fatal(err)
	}
	found, err := References(d)
	if err != nil {
		t.Fatalf("References: %v", err)
	}
	type row struct {
		Path, Setting string
		Line          int
		Canonical     string
	}
	var got []row
	for _, f := range found {
		got = append(got, row{f.Path, f.Setting, f.Line, f.Ref.Canonical()})
	}
	want := []row{
		{"model_provider.openai_api_key_vault_ref", "model_provider.openai_api_key", 3, "vault://global/openai_api_key"},
		{"model_provider.anthropic_api_key_vault_ref", "model_provider.anthropic_api_key", 4, "vault://global/anthropic_api_key"},
		{"tool_call.browser_service.state_key", "tool_call.browser_service.state_key", 8, "env:BROWSER_STATE_KEY"},
		{"tool_call.browser_service.cert", "tool_call.browser_service.cert", 9, "file:/run/secrets/cert.pem"},
		{"tool_call.plugins[0].token", "tool_call.plugins[0].token", 13, `exec:["pass","show","github"]`},
		{"tool_call.plugins[1].token_vault_ref", "tool_call.plugins[1].token", 17, "vault://plugins/slack/token"},
		{"channels.keys[0]", "channels.keys[0]", 20, "env:K0"},
		{"channels.keys[1]", "channels.keys[1]", 20, "vault://channel:a/k1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("References:\n got %+v\nwant %+v", got, want)
	}
	// The policy fields come through.
	sk := found[2].Ref
	if sk.Required() || sk.RefreshPolicy() != resolve.RefreshOnReload {
		t.Errorf("state_key policy lost: required %v refresh %v", sk.Required(), sk.RefreshPolicy())
	}
	if found[3].Ref.Limit() != 8192 || found[4].Ref.CommandTimeout() != time.Second {
		t.Errorf("cert/token policy lost")
	}
}

func TestReferencesReportsBrokenOnesWithPathAndRule(t *testing.T) {
	const doc = `[model_provider]
openai_api_key_vault_ref = "sk-PLAINTEXT-pasted-here"
anthropic_api_key_vault_ref = 42
ok_vault_ref = "global/ok"
[tool_call]
token = { env = "X", timeout_ms = 5 }
other = { exec = [] }
`
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	found, err := References(d)
	if len(found) != 1 || found[0].Path != "model_provider.ok_vault_ref" {
		t.Errorf("valid references = %+v, want only model_provider.ok_vault_ref", found)
	}
	if err == nil {
		t.Fatal("broken references not reported")
	}
	for _, want := range []string{
		`model_provider.openai_api_key_vault_ref (line 2): invalid reference: field "vault_ref": not a valid vault reference`,
		`model_provider.anthropic_api_key_vault_ref (line 3): invalid reference: a field ending in _vault_ref must hold a string`,
		`tool_call.token (line 6): invalid reference: field "timeout_ms": applies only to exec references`,
		`tool_call.other (line 7): invalid reference: field "exec": must be a non-empty argv list`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), plaintext) {
		t.Errorf("error shows the pasted secret:\n%v", err)
	}
	var re *RefError
	if !errors.As(err, &re) || !errors.Is(err, resolve.ErrInvalid) {
		t.Errorf("error does not unwrap to *RefError and resolve.ErrInvalid: %v", err)
	}
	var lines []int
	for _, re := range RefErrors(err) {
		lines = append(lines, re.Line)
	}
	if fmt.Sprint(lines) != "[2 3 6 7]" {
		t.Errorf("RefErrors gives the broken references of lines %v, want [2 3 6 7]", lines)
	}
	if got := RefErrors(nil); got != nil {
		t.Errorf("RefErrors(nil) = %v, want nil", got)
	}
}

func TestWalkVisitsEveryValueWithPathAndLine(t *testing.T) {
	const doc = `top = 1
[a]
"b.c" = { d = [1, { e = true }] }
[[arr]]
x = "y"
`
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = Walk(d, func(e Entry) error {
		got = append(got, e.Path+"@"+strconv.Itoa(e.Line)+map[bool]string{true: " inline", false: ""}[e.Inline]+" parent="+e.Parent)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a@2 parent=",
		`a."b.c"@3 inline parent=a`,
		`a."b.c".d@3 parent=a."b.c"`,
		`a."b.c".d[0]@3 parent=a."b.c".d`,
		`a."b.c".d[1]@3 inline parent=a."b.c".d`,
		`a."b.c".d[1].e@3 parent=a."b.c".d[1]`,
		"arr@0 parent=",
		"arr[0]@4 parent=arr",
		"arr[0].x@5 parent=arr[0]",
		"top@1 parent=",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Walk visited\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// SkipChildren prunes; other errors stop the walk.
	var visited []string
	_ = Walk(d, func(e Entry) error {
		visited = append(visited, e.Path)
		if e.Path == "a" {
			return SkipChildren
		}
		return nil
	})
	if strings.Contains(strings.Join(visited, ","), "b.c") {
		t.Errorf("SkipChildren did not prune: %v", visited)
	}
	stop := errors.New("stop")
	if err := Walk(d, func(Entry) error { return stop }); err != stop {
		t.Errorf("Walk returned %v, want the callback's error", err)
	}
}

func TestParseErrorGivesPositionNotContent(t *testing.T) {
	_, err := Parse([]byte("[model_provider]\nopenai_api_key = sk-PLAINTEXT-value\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("error = %v, want a *ParseError on line 2", err)
	}
	if strings.Contains(err.Error(), "PLAINTEXT") {
		t.Errorf("parse error shows the line: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("[model_provider]\nopenai_api_key_vault_ref = \"global/k\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != path || d.Line("model_provider.openai_api_key_vault_ref") != 2 {
		t.Errorf("Load: path %q line %d", d.Path(), d.Line("model_provider.openai_api_key_vault_ref"))
	}
	// A symlinked config (a dotfiles checkout) is read through its link.
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(link); err != nil {
		t.Errorf("Load through a symlink: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load of a directory = %v", err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte("x = \""+strings.Repeat("a", MaxSize)+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Load of an oversized file = %v", err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("a = \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var pe *ParseError
	if _, err := Load(bad); !errors.As(err, &pe) || pe.Path != bad || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load of bad TOML = %v, want a *ParseError naming the file", err)
	}
}

func TestFindOrder(t *testing.T) {
	cfgHome := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfgHome)
	t.Setenv("HOME", t.TempDir())
	t.Setenv(EnvConfig, "")

	loc, err := Find("")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cfgHome, "palyra", FileName); loc.Path != want || loc.Source != SourceDefault {
		t.Errorf("default: %+v, want %s", loc, want)
	}

	envPath := filepath.Join(t.TempDir(), "env.toml")
	t.Setenv(EnvConfig, envPath)
	if loc, _ = Find(""); loc.Path != envPath || loc.Source != SourceEnv {
		t.Errorf("env: %+v, want %s", loc, envPath)
	}

	if loc, _ = Find("relative.toml"); !filepath.IsAbs(loc.Path) || filepath.Base(loc.Path) != "relative.toml" || loc.Source != SourceExplicit {
		t.Errorf("explicit: %+v", loc)
	}
}

func TestSetVaultRefOnRealisticConfigKeepsEveryReference(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "realistic.toml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := SetVaultRef(src, "model_provider.openai_api_key", secret.Ref{Scope: "global", Key: "openai_api_key"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	found, err := References(d)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range found {
		paths = append(paths, f.Setting)
	}
	want := "model_provider.openai_api_key,model_provider.anthropic_api_key,tool_call.plugins[0].token,tool_call.plugins[1].token"
	if strings.Join(paths, ",") != want {
		t.Errorf("settings with references = %v, want %s", paths, want)
	}
}
