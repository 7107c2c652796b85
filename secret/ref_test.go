package secret

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestValidateScope(t *testing.T) {
	id256 := strings.Repeat("I", 256)
	tests := []struct {
		scope   string
		wantErr string // substring of the error; "" means valid
	}{
		// Path scopes, as before.
		{"global", ""},
		{"plugins/github", ""},
		{"principal:alice", ""},
		{"channel:slack:acct-1", ""},
		{"skill:extractor", ""},
		{"a/b.c/d_e/0-9", ""},
		{"principal:alice/sub", ""},
		{"channel:x", ""},
		{strings.Repeat("a", 256), ""},
		{"", "must not be empty"},
		{strings.Repeat("a", 257), "257 bytes, at most 256"},
		{"/global", "segment 1 is empty"},
		{"global/", "segment 2 is empty"},
		{"a//b", "segment 2 is empty"},
		{"a/B", "segment 2 contains uppercase 'B' at byte 0"},
		{"-x", "must start with a lowercase letter or digit"},
		{"a/:b", "must start with a lowercase letter or digit"},
		{"a b", `contains ' '`},
		{"a\x00b", `contains '\x00'`},
		{"ü", "must start"},
		{"Plugins/github", "segment 1 contains uppercase 'P'"},

		// Palyra scopes in canonical form.
		{"principal:Alice", ""},
		{"principal:alice@example.com", ""},
		{"principal:user:ops", ""},
		{"principal:John Doe", ""},
		{"principal:_svc", ""},
		{"principal:.hidden", ""},
		{"principal:élise", ""},
		{"principal:a\u00a0b", ""}, // no-break space inside an id
		{"channel:Slack:T01 ABC", ""},
		{"channel:slack:acct:with:colons", ""},
		{"skill:Extractor-2", ""},
		{"principal:" + id256, ""},
		{"skill:" + id256, ""},
		{"channel:" + id256 + ":" + id256, ""},
		{"principal:" + id256 + "I", "principal id is 257 bytes, at most 256"},
		{"channel:" + id256 + "I:a", "channel name is 257 bytes"},
		{"channel:a:" + id256 + "I", "account id is 257 bytes"},
		{"principal:", ""}, // a path scope, valid as before (Palyra refuses the empty id)
		{"principal:A", ""},
		{"principal: ", "principal id must not be empty"},
		{"channel:Slack", "channel:<name>:<account_id>"},
		{"channel::A", "channel name must not be empty"},
		{"channel:A:", "channel:<name>:<account_id>"},
		{"principal:a\\b", `principal id contains '\\' at byte 1`},
		{"principal:A/b", "segment 1 contains uppercase 'A'"},
		{"principal:A\x00", "principal id contains '\\x00' at byte 1"},
		{"principal:A\tb", "principal id contains '\\t' at byte 1"},
		{"principal:A\x7fb", "principal id contains '\\x7f' at byte 1"},
		{"principal:A\u0085b", "control character U+0085 at byte 1"},
		{"principal:A\xffb", "not valid UTF-8 at byte 1"},

		// Forms that ParseScope canonicalises are not canonical.
		{"Global", "not in canonical form: the global scope is written \"global\""},
		{" global", "not in canonical form"},
		{"GLOBAL", "not in canonical form"},
		{"principal: Alice", "not in canonical form: remove the white space"},
		{"principal:Alice ", "not in canonical form"},
		{"channel: Slack :A", "not in canonical form"},
		{"Principal:alice", "segment 1 contains uppercase 'P'"},
	}
	for _, tt := range tests {
		t.Run(Excerpt(tt.scope), func(t *testing.T) {
			err := ValidateScope(tt.scope)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateScope(%q) = %v, want nil", tt.scope, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("ValidateScope(%q) = %v, want ErrInvalidScope", tt.scope, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateScope(%q) = %q, want it to mention %q", tt.scope, err, tt.wantErr)
			}
		})
	}
}

