package envelope

import (
	"fmt"

	"github.com/palyra/palyra-vault/secret"
)

// outsideGrammar ends the error of a stored header whose name this reader
// refuses: the grammar has grown before (names of the Rust reference in
// 2026), so the likeliest cause is a newer writer, not damage.
const outsideGrammar = "a name this version of palyra does not accept: written by a newer version, or damaged; upgrade palyra, or run palyra secrets verify"

// checkScope reports whether s is a scope in canonical form (docs/FORMAT.md,
// secret.CheckScope). The error names the rule and quotes (the start of) s:
// a stored name, not user input.
func checkScope(s string) error {
	if err := secret.CheckScope(s); err != nil {
		return fmt.Errorf("scope %q: %w", secret.Excerpt(s), err)
	}
	return nil
}

// checkKey reports whether k follows the key grammar of docs/FORMAT.md.
// The error names the rule.
func checkKey(k string) error {
	if err := secret.CheckKey(k); err != nil {
		return fmt.Errorf("key %q: %w", secret.Excerpt(k), err)
	}
	return nil
}
