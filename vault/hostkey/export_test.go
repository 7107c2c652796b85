package hostkey

import "github.com/palyra/palyra-vault/vault/internal/envelope"

// UnwrapForTest unwraps with the identity under state.
func UnwrapForTest(state string, wrapped []byte) (*envelope.KEK, error) {
	return ageKeys{}.Unwrap(state, wrapped)
}
