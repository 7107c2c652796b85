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
	backend.KindEtcd,
}

// sharedKind reports whether backend kind k is shared by many hosts: it
// holds the vault id and key state itself (backend.Shared), needs the
// connection settings beside the marker, and is opened only by a program
// that registered it (RegisterBackend).
func sharedKind(k backend.Kind) bool { return k == backend.KindEtcd }

// IsShared reports whether backend kind k keeps a vault that many hosts
// share (etcd).
func IsShared(k backend.Kind) bool { return sharedKind(k) }

// ExternalBackend opens a backend kind that package vault does not link
// itself, because its client is heavy (etcd: about 20 ms of package
// initialisation): the program that links it registers it with
// RegisterBackend (palyra-extra does; palyra hands etcd vaults to it).
type ExternalBackend struct {
	// Open opens the backend of the vault at root, reading its settings
	// (for etcd, the file etcd.json beside backend.kind).
	Open func(ctx context.Context, root string) (backend.Backend, error)
}

// RegisterBackend makes backend kind k, which must be a kind package
// backend names and this package does not link, openable by this process.
// Call it from main before any Open; it is not safe for concurrent use
// with Open.
func RegisterBackend(k backend.Kind, b ExternalBackend) {
	if !sharedKind(k) || b.Open == nil {
		panic("vault: RegisterBackend of " + string(k))
	}
	drivers[k] = driver{
		probe: func(ctx context.Context, s site) error {
			bk, err := b.Open(ctx, s.root)
			if err != nil {
				return err
			}
			return bk.Close()
		},
		open: func(ctx context.Context, s site) (backend.Backend, error) { return b.Open(ctx, s.root) },
	}
}

// Registered reports whether this process can open backend kind k.
func Registered(k backend.Kind) bool {
	_, ok := drivers[k]
	return ok
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
	// noUnlock opens a backend that will never ask the user to unlock
	// it: a locked store fails at once (for checks that must not prompt).
	noUnlock bool
}

