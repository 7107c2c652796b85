package daemon

import (
	"maps"
	"strings"
	"testing"

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
	// Through the settings parser, as a daemon reads them: every id Palyra
	// names can be mapped to a uid.
	s, err := parseSettings(t, "[daemon.principals]\n\"Alice@Example.com\" = [1]\n\"alice@example.com\" = [2]\n"+
		"\"user:ops\" = [3]\n\""+long+"\" = [4]\n\"John Doe\" = [5]\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[uint32]string{1: "Alice@Example.com", 2: "alice@example.com", 3: "user:ops", 4: long, 5: "John Doe"}; !maps.Equal(s.Principals, want) {
		t.Fatalf("principals = %v, want %v", s.Principals, want)
	}
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
