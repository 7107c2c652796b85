package reload

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/resolve/tomlref"
	"github.com/palyra/palyra-vault/vault"
)

// TestOnlyTheDaemonsOwnerMayReloadIt checks the rule of "apply --runtime":
// the process that answered on the socket (its kernel-reported peer) must
// run as this user and be the pid the status names, before a SIGHUP goes
// anywhere.
func TestOnlyTheDaemonsOwnerMayReloadIt(t *testing.T) {
	self := uint32(os.Geteuid())
	tests := []struct {
		name string
		st   api.Status
		peer api.Peer
		want string // "" allowed, else a substring of the refusal
	}{
		{"own daemon", api.Status{PID: 42}, api.Peer{UID: self, PID: 42}, ""},
		{"peer pid unknown", api.Status{PID: 42}, api.Peer{UID: self}, ""},
		{"another user's daemon", api.Status{PID: 42}, api.Peer{UID: self + 1, PID: 42}, "only its owner may reload it"},
		{"status names another pid", api.Status{PID: 42}, api.Peer{UID: self, PID: 43}, "but pid 43 answered"},
		{"status names no pid", api.Status{}, api.Peer{UID: self, PID: 43}, "not reloading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOwner(tt.st, tt.peer)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want a refusal containing %q", err, tt.want)
			}
			if tt.name == "another user's daemon" && !errors.Is(err, vault.ErrPermission) {
				t.Fatalf("err = %v, want it to wrap ErrPermission (exit 1, a permission problem)", err)
			}
		})
	}
}

func TestModeOfFollowsTheEffectiveRefreshPolicy(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{`vault://global/k`, ModeRestart},
		{`{ vault_ref = "global/k", refresh = "on_reload" }`, ModeReload},
		{`{ vault_ref = "global/k", refresh = "on_change" }`, ModeReload},
		{`{ vault_ref = "global/k", refresh = "per_use" }`, ModeLive},
		{`{ kind = "vault", vault_ref = "global/k", refresh_policy = "on_change", snapshot_policy = "refresh_per_use" }`, ModeLive},
	}
	for _, tt := range tests {
		r, err := tomlref.Parse(tt.text)
		if err != nil {
			t.Fatalf("%s: %v", tt.text, err)
		}
		if got := ModeOf(r); got != tt.want {
			t.Errorf("ModeOf(%s) = %s, want %s", tt.text, got, tt.want)
		}
	}
}