func TestParseScopeCanonicalisesAsPalyraDoes(t *testing.T) {
	id256 := strings.Repeat("x", 256)
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{"global", "global", ""},
		{"GLOBAL", "global", ""},
		{"Global", "global", ""},
		{"  gLoBaL\t\n", "global", ""},
		{"\u3000global\u00a0", "global", ""}, // Unicode white space is trimmed, as Rust's trim does
		{"plugins/github", "plugins/github", ""},
		{"principal:alice", "principal:alice", ""},
		{" principal:Alice@Example.com ", "principal:Alice@Example.com", ""},
		{"principal:  Alice  ", "principal:Alice", ""},
		{"channel: Slack : T01 ", "channel:Slack:T01", ""},
		{"channel:slack: a:b ", "channel:slack:a:b", ""},
		{"skill:\tX ", "skill:X", ""},
		{"principal: " + id256 + " ", "principal:" + id256, ""},
		{"principal: " + id256 + "x", "", "principal id is 257 bytes"},
		{"GLOBAL/x", "", "segment 1 contains uppercase 'G'"},
		{" plugins/github", "", "segment 1 starts with ' '"},
		{"Principal:alice", "", "uppercase 'P'"},
		{"principal:a\x01b", "", "principal id contains '\\x01' at byte 1"},
		{"principal:\t", "", "principal id must not be empty"},
		{"channel:slack: ", "", "channel:<name>:<account_id>"}, // trimmed first, as Palyra does
		{"channel:slack:\u00a0x\u00a0", "channel:slack:x", ""},
		{"user:alice", "", ""}, // a path scope, returned as it is
		{"", "", "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(Excerpt(tt.in), func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidScope) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseScope(%q) = %q, %v; want ErrInvalidScope mentioning %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if tt.want == "" {
				tt.want = tt.in
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseScope(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if err := CheckScope(got); err != nil {
				t.Errorf("CheckScope(ParseScope(%q)) = %v, want the canonical form accepted", tt.in, err)
			}
			if again, err := ParseScope(got); err != nil || again != got {
				t.Errorf("ParseScope is not idempotent on %q: %q, %v", got, again, err)
			}
		})
	}
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key     string
		wantErr string
	}{
		{"openai_api_key", ""},
		{"a.b-c_d9", ""},
		{"0", ""},
		{"_x", ""},
		{".env", ""},
		{"-rf", ""},
		{".", ""},
		{"..", ""},
		{"__", ""},
		{strings.Repeat("k", 128), ""},
		{"." + strings.Repeat("k", 127), ""},
		{"", "must not be empty"},
		{strings.Repeat("k", 129), "at most 128"},
		{"a:b", `contains ':' at byte 1`},
		{"a/b", `contains '/'`},
		{"a@b", `contains '@'`},
		{"KEY", "uppercase 'K' at byte 0"},
		{" key", `contains ' ' at byte 0`},
		{"key\n", `contains '\n' at byte 3`},
		{"ké", "non-ASCII character at byte 1"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := ValidateKey(tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateKey(%q) = %v, want nil", tt.key, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey mentioning %q", tt.key, err, tt.wantErr)
			}
		})
	}
}

func TestCheckScopeID(t *testing.T) {
	for id, wantErr := range map[string]string{
		"alice":                  "",
		"Alice@Example.com":      "",
		"user:ops":               "",
		strings.Repeat("a", 256): "",
		strings.Repeat("a", 257): "257 bytes",
		"":                       "must not be empty",
		" alice":                 "white space at an end",
		"a/b":                    `contains '/'`,
		"a\x1bb":                 "contains '\\x1b'",
	} {
		err := CheckScopeID(id)
		if (err == nil) != (wantErr == "") || err != nil && !strings.Contains(err.Error(), wantErr) {
			t.Errorf("CheckScopeID(%q) = %v, want %q", id, err, wantErr)
		}
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr error
	}{
		{"vault://global/openai_api_key", Ref{"global", "openai_api_key"}, nil},
		{"vault://plugins/github/token", Ref{"plugins/github", "token"}, nil},
		{"vault://principal:alice/k", Ref{"principal:alice", "k"}, nil},
		{"vault://principal:Alice@Example.com/api_key", Ref{"principal:Alice@Example.com", "api_key"}, nil},
		{"vault://channel:Slack:T01 ABC/.bot_token", Ref{"channel:Slack:T01 ABC", ".bot_token"}, nil},
		{"vault://skill:x/..", Ref{"skill:x", ".."}, nil},
		{"vault://global/-", Ref{"global", "-"}, nil},
		{"global/openai_api_key", Ref{}, ErrInvalidRef},
		{"vault://global", Ref{}, ErrInvalidRef},
		{"vault://global/", Ref{}, ErrInvalidKey},
		{"vault:///key", Ref{}, ErrInvalidScope},
		{"vault://Glo bal/key", Ref{}, ErrInvalidScope},
		{"vault://global/Key", Ref{}, ErrInvalidKey},
		{"vault://principal:a\x07/key", Ref{}, ErrInvalidScope},
		{"https://global/key", Ref{}, ErrInvalidRef},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalidRef) {
					t.Fatalf("ParseRef(%q) = %v, want %v wrapped in ErrInvalidRef", tt.in, err, tt.wantErr)
				}
				// The input is never quoted: it may be a secret pasted
				// in the wrong place (docs/CLI.md, UI rules). The
				// messages' own example may hold the same words, so
				// TestErrorsNeverRepeatInput checks the rest.
				if strings.Contains(err.Error(), strconv.Quote(tt.in)) {
					t.Errorf("error %q repeats the input", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("round trip: %q -> %q", tt.in, got.String())
			}
		})
	}
}

