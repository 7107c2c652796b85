package set

import (
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
)

func TestNewCmdSetParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    SetOptions
		wantErr string
	}{
		{"scope and key", []string{"global", "openai_api_key"}, SetOptions{Ref: secret.Ref{Scope: "global", Key: "openai_api_key"}}, ""},
		{"ref", []string{"vault://plugins/github/token"}, SetOptions{Ref: secret.Ref{Scope: "plugins/github", Key: "token"}}, ""},
		{"flags", []string{"global", "k", "--value-stdin", "--trim-newline", "--json"}, SetOptions{Ref: secret.Ref{Scope: "global", Key: "k"}, ValueStdin: true, TrimNewline: true, JSON: true}, ""},
		{"palyra names, canonicalised", []string{" Global ", ".env"}, SetOptions{Ref: secret.Ref{Scope: "global", Key: ".env"}}, ""},
		{"bad scope", []string{"Plugins", "k"}, SetOptions{}, `argument 1 (the scope): invalid scope: segment 1 contains uppercase 'P'`},
		{"bare scope/key is not a ref", []string{"global/k"}, SetOptions{}, `must start with "vault://"`},
		{"value as an argument", []string{"global", "k", "sk-secret"}, SetOptions{}, "got 3 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *SetOptions
			cmd := NewCmdSet(&cmdutil.Factory{IOStreams: ios}, func(o *SetOptions) error { got = o; return nil })
			err := clitest.Execute(cmd, tt.args...)
			if tt.wantErr != "" {
				var usage *cmdutil.UsageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &usage) {
					t.Fatalf("error = %v, want a usage error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "sk-secret") {
					t.Fatalf("error repeats an argument: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Ref != tt.want.Ref || got.ValueStdin != tt.want.ValueStdin || got.TrimNewline != tt.want.TrimNewline || got.JSON != tt.want.JSON {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
