package secret

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestValidateScope(t *testing.T) {
	tests := []struct {
		scope   string
		wantErr string // substring of the error; "" means valid
	}{
		{"global", ""},
		{"plugins/github", ""},
		{"principal:alice", ""},
		{"channel:slack:acct-1", ""},
		{"skill:extractor", ""},
		{"a/b.c/d_e/0-9", ""},
		{strings.Repeat("a", 256), ""},
		{"", "must not be empty"},
		{strings.Repeat("a", 257), "at most 256"},
		{"Global", `uppercase 'G'`},
		{"/global", "segment 1 is empty"},
		{"global/", "segment 2 is empty"},
		{"a//b", "segment 2 is empty"},
		{"a/B", "segment 2 contains uppercase 'B' at byte 0"},
		{"-x", "must start with a lowercase letter or digit"},
		{"a/:b", "must start with a lowercase letter or digit"},
		{"a b", `contains ' '`},
		{"a\x00b", `contains '\x00'`},
		{"ü", "must start"},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
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

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key     string
		wantErr string
	}{
		{"openai_api_key", ""},
		{"a.b-c_d9", ""},
		{"0", ""},
		{strings.Repeat("k", 128), ""},
		{"", "must not be empty"},
		{strings.Repeat("k", 129), "at most 128"},
		{"a:b", `contains ':'`},
		{"a/b", `contains '/'`},
		{"_x", "must start"},
		{"KEY", "uppercase"},
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

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr error
	}{
		{"vault://global/openai_api_key", Ref{"global", "openai_api_key"}, nil},
		{"vault://plugins/github/token", Ref{"plugins/github", "token"}, nil},
		{"vault://principal:alice/k", Ref{"principal:alice", "k"}, nil},
		{"global/openai_api_key", Ref{}, ErrInvalidRef},
		{"vault://global", Ref{}, ErrInvalidRef},
		{"vault://global/", Ref{}, ErrInvalidKey},
		{"vault:///key", Ref{}, ErrInvalidScope},
		{"vault://Global/key", Ref{}, ErrInvalidScope},
		{"vault://global/Key", Ref{}, ErrInvalidKey},
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

func TestParseVaultRefFieldAcceptsBareForm(t *testing.T) {
	for in, want := range map[string]Ref{
		"global/openai_api_key":         {"global", "openai_api_key"},
		"vault://global/openai_api_key": {"global", "openai_api_key"},
		"plugins/github/token":          {"plugins/github", "token"},
	} {
		got, err := ParseVaultRefField(in)
		if err != nil || got != want {
			t.Errorf("ParseVaultRefField(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"env://X/y", "noslash", "", "a/B"} {
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
	for _, s := range []string{"vault://global/k", "vault://a/b/c", "a/b", "vault://", "vault:///", "vault://x:y/z.z"} {
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
		if r.String() != s {
			t.Fatalf("ParseRef(%q).String() = %q", s, r.String())
		}
		if ValidateScope(r.Scope) != nil || ValidateKey(r.Key) != nil {
			t.Fatalf("ParseRef(%q) accepted invalid parts %#v", s, r)
		}
		if r2, err := ParseVaultRefField(r.Scope + "/" + r.Key); err != nil || r2 != r {
			t.Fatalf("bare form of %q: %v, %v", s, r2, err)
		}
	})
}