func TestParseRefCanonicalisesTheScope(t *testing.T) {
	for in, want := range map[string]Ref{
		"vault://GLOBAL/k":                 {"global", "k"},
		"vault://principal: Alice /k":      {"principal:Alice", "k"},
		"vault://channel: slack : a:b /k.": {"channel:slack:a:b", "k."},
	} {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestParseVaultRefFieldAcceptsBareForm(t *testing.T) {
	for in, want := range map[string]Ref{
		"global/openai_api_key":         {"global", "openai_api_key"},
		"vault://global/openai_api_key": {"global", "openai_api_key"},
		"plugins/github/token":          {"plugins/github", "token"},
		// The reference implementation trims the whole field, and each id.
		"  Global/openai_api_key\n":              {"global", "openai_api_key"},
		"principal:Alice@Example.com/api_key":    {"principal:Alice@Example.com", "api_key"},
		" channel: Discord :Guild 1/_bot_token ": {"channel:Discord:Guild 1", "_bot_token"},
	} {
		got, err := ParseVaultRefField(in)
		if err != nil || got != want {
			t.Errorf("ParseVaultRefField(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"env://X/y", "noslash", "", "a/B", "global/ key", "principal:a/b/K"} {
		if _, err := ParseVaultRefField(in); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("ParseVaultRefField(%q) = %v, want ErrInvalidRef", in, err)
		}
	}
}

// TestErrorsNeverRepeatInput checks that no error of the naming grammar
// repeats the input, or any four bytes of it in a row: a scope, key or ref
// that breaks the rules may be a secret pasted in the wrong place. One
// offending character may be named.
func TestErrorsNeverRepeatInput(t *testing.T) {
	const secretish = "Zq9XwT4LmNpK"
	inputs := []string{
		"sk-proj-" + secretish,
		"SK-PROJ-" + secretish,
		"sk-proj/" + secretish + "/",
		"sk-proj+" + secretish,
		"-" + secretish,
		"ä" + secretish,
		strings.Repeat(secretish, 30),
		"vault://" + secretish,
		"vault://sk/" + secretish,
		"vault://" + secretish + "/k",
		"https://" + secretish + "/k",
		secretish + "/" + secretish,
	}
	funcs := map[string]func(string) error{
		"ValidateScope": ValidateScope,
		"ValidateKey":   ValidateKey,
		"ParseRef":      func(s string) error { _, err := ParseRef(s); return err },
		"ParseVaultRefField": func(s string) error {
			_, err := ParseVaultRefField(s)
			return err
		},
	}
	for name, f := range funcs {
		for _, in := range inputs {
			err := f(in)
			if err == nil {
				t.Fatalf("%s(%q) = nil, want an error", name, in)
			}
			msg := err.Error()
			for i := 0; i+4 <= len(secretish); i++ {
				if w := secretish[i : i+4]; strings.Contains(msg, w) {
					t.Errorf("%s(%q) = %q: repeats %q from the input", name, in, msg, w)
					break
				}
			}
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"vault://global/k", "vault://a/b/c", "a/b", "vault://", "vault:///", "vault://x:y/z.z",
		"vault:// GLOBAL /..", "vault://principal: A@b /_k", "vault://channel:a: b:c/-", "vault://skill:\u00a0x\u3000/k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("ParseRef(%q) error %v does not wrap ErrInvalidRef", s, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRef(%q) returned a Ref that is not canonical: %#v: %v", s, r, err)
		}
		if r2, err := ParseRef(r.String()); err != nil || r2 != r {
			t.Fatalf("ParseRef(%q).String() = %q does not parse back: %v, %v", s, r.String(), r2, err)
		}
		if r2, err := ParseVaultRefField(r.Scope + "/" + r.Key); err != nil || r2 != r {
			t.Fatalf("bare form of %q: %v, %v", s, r2, err)
		}
	})
}
