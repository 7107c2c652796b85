package audit

import (
	"strings"
	"testing"
)

func TestDetectFormatRecognisesKnownCredentials(t *testing.T) {
	tests := []struct{ value, want string }{
		{"sk-proj-abcdefghijklmnopqrstuvwxyz012345", "OpenAI API key"},
		{"sk-abcdefghijklmnopqrstuvwxyz", "OpenAI API key"},
		{"sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "Anthropic API key"},
		{"Bearer sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "Anthropic API key"},
		{"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "GitHub token"},
		{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "GitHub fine-grained token"},
		{"glpat-abcdefghij0123456789", "GitLab token"},
		{"xoxb-1234567890-abcdefghij", "Slack token"},
		{"xoxp-1234567890-abcdefghij", "Slack token"},
		{"AKIAIOSFODNN7EXAMPLE", "AWS access key ID"},
		{"id=ASIAIOSFODNN7EXAMPLE;", "AWS access key ID"},
		{"AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "Google API key"},
		{"sk_live_abcdefghijklmnop1234", "Stripe secret key"},
		{"hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "Hugging Face token"},
		{"npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm token"},
		{"SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789abcdefg", "SendGrid API key"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "private key"},
		{"-----BEGIN PRIVATE KEY-----", "private key"},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop", "JSON Web Token"},
		// Not credentials.
		{"sk-test-123", ""},
		{"task-abcdefghijklmnopqrstuvwxyz", ""},
		{"AKIAIOSFODNN7EXAMPLE1", ""},
		{"vault://global/openai_api_key", ""},
		{"-----BEGIN PUBLIC KEY-----", ""},
		{"https://api.openai.com/v1", ""},
	}
	for _, tt := range tests {
		if got := detectFormat(tt.value); got != tt.want {
			t.Errorf("detectFormat(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestSecretNameReadsTheSettingsWords(t *testing.T) {
	yes := []string{"openai_api_key", "state_key", "token", "secret", "password", "db-password", "apiKey", "clientSecret", "passphrase", "credentials", "keys", "github_pat"}
	no := []string{"max_tokens", "key_id", "api_key_id", "token_file", "private_key_path", "password_env", "secret_name", "keyboard", "monkey", "tokenizer", "kind", "token_url", "keyFile", ""}
	for _, n := range yes {
		if !secretName(n) {
			t.Errorf("secretName(%q) = false, want true", n)
		}
	}
	for _, n := range no {
		if secretName(n) {
			t.Errorf("secretName(%q) = true, want false", n)
		}
	}
}

func TestNotALiteralSkipsPlaceholdersAndPaths(t *testing.T) {
	tests := map[string]bool{
		"":                  true,
		"${OPENAI_API_KEY}": true,
		"$TOKEN":            true,
		"/run/secrets/x":    true,
		"~/keys/id":         true,
		"plain-value":       false,
		"$not a var":        false,
		"/has space/x":      false,
	}
	for in, want := range tests {
		if got := notALiteral(in); got != want {
			t.Errorf("notALiteral(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSuggestedKeysAreValidAndSayWhatTheyHold(t *testing.T) {
	tests := map[string]string{
		"model_provider.openai_api_key":    "openai_api_key",
		"channels.slack.token":             "slack_token",
		"tool_call.plugins[0].secret":      "plugins_secret",
		"broken.x_vault_ref":               "x",
		`servers."EU West".api_key`:        "eu_west_api_key",
		"token":                            "token",
		`a."key with [brackets]".password`: "key_with__brackets__password",
	}
	for path, want := range tests {
		got := suggestKey(keysOf(path))
		if got != want {
			t.Errorf("suggestKey(keysOf(%q)) = %q, want %q", path, got, want)
		}
		if strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
			t.Errorf("suggested key %q breaks the key alphabet", got)
		}
	}
}
