package vault

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
)

// allKinds lists every backend kind a marker may name, in no preference order.
var allKinds = []backend.Kind{
	backend.KindEncryptedFile,
	backend.KindSecretService,
	backend.KindKeychain,
	backend.KindDPAPI,
}

func knownKind(k backend.Kind) bool { return slices.Contains(allKinds, k) }

func kindNames() []string {
	names := make([]string, len(allKinds))
	for i, k := range allKinds {
		names[i] = string(k)
	}
	return names
}

// opener opens one kind of backend for the vault rooted at root.
type opener func(ctx context.Context, root string) (backend.Backend, error)

// openers holds the backends this build can open on this host.
var openers = map[backend.Kind]opener{
	backend.KindEncryptedFile: func(_ context.Context, root string) (backend.Backend, error) {
		return filestore.New(root, filestore.Options{})
	},
}

// autoOrder is the preference order of auto selection on this host, most
// secure first; encrypted_file, which works everywhere, is always last.
var autoOrder = []backend.Kind{backend.KindEncryptedFile}

// chooseBackend opens the backend a new vault should use: pref when it names
// one, else the first of autoOrder that opens.
func chooseBackend(ctx context.Context, pref backend.Kind, root string) (backend.Backend, error) {
	if pref == "" || pref == backend.KindAuto {
		var errs []string
		for _, k := range autoOrder {
			b, err := openBackend(ctx, k, root)
			if err == nil {
				return b, nil
			}
			errs = append(errs, err.Error())
		}
		return nil, fmt.Errorf("%w: no backend works on this host: %s", ErrBackendUnavailable, strings.Join(errs, "; "))
	}
	if !knownKind(pref) {
		return nil, fmt.Errorf("%w: unknown backend %q: choose one of auto, %s", ErrBackendUnavailable, truncate(string(pref)), strings.Join(kindNames(), ", "))
	}
	return openBackend(ctx, pref, root)
}

// openBackend opens backend kind k, or explains why this host cannot.
func openBackend(ctx context.Context, k backend.Kind, root string) (backend.Backend, error) {
	open, ok := openers[k]
	if !ok {
		return nil, fmt.Errorf("%w: backend %s is not available on this host", ErrBackendUnavailable, k)
	}
	b, err := open(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("opening backend %s: %w", k, translate(err))
	}
	return b, nil
}
