package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// Exists reports whether the vault cfg describes has been created (its
// backend.kind marker exists), without creating or changing anything. It
// also returns the vault root it looked at.
func Exists(cfg Config) (bool, string, error) {
	_, root, err := resolvePaths(cfg)
	if err != nil {
		return false, "", err
	}
	_, err = os.Lstat(filepath.Join(root, markerFile))
	switch {
	case err == nil:
		return true, root, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, root, nil
	}
	return false, root, fmt.Errorf("checking for a vault at %s: %w", root, err)
}

// sharedCheck checks the shared backend k of the vault cfg describes, when
// that vault uses it and this program can open it: every endpoint, the
// authentication, and reading and writing under the prefix
// (backend.HealthChecker). It reports false when the vault does not use k.
func sharedCheck(ctx context.Context, cfg Config, k backend.Kind) (HostCheck, bool) {
	if m, err := MarkerOf(cfg); err != nil || m != k {
		return HostCheck{}, false
	}
	_, root, _ := resolvePaths(cfg)
	c := HostCheck{Name: string(k), Available: true}
	b, err := openBackend(ctx, k, site{root: root})
	if err == nil {
		if hc, ok := b.(backend.HealthChecker); ok {
			err = hc.Health(ctx)
		}
		b.Close()
	}
	if err != nil {
		c.Available, c.Reason = false, err.Error()
		c.Unreachable = errors.Is(err, backend.ErrUnreachable)
		c.Advice = "check each member named above, this host's TLS files and etcd user (etcd.json in the vault root), and that the user's role may read and write under the prefix (docs/FLEET.md)"
	}
	return c, true
}

// MarkerOf returns the backend kind named by the backend.kind marker of
// the vault cfg describes, or "" when there is no vault there yet. It reads
// that one small file and opens nothing (palyra uses it to hand etcd vaults
// to palyra-extra).
func MarkerOf(cfg Config) (backend.Kind, error) {
	_, root, err := resolvePaths(cfg)
	if err != nil {
		return "", err
	}
	return readMarker(root)
}

// HostReport explains what this host offers a vault: which backends and
// key sources work, and for those that do not, why and what to do.
type HostReport struct {
	// OS is the operating system, as runtime.GOOS names it.
	OS string `json:"os"`
	// Backends has one entry per backend kind, in no preference order.
	Backends []HostCheck `json:"backends"`
	// KeySources has one entry per key source.
	KeySources []HostCheck `json:"key_sources"`
	// Auto names the backend a new vault gets with backend "auto".
	Auto backend.Kind `json:"auto"`
}

// HostCheck is whether one backend or key source works here.
type HostCheck struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	// Locked reports that the store is there but locked, and unlocking it
	// needs a prompt (or the prompt was refused): not available until it
	// is unlocked. Advice says how.
	Locked bool `json:"locked,omitempty"`
	// Unreachable reports that the vault's shared store (an etcd cluster)
	// did not answer within its deadline (backend.ErrUnreachable).
	Unreachable bool `json:"unreachable,omitempty"`
	// Reason says why it does not work; empty when it does.
	Reason string `json:"reason,omitempty"`
	// Advice says what to install, start or unlock; empty when there is
	// nothing to do.
	Advice string `json:"advice,omitempty"`
}

// Doctor probes every backend and key source on this host (by really
// reaching the services, bounded in time, the Secret Service through
// cfg.SessionBus) the way auto selection does (see ProbeBackends), and
// explains each that does not work; a Secret Service whose collection is
// locked and needs a prompt to unlock is reported Locked, with how to
// unlock it. It never prompts and leaves nothing behind.
func Doctor(ctx context.Context, cfg Config) HostReport {
	s := site{bus: cfg.SessionBus}
	rep := HostReport{OS: runtime.GOOS}
	order := autoOrder()
	for _, k := range allKinds {
		if sharedKind(k) {
			// Not a choice of this host alone: checked only for the
			// vault that uses it, from its settings.
			if c, ok := sharedCheck(ctx, cfg, k); ok {
				rep.Backends = append(rep.Backends, c)
			}
			continue
		}
		c := HostCheck{Name: string(k), Available: true}
		if err := probeBackend(ctx, k, s); err != nil {
			st := statusOf(k, 0, err)
			c.Available, c.Locked, c.Reason, c.Advice = false, st.Locked, st.Reason, st.Advice
		}
		rep.Backends = append(rep.Backends, c)
	}
	// Auto picks the first available kind in its own order.
	for _, k := range order {
		if i := slices.IndexFunc(rep.Backends, func(c HostCheck) bool { return c.Name == string(k) }); i >= 0 && rep.Backends[i].Available {
			rep.Auto = k
			break
		}
	}
	for _, name := range KeySources() {
		src, _ := keysource.Lookup(name)
		c := HostCheck{Name: name, Available: true}
		if kind, err := src.HostStore(); err != nil {
			c.Available, c.Reason = false, err.Error()
			c.Advice = "use key source device or passphrase"
		} else if kind != "" {
			if err := probeBackend(ctx, kind, s); err != nil {
				c.Available, c.Reason = false, err.Error()
				c.Locked = errors.Is(err, secretservice.ErrLocked)
				c.Advice = fmt.Sprintf("make %s work (see the backend above), or choose key source device or passphrase", kind)
			}
		}
		rep.KeySources = append(rep.KeySources, c)
	}
	return rep
}

// adviceFor says what to do about backend k failing with err.
func adviceFor(k backend.Kind, err error) string {
	if h := hintOf(err); h != "" {
		return h
	}
	switch k {
	case backend.KindSecretService:
		if runtime.GOOS != "linux" && !strings.HasSuffix(runtime.GOOS, "bsd") {
			return "the Secret Service exists on Linux and BSD desktops only"
		}
		return "install and start a Secret Service provider (gnome-keyring, or KeePassXC with its Secret Service integration) in your desktop session, and make sure DBUS_SESSION_BUS_ADDRESS reaches it; on a headless host use encrypted_file"
	case backend.KindKeychain:
		return "the keychain exists on macOS only"
	case backend.KindDPAPI:
		return "DPAPI exists on Windows only"
	}
	return ""
}
