package runrun

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/resolve/tomlref"
)

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []string // NAME=<canonical ref>
		wantErr string
	}{
		{"refs, comments, blanks", "# refs\n\nA=vault://global/a\n  B = env:HOME  \n# C=vault://global/c\n", []string{"A=vault://global/a", "B=env:HOME"}, ""},
		{"export and quotes", "export A=\"vault://global/a\"\nB='env:HOME'\r\n", []string{"A=vault://global/a", "B=env:HOME"}, ""},
		{"inline table", `T={ exec = ["pass", "show", "x"], timeout_ms = 500 }`, []string{`T=exec:["pass","show","x"]`}, ""},
		{"plaintext value", "OPENAI_API_KEY=sk-proj-secret-value\n", nil, `line 1: OPENAI_API_KEY: resolving reference: invalid: not a reference`},
		{"no equals", "\nsk-proj-secret-value\n", nil, "line 2: expected NAME=<reference>"},
		{"bad name", "1A=env:HOME\n", nil, "line 1: the name before '=' must match"},
		{"empty ref", "A=\n", nil, "line 1: A has no reference after '='"},
		{"duplicate", "A=env:X\nA=env:Y\n", nil, "line 2: A is already set on line 1"},
		{"bad vault ref", "A=vault://Plugins/x\n", nil, "line 1: A: resolving reference: invalid: not a valid vault reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "refs.env")
			if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := parseEnvFile(tomlref.Parse, path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "sk-proj") {
					t.Fatalf("error repeats the line: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, b := range got {
				names = append(names, b.Name+"="+b.Ref.Canonical())
			}
			if strings.Join(names, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("bindings = %q, want %q", names, tt.want)
			}
		})
	}
}

func TestParseEnvFileBoundsItsInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.env")
	if err := os.WriteFile(path, []byte(strings.Repeat("#", MaxEnvFileSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseEnvFile(tomlref.Parse, path); err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("error = %v", err)
	}
	if _, err := parseEnvFile(tomlref.Parse, filepath.Join(t.TempDir(), "missing.env")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v", err)
	}
}

func TestParseBindingKeepsTheSourceKinds(t *testing.T) {
	tests := map[string]resolve.Source{
		"A=vault://global/a":                      resolve.SourceVault,
		"A=env:HOME":                              resolve.SourceEnv,
		"A=file:/run/secrets/x":                   resolve.SourceFile,
		`A={ exec = ["true"], required = false }`: resolve.SourceExec,
	}
	for in, want := range tests {
		b, err := parseBinding(tomlref.Parse, in, "test")
		if err != nil || b.Ref.Source != want {
			t.Errorf("parseBinding(%q) = %v, %v; want source %s", in, b.Ref.Source, err, want)
		}
	}
}

// Without a TOML decoder (the lean front's resolve.ParseString) an inline
// table in the env file fails with resolve.ErrInlineTable, so that the
// caller can hand the command line to one that has it; any other broken
// line is reported as before.
func TestParseEnvFileWithoutTOMLReportsInlineTables(t *testing.T) {
	tests := []struct {
		name, text string
		inline     bool
	}{
		{"inline table", "A=vault://global/a\nT={ exec = [\"pass\"] }\n", true},
		{"quoted inline table", "T='{ env = \"X\" }'\n", true},
		{"short forms only", "A=vault://global/a\nB=env:HOME\n", false},
		{"plaintext value", "A=sk-proj-secret-value\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "refs.env")
			if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := parseEnvFile(resolve.ParseString, path)
			if errors.Is(err, resolve.ErrInlineTable) != tt.inline {
				t.Fatalf("error = %v, want ErrInlineTable: %v", err, tt.inline)
			}
		})
	}
}
