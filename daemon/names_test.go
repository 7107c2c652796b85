package daemon

import (
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
)

// TestAuthorizeComparesPalyraPrincipalIDsByteForByte checks the policy on
// the principal scopes of the Rust reference: ids with uppercase, '@', ':'
// and spaces, up to 256 bytes, are owned by exactly the principal whose id
// has the same bytes (no case folding, no trimming at this point: refs
// arrive in canonical form).
func TestAuthorizeComparesPalyraPrincipalIDsByteForByte(t *testing.T) {
	long := strings.Repeat("Ö", 128) // 256 bytes
	s := &Settings{ReadableScopes: []string{"global"}, Principals: map[uint32]string{
		1: "Alice@Example.com", 2: "alice@example.com", 3: "user:ops", 4: long, 5: "John Doe",
	}}
	vref := func(scope string) resolve.Ref { return resolve.VaultRef(secret.Ref{Scope: scope, Key: "_k"}) }
	tests := []struct {
		name      string
		principal string
		scope     string
		want      string // "" allowed, else a substring of the reason
	}{
		{"own id with uppercase and @", "Alice@Example.com", "principal:Alice@Example.com", ""},
		{"same id in another case", "alice@example.com", "principal:Alice@Example.com", `belongs to principal "Alice@Example.com", not to the caller's principal "alice@example.com"`},
		{"the other case's own scope", "alice@example.com", "principal:alice@example.com", ""},
		{"id holding ':'", "user:ops", "principal:user:ops", ""},
		{"a prefix of an id holding ':'", "user", "principal:user:ops", `belongs to principal "user:ops"`},
		{"id of 256 bytes", long, "principal:" + long, ""},
		{"one byte short of it", long[:254], "principal:" + long, "belongs to principal"},
		{"id with a space", "John Doe", "principal:John Doe", ""},
		{"no principal", "", "principal:John Doe", "mapped to no principal"},
		{"channel scope not readable", "", "channel:Slack:T01 ops", "not in daemon.readable_scopes"},
		{"skill scope not readable", "", "skill:Extractor", "not in daemon.readable_scopes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := secret.ValidateScope(tt.scope); err != nil {
				t.Fatalf("test scope is not canonical: %v", err)
			}
			err := s.authorize(tt.principal, vref(tt.scope), false)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("allowed, want refused with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("reason %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestResolveReadsPalyraNames runs a daemon whose configuration holds
// references in the Rust reference's spelling and asks for secrets under
// every Palyra scope kind, by path and by ref in any accepted spelling.
func TestResolveReadsPalyraNames(t *testing.T) {
	secrets := fixture.Secrets()
	secrets["vault://channel:Slack:T01 ops/_bot_token"] = "xoxb-palyra"
	secrets["vault://principal:Alice@Example.com/.env"] = "alice-palyra"
	secrets["vault://skill:Extractor/-"] = "skill-palyra"
	toml := fixture.Config + "\n[palyra_names]\nbot_token_vault_ref = \" channel: Slack : T01 ops/_bot_token \"\nskill_vault_ref = \"skill:Extractor/-\"\n"
	e := newEnv(t, secrets, toml)
	e.start()
	for name, tt := range map[string]struct {
		req   api.ResolveRequest
		value string
	}{
		"by path, bare ref in Palyra spelling": {api.ResolveRequest{Path: "palyra_names.bot_token"}, "xoxb-palyra"},
		"by the canonical ref the config holds": {api.ResolveRequest{Ref: "vault://channel:Slack:T01 ops/_bot_token"}, "xoxb-palyra"},
		"by another spelling of it":             {api.ResolveRequest{Ref: "vault://channel:Slack: T01 ops /_bot_token"}, "xoxb-palyra"},
		"global in any case":                    {api.ResolveRequest{Ref: "vault://GLOBAL/openai_api_key"}, "sk-test-123"},
		"skill scope, key '-'":                  {api.ResolveRequest{Path: "palyra_names.skill"}, "skill-palyra"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := e.mustResolve(tt.req); got != tt.value {
				t.Fatalf("got %q, want %q", got, tt.value)
			}
		})
	}
	for name, tt := range map[string]struct {
		body   string
		status int
		code   string
		msg    string
	}{
		"principal scope, caller mapped to none": {`{"ref":"vault://principal:Alice@Example.com/.env"}`, 403, api.CodeForbidden, `belongs to principal "Alice@Example.com"`},
		"skill scope not in config":              {`{"ref":"vault://skill:Other/-"}`, 403, api.CodeForbidden, "not readable by reference"},
		"control character in an id":             {`{"ref":"vault://principal:a\u001bb/k"}`, 400, api.CodeBadRequest, "not a valid vault reference"},
		"id of 257 bytes":                        {`{"ref":"vault://principal:` + strings.Repeat("A", 257) + `/k"}`, 400, api.CodeBadRequest, "not a valid vault reference"},
	} {
		t.Run(name, func(t *testing.T) {
			status, er := rawRequest(t, e.d.Socket(), "POST", api.PathResolve, strings.NewReader(tt.body))
			if status != tt.status || er.Err.Code != tt.code || !strings.Contains(er.Err.Message, tt.msg) {
				t.Fatalf("got %d %q (%s), want %d %q mentioning %q", status, er.Err.Code, er.Err.Message, tt.status, tt.code, tt.msg)
			}
		})
	}
}
