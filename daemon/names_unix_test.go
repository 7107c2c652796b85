//go:build unix

package daemon

import (
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
)

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
		"by path, bare ref in Palyra spelling":  {api.ResolveRequest{Path: "palyra_names.bot_token"}, "xoxb-palyra"},
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
