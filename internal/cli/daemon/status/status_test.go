package status

import (
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/iostreams"
)

func TestPrintTextShowsEveryReferenceAndTheRefusedReload(t *testing.T) {
	at := time.Date(2026, 11, 28, 18, 6, 52, 0, time.UTC)
	st := api.Status{
		PID: 42, Started: at, Socket: "/s/daemon.sock", Config: "/c/palyra.toml", Generation: 3, Loaded: at,
		LastReload: &api.Reload{Time: at, OK: false, Error: "1 required reference in /c/palyra.toml did not resolve:\na (line 1): vault#01234567: missing: the secret is not in the vault", Attempts: 3},
		References: []api.RefStatus{
			{Path: "a_vault_ref", Fingerprint: "vault#01234567", Refresh: "on_startup", Required: true, Status: api.StatusOK, ResolvedAt: at},
			{Path: "b", Fingerprint: "env#89abcdef", Refresh: "per_use", Status: api.StatusMissing},
		},
	}
	ios, _, out, _ := iostreams.Test()
	if err := printText(ios, st); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"daemon:       running, pid 42, since 2026-11-28T18:06:52Z",
		"config:       /c/palyra.toml (generation 3, loaded 2026-11-28T18:06:52Z)",
		"last reload:  refused at 2026-11-28T18:06:52Z, previous configuration kept: 1 required reference in /c/palyra.toml did not resolve:",
		"references:   2 (1 ok, 1 missing, 0 failed)",
		"a_vault_ref  vault#01234567  on_startup  true      ok       2026-11-28T18:06:52Z",
		"b            env#89abcdef    per_use     false     missing  -",
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w+"\n") {
			t.Fatalf("output lacks line %q:\n%s", w, out)
		}
	}
}
