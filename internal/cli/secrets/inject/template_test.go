package inject

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseTemplateFindsReferencesAndLeavesOtherBracesAlone(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "line:col text"
	}{
		{"vault", "key={{ vault://global/a }}\n", []string{"1:5 vault://global/a"}},
		{"no blanks", "{{vault://global/a}}", []string{"1:1 vault://global/a"}},
		{"several on lines", "a\n x={{ env:HOME }} y={{\tfile:/run/s/x\t}}\n", []string{"2:4 env:HOME", "2:21 file:/run/s/x"}},
		{"inline table with braces inside strings", `{{ { exec = ["printf", "}} {x}"], timeout_ms = 100 } }}`, []string{`1:1 { exec = ["printf", "}} {x}"], timeout_ms = 100 }`}},
		{"go template", "{{ .Values.key }} {{- if .x }}", nil},
		{"mustache triple", "{{{ name }}} {{ name }}", nil},
		{"jinja", "{{ user.name | upper }}", nil},
		{"lone braces", "{{ {{ }}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phs, err := parseTemplate([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ph := range phs {
				got = append(got, strconv.Itoa(ph.line)+":"+strconv.Itoa(ph.col)+" "+ph.text)
				if !strings.HasPrefix(tt.src[ph.start:], "{{") || !strings.HasSuffix(tt.src[:ph.end], "}}") {
					t.Errorf("placeholder bytes %q", tt.src[ph.start:ph.end])
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("placeholders = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTemplateRejectsBrokenPlaceholdersByPosition(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"not closed", "ok\nx={{ vault://global/a\n}}", "line 2, column 3: {{ is not closed by }} on the same line"},
		{"bad vault ref", "{{ vault://Plugins/sk-secret }}", "line 1, column 1: resolving reference: invalid: not a valid vault reference"},
		{"exec has no short form", "{{ exec:pass show x }}", "line 1, column 1: resolving reference: invalid: not a reference"},
		{"table not closed", `{{ { env = "X" }}`, "line 1, column 1: {{ is not closed"},
		{"table over lines", "{{ { env = \"X\"\n} }}", "unterminated inline table"},
		{"bad table", `{{ { env = "X", bogus = 1 } }}`, `unknown field "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTemplate([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "sk-secret") {
				t.Fatalf("error quotes the template: %v", err)
			}
		})
	}
}
