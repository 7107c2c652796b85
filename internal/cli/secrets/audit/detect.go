package audit

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
)

// keyFormat is a recognisable credential format.
type keyFormat struct {
	name string
	re   *regexp.Regexp
}

// keyFormats returns the formats, checked in order; the first match names
// the value. More specific formats come before the general ones they overlap
// (Anthropic's "sk-ant-" before OpenAI's "sk-"). They are compiled on first
// use, not at start-up: every palyra command links this package, and only
// "secrets audit" needs them.
var keyFormats = sync.OnceValue(func() []keyFormat {
	return []keyFormat{
		{"Anthropic API key", prefixed(`sk-ant-[A-Za-z0-9_-]{20,}`)},
		{"OpenAI API key", prefixed(`sk-[A-Za-z0-9_-]{20,}`)},
		{"GitHub token", prefixed(`gh[pousr]_[A-Za-z0-9]{36,}`)},
		{"GitHub fine-grained token", prefixed(`github_pat_[A-Za-z0-9_]{22,}`)},
		{"GitLab token", prefixed(`glpat-[A-Za-z0-9_-]{20,}`)},
		{"Slack token", prefixed(`xox[abposr]-[A-Za-z0-9-]{10,}`)},
		{"AWS access key ID", regexp.MustCompile(`(?:^|[^A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?:$|[^A-Z0-9])`)},
		{"Google API key", prefixed(`AIza[A-Za-z0-9_-]{35}`)},
		{"Stripe secret key", prefixed(`[sr]k_(?:live|test)_[A-Za-z0-9]{16,}`)},
		{"Hugging Face token", prefixed(`hf_[A-Za-z]{30,}`)},
		{"npm token", prefixed(`npm_[A-Za-z0-9]{36}`)},
		{"SendGrid API key", prefixed(`SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}`)},
		{"private key", regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`)},
		{"JSON Web Token", regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)},
	}
})

// prefixed compiles a credential pattern that must start a word: not
// preceded by a letter, digit or underscore ("task-…" is not "sk-…").
func prefixed(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^A-Za-z0-9_])` + pattern)
}

// detectFormat returns the name of the credential format s contains, or "".
func detectFormat(s string) string {
	for _, f := range keyFormats() {
		if f.re.MatchString(s) {
			return f.name
		}
	}
	return ""
}

// secretWords mark a setting name as holding a secret.
var secretWords = map[string]bool{
	"key": true, "keys": true, "apikey": true, "token": true, "secret": true, "secrets": true,
	"password": true, "passwords": true, "passwd": true, "pwd": true, "passphrase": true,
	"credential": true, "credentials": true, "pat": true,
}

// notSecretLast are last words that make a name describe a secret rather
// than hold one ("key_id", "token_file", "password_env").
var notSecretLast = map[string]bool{
	"id": true, "ids": true, "name": true, "names": true, "file": true, "path": true, "dir": true,
	"url": true, "uri": true, "endpoint": true, "env": true, "var": true, "type": true, "kind": true,
	"size": true, "len": true, "length": true, "bits": true, "count": true, "ttl": true, "timeout": true,
	"header": true, "prefix": true, "format": true, "algorithm": true, "alg": true, "version": true,
	"ref": true, "hint": true, "field": true, "source": true, "location": true, "region": true,
	"mode": true, "policy": true, "expiry": true, "expires": true, "rotation": true, "enabled": true,
	"required": true, "max": true, "min": true, "limit": true, "command": true, "cmd": true,
	"helper": true, "provider": true, "store": true, "backend": true, "scope": true,
}

// secretName reports whether a setting's name says it holds a secret:
// one of its words (split at '_', '-', '.', and lower-to-upper case
// changes) is key, token, secret, password, … and its last word does not
// make it a description of one (id, file, path, url, …).
func secretName(name string) bool {
	words := splitWords(name)
	if len(words) == 0 || notSecretLast[words[len(words)-1]] {
		return false
	}
	for _, w := range words {
		if secretWords[w] {
			return true
		}
	}
	return false
}

func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return words
}

// notALiteral reports whether a string in a secret-named setting is
// something other than the secret itself: empty, a placeholder for an
// environment variable ("${OPENAI_API_KEY}", "$TOKEN"), or a path.
func notALiteral(s string) bool {
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return true
	case strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}"):
		return true
	case strings.HasPrefix(t, "$") && isIdent(t[1:]):
		return true
	case (strings.HasPrefix(t, "/") || strings.HasPrefix(t, "~/") || strings.HasPrefix(t, "./")) && !strings.ContainsAny(t, " \t"):
		return true
	}
	return false
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// suggestKey turns a setting's path into a vault key for the remediation:
// its last key in the key alphabet, prefixed by the key before it when the
// last alone says little ("channels.slack.token" → "slack_token").
func suggestKey(parts []string) string {
	clean := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		return strings.TrimLeft(b.String(), "._-")
	}
	if len(parts) == 0 {
		return "secret"
	}
	key := clean(parts[len(parts)-1])
	generic := map[string]bool{"key": true, "token": true, "secret": true, "password": true, "api_key": true, "apikey": true, "pat": true}
	if (generic[key] || key == "") && len(parts) > 1 {
		if p := clean(parts[len(parts)-2]); p != "" {
			key = p + "_" + key
		}
	}
	if key == "" {
		key = "secret"
	}
	if len(key) > 128 {
		key = key[:128]
	}
	return key
}