// driver knows how to probe and open one kind of backend.
type driver struct {
	// probe reports whether the backend works on this host right now,
	// without showing the user anything (no unlock prompt). It may store
	// and delete a probe item, but leaves nothing behind.
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
		// The Secret Service counts as available only when it can be used
		// with no prompt: its collection is unlocked (or unlocks without
		// a prompt) and an item can be stored and read back. A locked
		// collection that needs a prompt (a keyring over SSH, with nobody
		// at the desktop to answer it) would otherwise be chosen by auto,
		// written in the marker, and fail every command after.
		probe: func(ctx context.Context, s site) error {
			return secretservice.ProbeUsable(ctx, secretservice.Options{Address: s.bus})
		},
		open: func(ctx context.Context, s site) (backend.Backend, error) {
			return secretservice.Open(ctx, secretservice.Options{Address: s.bus, Vault: s.id, NoUnlock: s.noUnlock})
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
// one, else the first of autoOrder that works. It also returns the
// backends auto selection skipped although this host has them (see
// BackendNotice.Skipped).
func chooseBackend(ctx context.Context, pref backend.Kind, s site) (backend.Backend, []BackendStatus, error) {
	if pref == "" || pref == backend.KindAuto {
		var errs []string
		var skipped []BackendStatus
		for i, k := range autoOrder() {
			// Auto chooses only a backend that really works here, now,
			// with no prompt: the probe asks the service, not just
			// whether it is installed.
			err := probeBackend(ctx, k, s)
			var b backend.Backend
			if err == nil {
				if b, err = openBackend(ctx, k, s); err == nil {
					return b, skipped, nil
				}
			}
			errs = append(errs, fmt.Sprintf("%s: %v", k, err))
			if !absent(err) {
				skipped = append(skipped, statusOf(k, i+1, err))
			}
		}
		return nil, nil, fmt.Errorf("%w: no backend works on this host: %s", ErrBackendUnavailable, strings.Join(errs, "; "))
	}
	if !knownKind(pref) {
		return nil, nil, unknownBackend(pref)
	}
	b, err := openBackend(ctx, pref, s)
	return b, nil, err
}

// unknownBackend is the error for a backend name that is not one.
func unknownBackend(k backend.Kind) error {
	return fmt.Errorf("%w: unknown backend %q: choose one of auto, %s", ErrBackendUnavailable, truncate(string(k)), strings.Join(kindNames(), ", "))
}

// absent reports whether err says the backend's service does not exist on
// this host at all (no Secret Service on the bus), rather
// than that it exists and failed: falling back from an absent backend is
// the ordinary case (a headless host) and needs no notice.
func absent(err error) bool {
	return errors.Is(err, secretservice.ErrNoService)
}

// statusOf describes backend k, of auto rank rank, that failed with err.
func statusOf(k backend.Kind, rank int, err error) BackendStatus {
	return BackendStatus{
		Kind:     k,
		Reason:   err.Error(),
		Locked:   errors.Is(err, secretservice.ErrLocked),
		Advice:   adviceFor(k, err),
		AutoRank: rank,
	}
}

// openBackend opens backend kind k, or explains why this host cannot. It
// does not probe: opening fails by itself when the store is missing, and a
// locked store is reported by the first operation (which may unlock it).
func openBackend(ctx context.Context, k backend.Kind, s site) (backend.Backend, error) {
	d, ok := drivers[k]
	if !ok {
		if sharedKind(k) {
			return nil, fmt.Errorf("%w: backend %s is opened by palyra-extra, not by this program (docs/CLI.md, \"Programs\")", ErrBackendUnavailable, k)
		}
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
	// Available reports whether the backend works here, now, with no
	// prompt (see ProbeBackends).
	Available bool `json:"available"`
	// Reason explains why it is unavailable; empty when available.
	Reason string `json:"reason,omitempty"`
	// Locked reports that the backend's store is there but locked, and
	// unlocking it needs a prompt (or the prompt was refused): unlocking
	// it makes the backend available.
	Locked bool `json:"locked,omitempty"`
	// Advice says what to install, start or unlock; empty when available.
	Advice string `json:"advice,omitempty"`
	// AutoRank is the backend's place in auto selection on this host
	// (1 is tried first), or 0 when auto never picks it here.
	AutoRank int `json:"auto_rank,omitempty"`
}

// ProbeBackends reports, for every backend kind, whether it works on this
// host and why not, the way auto selection decides: by really using it
// with no prompt (the service must answer, the collection must be
// unlocked or unlock without a prompt, an item must store and read back).
// Probing leaves nothing behind and never prompts.
func (v *Vault) ProbeBackends(ctx context.Context) []BackendStatus {
	order := autoOrder()
	out := make([]BackendStatus, 0, len(allKinds))
	for _, k := range allKinds {
		if sharedKind(k) {
			continue // needs its settings: not a choice of this host alone
		}
		rank := slices.Index(order, k) + 1
		if err := probeBackend(ctx, k, v.site()); err != nil {
			out = append(out, statusOf(k, rank, err))
		} else {
			out = append(out, BackendStatus{Kind: k, Available: true, AutoRank: rank})
		}
	}
	return out
}

func (v *Vault) site() site {
	return site{root: v.info.Root, id: v.info.ID, bus: v.bus, onTightened: v.onTightened}
}

// BackendNotice is what Config.OnBackendNotice reports when Open chose or
// changed a vault's backend otherwise than the caller may expect: auto
// selection passed over a backend this host has but cannot use now, or a
// vault that held no secret was re-created on the backend Config.Backend
// names.
type BackendNotice struct {
	// Root is the vault root.
	Root string
	// Chosen is the backend the vault now uses.
	Chosen backend.Kind
	// Skipped lists, in auto selection's order, the backends it preferred
	// to Chosen that this host has but that failed their probe (a locked
	// Secret Service, a provider that does not answer), each with its
	// Reason and Advice. A backend this host does not have at all (no
	// Secret Service on the bus) is not listed.
	Skipped []BackendStatus
	// Replaced is the backend the marker named before Open re-created an
	// empty vault on Chosen; empty otherwise.
	Replaced backend.Kind
}
