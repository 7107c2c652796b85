package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2/unstable"
)

// MaxDottedLen bounds the dotted setting names ParseDotted accepts.
const MaxDottedLen = 1024

// ParseDotted splits a dotted setting name written in TOML key syntax
// ("model_provider.openai_api_key", `servers."eu.west".token`) into its
// decoded parts. Bare parts are [A-Za-z0-9_-]+; quoted parts use TOML basic
// ("…", with escapes) or literal ('…') strings; whitespace around dots is
// allowed. It fails, naming the rule, for an empty name, an array index, or
// anything TOML would not accept as a key. The error never repeats s: a
// setting name typed on a command line may be a secret pasted in the wrong
// place.
func ParseDotted(s string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("setting name is empty: give a dotted name such as \"model_provider.openai_api_key\"")
	}
	if len(s) > MaxDottedLen {
		return nil, fmt.Errorf("setting name is %d bytes, at most %d allowed", len(s), MaxDottedLen)
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("setting name: must be valid UTF-8 on one line")
	}
	if strings.ContainsRune(s, '[') && !strings.ContainsAny(s, `"'`) {
		return nil, errors.New("setting name: array elements cannot be addressed; only settings in tables can")
	}
	src := []byte(s + " = 0")
	var p unstable.Parser
	p.Reset(src)
	bad := errors.New("setting name: must be TOML keys joined by dots (bare keys use A-Z a-z 0-9 _ -; quote others)")
	if !p.NextExpression() {
		return nil, bad
	}
	n := p.Expression()
	if n.Kind != unstable.KeyValue {
		return nil, bad
	}
	v := n.Value()
	if v.Kind != unstable.Integer || int(v.Raw.Offset) != len(s)+3 {
		return nil, bad
	}
	var parts []string
	for it := n.Key(); it.Next(); {
		parts = append(parts, string(it.Node().Data))
	}
	if p.NextExpression() || p.Error() != nil {
		return nil, bad
	}
	return parts, nil
}

// isBareKey reports whether k can be written as a TOML bare key.
func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// renderKey writes k as a TOML key: bare when it can be, else a basic string.
func renderKey(k string) string {
	if isBareKey(k) {
		return k
	}
	return quoteBasic(k)
}

// renderKeys writes parts as a dotted TOML key.
func renderKeys(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = renderKey(p)
	}
	return strings.Join(out, ".")
}

// quoteBasic writes s as a TOML basic string.
func quoteBasic(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// joinPath appends key k to the display path prefix.
func joinPath(prefix, k string) string {
	if prefix == "" {
		return renderKey(k)
	}
	return prefix + "." + renderKey(k)
}

// indexPath appends an array index to the display path prefix.
func indexPath(prefix string, i int) string {
	return prefix + "[" + strconv.Itoa(i) + "]"
}
