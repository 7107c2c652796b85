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

func TestPrintTextShowsFollowingAndStaleReferences(t *testing.T) {
	at := time.Date(2026, 11, 28, 18, 6, 52, 0, time.UTC)
	lost := at.Add(time.Minute)
	tests := []struct {
		name   string
		follow *api.Follow
		refs   []api.RefStatus
		want   []string
	}{
		{
			name:   "lost: stale since, values still ok",
			follow: &api.Follow{State: api.FollowLost, Since: lost, Reason: "etcd 127.0.0.1:2379 unreachable"},
			refs: []api.RefStatus{
				{Path: "a", Fingerprint: "vault#01234567", Refresh: "on_change", Required: true, Status: api.StatusOK, ResolvedAt: at,
					Followed: true, Stale: true, StaleSince: &lost, LastRefresh: &api.RefRefresh{Time: at, Trigger: api.TriggerChange, Result: api.RefreshOK}},
				{Path: "b", Fingerprint: "vault#89abcdef", Refresh: "on_startup", Required: true, Status: api.StatusOK, ResolvedAt: at},
			},
			want: []string{
				"references:   2 (2 ok, 0 missing, 0 failed; 1 on_change, 1 stale)",
				"following:    LOST the vault since 2026-11-28T18:07:52Z (etcd 127.0.0.1:2379 unreachable): held values are served, on_change ones are stale; retrying",
				"PATH  FINGERPRINT     REFRESH     REQUIRED  STATUS  RESOLVED              FOLLOWED  STALE SINCE           LAST REFRESH",
				"a     vault#01234567  on_change   true      ok      2026-11-28T18:06:52Z  yes       2026-11-28T18:07:52Z  2026-11-28T18:06:52Z change: ok",
				"b     vault#89abcdef  on_startup  true      ok      2026-11-28T18:06:52Z  -         -                     -",
			},
		},
		{
			name:   "a local vault: not followed",
			follow: &api.Follow{State: api.FollowNotWatchable, Since: at},
			refs:   []api.RefStatus{{Path: "a", Fingerprint: "vault#01234567", Refresh: "on_change", Required: true, Status: api.StatusOK, ResolvedAt: at}},
			want: []string{
				"following:    not followed: this vault cannot be watched (only a shared vault on etcd can); on_change acts as on_reload",
				"a     vault#01234567  on_change  true      ok      2026-11-28T18:06:52Z  no        -            -",
			},
		},
		{
			name:   "following, a deleted secret",
			follow: &api.Follow{State: api.FollowFollowing, Since: at},
			refs: []api.RefStatus{{Path: "a", Fingerprint: "vault#01234567", Refresh: "on_change", Required: true, Status: api.StatusMissing, ResolvedAt: lost,
				Followed: true, LastRefresh: &api.RefRefresh{Time: lost, Trigger: api.TriggerChange, Result: api.RefreshDeleted}}},
			want: []string{
				"references:   1 (0 ok, 1 missing, 0 failed; 1 on_change, 0 stale)",
				"following:    the vault's changes, since 2026-11-28T18:06:52Z",
				"a     vault#01234567  on_change  true      missing  2026-11-28T18:07:52Z  yes       -            2026-11-28T18:07:52Z change: deleted",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := api.Status{PID: 42, Started: at, Socket: "/s", Config: "/c", Generation: 1, Loaded: at, References: tt.refs, Follow: tt.follow}
			ios, _, out, _ := iostreams.Test()
			if err := printText(ios, st); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w+"\n") {
					t.Fatalf("output lacks line %q:\n%s", w, out)
				}
			}
		})
	}
}
