package vault

import "context"

// watch is Watch's body. Until a backend implements following, no vault
// can be watched.
func (v *Vault) watch(ctx context.Context, fn func(Change)) error {
	return ErrNotWatchable
}
