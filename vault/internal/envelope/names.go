package envelope

import (
	"fmt"

	"github.com/palyra/palyra-vault/secret"
)

// checkScope reports whether s follows the scope grammar of docs/FORMAT.md.
// The error names the rule.
func checkScope(s string) error {
	if err := secret.CheckScope(s); err != nil {
		return fmt.Errorf("scope %q: %w", s, err)
	}
	return nil
}

// checkKey reports whether k follows the key grammar of docs/FORMAT.md.
// The error names the rule.
func checkKey(k string) error {
	if err := secret.CheckKey(k); err != nil {
		return fmt.Errorf("key %q: %w", k, err)
	}
	return nil
}
