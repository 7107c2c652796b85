package vault

import (
	"context"
	"errors"
	"fmt"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/dpapi"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
	"github.com/palyra/palyra-vault/vault/backend/keychain"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
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

// site says where a vault's backend keeps its objects.
type site struct {
	root string // the vault root
	id   string // the vault ID, which namespaces objects in per-user stores
	bus  string // the session bus address (Config.SessionBus)
	// onTightened reports a mode tightened by a backend (see
	// Config.OnTightened); nil when nobody listens.
	onTightened func(fsutil.Tightening)
}

// driver knows how to probe and open one kind of backend.
type driver struct {
	// probe reports whether the backend works on this host without
	// creating anything.
	probe func(ctx context.Context, s site) error
	// open opens the backend for a vault.
	open func(ctx context.Context, s site) (backend.Backend, error)
}

// drivers holds every backend this build can try to open. A backend that
// cannot work on this OS still has a driver: it fails with a reason.
var drivers = map[backend.Kind]driver{
	backend.KindEncryptedFile: {
		probe: func(context.Context, site) error { return nil },
		open: func(_ context.Context, s site) (backend.Backend, error) {
			return filestore.New(s.root, filestore.Options{OnTightened: s.onTightened})
		},
	},
	backend.KindSecretService: {
		// A locked collection counts as available: the first operation
		// asks the service to unlock it (on a desktop, a password prompt),
		// and a refusal is reported then, not hidden by a fallback.
		probe: func(ctx context.Context, s site) error {
			err := secretservice.Probe(ctx, secretservice.Options{Address: s.bus, NoUnlock: true})
			if errors.Is(err, secretservice.ErrLocked) {
				return nil
			}
			return err
		},
		open: func(ctx context.Context, s site) (backend.Backend, error) {
			return secretservice.Open(ctx, secretservice.Options{Address: s.bus, Vault: s.id})
		},
	},
	backend.KindKeychain: {
		probe: func(ctx context.Context, _ site) error {
			b, err := keychain.New(keychain.Options{})
			if err != nil {
				return err
			}
			defer b.Close()
			return b.Probe(ctx)
		},
		open: func(_ context.Context, s site) (backend.Backend, error) {
			return keychain.New(keychain.Options{Service: keychain.Service + "/" + s.id})
		},
	},
	backend.KindDPAPI: {
		probe: func(context.Context, site) error { return dpapi.Probe() },
		open: func(_ context.Context, s site) (backend.Backend, error) {
			return dpapi.New(s.root, dpapi.Options{})
		},
	},
}

// probeTimeout bounds how long auto selection waits for one backend.
const probeTimeout = 5 * time.Second

// autoOrder is the preference order of auto selection on this host, most
// secure first; encrypted_file, which works everywhere, is always last.
func autoOrder() []backend.Kind {
	switch runtime.GOOS {
	case "darwin":
		return []backend.Kind{backend.KindKeychain, backend.KindEncryptedFile}
	case "windows":
		return []backend.Kind{backend.KindDPAPI, backend.KindEncryptedFile}
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		return []backend.Kind{backend.KindSecretService, backend.KindEncryptedFile}
	default:
		return []backend.Kind{backend.KindEncryptedFile}
	}
}

// chooseBackend opens the backend a new vault should use: pref when it names
// one, else the first of autoOrder that opens.
func chooseBackend(ctx context.Context, pref backend.Kind, s site) (backend.Backend, error) {
	if pref == "" || pref == backend.KindAuto {
		var errs []string
		for _, k := range autoOrder() {
			// Auto chooses only a backend that really works here: the
			// probe asks the service, not just whether it is installed.
			if err := probeBackend(ctx, k, s); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", k, err))
				continue
			}
			b, err := openBackend(ctx, k, s)
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
	return openBackend(ctx, pref, s)
}

// openBackend opens backend kind k, or explains why this host cannot. It
// does not probe: opening fails by itself when the store is missing, and a
// locked store is reported by the first operation (which may unlock it).
func openBackend(ctx context.Context, k backend.Kind, s site) (backend.Backend, error) {
	d, ok := drivers[k]
	if !ok {
		return nil, fmt.Errorf("%w: backend %s is not supported by this build on %s", ErrBackendUnavailable, k, runtime.GOOS)
	}
	octx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	b, err := d.open(octx, s)
	if err != nil {
		return nil, fmt.Errorf("opening backend %s: %w", k, translate(err))
	}
	return b, nil
}

// probeBackend reports why backend kind k does not work on this host, or nil.
func probeBackend(ctx context.Context, k backend.Kind, s site) error {
	d, ok := drivers[k]
	if !ok {
		return fmt.Errorf("%w: backend %s is not supported by this build on %s", ErrBackendUnavailable, k, runtime.GOOS)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if err := d.probe(ctx, s); err != nil {
		return translate(err)
	}
	return nil
}

// BackendStatus says whether one backend works on this host.
type BackendStatus struct {
	Kind backend.Kind `json:"kind"`
	// Available reports whether the backend opened.
	Available bool `json:"available"`
	// Reason explains why it is unavailable; empty when available.
	Reason string `json:"reason,omitempty"`
	// AutoRank is the backend's place in auto selection on this host
	// (1 is tried first), or 0 when auto never picks it here.
	AutoRank int `json:"auto_rank,omitempty"`
}

// ProbeBackends reports, for every backend kind, whether it works on this
// host and why not, by really opening it (the service must answer, the
// collection must exist). Probing creates nothing.
func (v *Vault) ProbeBackends(ctx context.Context) []BackendStatus {
	order := autoOrder()
	out := make([]BackendStatus, 0, len(allKinds))
	for _, k := range allKinds {
		st := BackendStatus{Kind: k, AutoRank: slices.Index(order, k) + 1}
		if err := probeBackend(ctx, k, v.site()); err != nil {
			st.Reason = err.Error()
		} else {
			st.Available = true
		}
		out = append(out, st)
	}
	return out
}

func (v *Vault) site() site {
	return site{root: v.info.Root, id: v.info.ID, bus: v.bus, onTightened: v.onTightened}
}
