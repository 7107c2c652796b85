package refargs

import (
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/secret"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    secret.Ref
		wantIs  error
		wantMsg string
	}{
		{"scope and key", []string{"plugins/github", "token"}, secret.Ref{Scope: "plugins/github", Key: "token"}, nil, ""},
		{"ref", []string{"vault://principal:alice/api.key"}, secret.Ref{Scope: "principal:alice", Key: "api.key"}, nil, ""},
		{"palyra scope", []string{"principal:Alice@Example.com", "_token"}, secret.Ref{Scope: "principal:Alice@Example.com", Key: "_token"}, nil, ""},
		{"palyra scope canonicalised", []string{" channel: Slack : T01 ops ", ".env"}, secret.Ref{Scope: "channel:Slack:T01 ops", Key: ".env"}, nil, ""},
		{"global in any case", []string{"GLOBAL", "-"}, secret.Ref{Scope: "global", Key: "-"}, nil, ""},
		{"ref canonicalised", []string{"vault://Global/.."}, secret.Ref{Scope: "global", Key: ".."}, nil, ""},
		{"id with a control character", []string{"principal:a\x1b[31m", "k"}, secret.Ref{}, secret.ErrInvalidScope, `argument 1 (the scope): invalid scope: principal id contains '\x1b' at byte 1`},
		{"bad scope", []string{"Plugins", "token"}, secret.Ref{}, secret.ErrInvalidScope, `argument 1 (the scope): invalid scope: segment 1 contains uppercase 'P'`},
		{"bad key", []string{"global", "a/b"}, secret.Ref{}, secret.ErrInvalidKey, `argument 2 (the key): invalid key: contains '/' at byte 1`},
		{"secret as scope", []string{"sk-proj-Secret", "k"}, secret.Ref{}, secret.ErrInvalidScope, `argument 1 (the scope): invalid scope`},
		{"secret as key", []string{"global", "sk-proj-Secret"}, secret.Ref{}, secret.ErrInvalidKey, `argument 2 (the key): invalid key`},
		{"secret as ref", []string{"vault://sk-secret/X"}, secret.Ref{}, secret.ErrInvalidKey, `argument 1 (the vault reference): invalid vault reference: invalid key`},
		{"bare scope/key", []string{"global/k"}, secret.Ref{}, secret.ErrInvalidRef, `must start with "vault://"`},
		{"ref without key", []string{"vault://global"}, secret.Ref{}, secret.ErrInvalidRef, "needs a scope and a key"},
		{"no arguments", nil, secret.Ref{}, nil, "got 0 arguments"},
		{"three arguments", []string{"a", "b", "sk-secret"}, secret.Ref{}, nil, "got 3 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args)
			if tt.wantMsg == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Parse = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			var usage *clierr.UsageError
			if err == nil || !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error = %v, want a usage error containing %q", err, tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v does not wrap %v", err, tt.wantIs)
			}
			if strings.Contains(err.Error(), "sk-") {
				t.Fatalf("error repeats an argument: %v", err)
			}
		})
	}
}
