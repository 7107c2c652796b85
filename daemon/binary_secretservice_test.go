//go:build linux

package daemon_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/internal/testutil/keyringproc"
	"github.com/palyra/palyra-vault/vault"
)

// TestDaemonBinarySecretServiceSurvivesKeyringRestart runs "palyra daemon"
// on a vault in the linux_secret_service backend, on a private bus and
// gnome-keyring of its own (not the one scripts/secret-service-run.sh may
// give the whole suite, which other packages' tests use meanwhile), and
// restarts the real gnome-keyring-daemon under it: per_use references go
// on resolving, with no restart of the palyra daemon; while no keyring runs
// a request fails with 503 unavailable, and the next one after the keyring
// is back works.
func TestDaemonBinarySecretServiceSurvivesKeyringRestart(t *testing.T) {
	if buildError != nil {
		t.Fatal(buildError)
	}
	k, err := keyringproc.Start("palyra-daemon-test")
	if err != nil {
		testutil.SkipOrFailInCI(t, err.Error())
	}
	t.Cleanup(k.Stop)

	root := fixture.ShortTempDir(t)
	v, err := vault.Open(context.Background(), vault.Config{StateRoot: root, Backend: "linux_secret_service", SessionBus: k.Addr})
	if err != nil {
		t.Fatalf("opening a vault on the Secret Service: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	f := &fixture.Fixture{T: t, Root: root, Config: filepath.Join(root, "palyra.toml"), Vault: v}
	for ref, val := range fixture.Secrets() {
		f.Put(ref, val)
	}
	f.WriteConfig(fixture.Config)
	s := &site{Fixture: f, extraEnv: []string{
		"PALYRA_VAULT_BACKEND=linux_secret_service",
		"DBUS_SESSION_BUS_ADDRESS=" + k.Addr,
	}}
	p := s.start()
	per := api.ResolveRequest{Path: "tool.per"}
	if got := p.mustResolve(per); got != "xoxb-1" {
		t.Fatalf("per_use value %q, want xoxb-1", got)
	}

	if err := k.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := p.mustResolve(per); got != "xoxb-1" {
		t.Fatalf("per_use value after the keyring restarted: %q, want xoxb-1", got)
	}
	f.Put("vault://channel:slack/token", "xoxb-2") // the fixture's own Store reconnects too
	if got := p.mustResolve(per); got != "xoxb-2" {
		t.Fatalf("per_use value after a Put: %q, want xoxb-2", got)
	}

	if err := k.Kill(); err != nil {
		t.Fatal(err)
	}
	_, err = p.resolve(per)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != api.CodeUnavailable {
		t.Fatalf("resolving with no keyring running: %v; want 503 %s", err, api.CodeUnavailable)
	}
	if err := k.StartDaemon(); err != nil {
		t.Fatal(err)
	}
	if got := p.mustResolve(per); got != "xoxb-2" {
		t.Fatalf("per_use value once the keyring is back: %q, want xoxb-2", got)
	}
}
