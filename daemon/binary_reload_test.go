//go:build linux

package daemon_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
)

// TestDaemonBinaryPlanAndApplyRuntime runs Palyra's "secrets plan" and
// "secrets apply --runtime" against the real daemon binary: the plan is
// empty while the file matches what the daemon serves and names the
// changed reference after an edit; --dry-run sends nothing; apply reloads
// the daemon, which then serves the new reference; a file the daemon
// refuses comes back as "rejected" (exit 1) and the daemon keeps serving
// its previous configuration.
func TestDaemonBinaryPlanAndApplyRuntime(t *testing.T) {
	s := newSite(t, fixture.Secrets(), fixture.Config)
	p := s.start()
	palyra := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(palyraBin, append([]string{"secrets"}, args...)...)
		cmd.Env = s.env()
		out, err := cmd.Output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if ee != nil {
			t.Logf("palyra secrets %s: stderr:\n%s", strings.Join(args, " "), ee.Stderr)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	type plan struct {
		PlanID    string `json:"plan_id"`
		DaemonPID int    `json:"daemon_pid"`
		Summary   struct {
			HotSafe int `json:"hot_safe"`
		} `json:"summary"`
		Steps []struct {
			ConfigPath string `json:"config_path"`
			Category   string `json:"category"`
		} `json:"steps"`
	}
	planOf := func() plan {
		t.Helper()
		out, code := palyra("plan", "--path", s.Config, "--json")
		var pl plan
		if code != 0 || json.Unmarshal([]byte(out), &pl) != nil {
			t.Fatalf("plan: exit %d\n%s", code, out)
		}
		if pl.DaemonPID != p.cmd.Process.Pid {
			t.Fatalf("plan names daemon pid %d, want %d", pl.DaemonPID, p.cmd.Process.Pid)
		}
		return pl
	}
	if pl := planOf(); len(pl.Steps) != 0 {
		t.Fatalf("plan of the file the daemon serves has steps: %+v", pl.Steps)
	}

	edited := fixture.Config + "\n[extra]\nnew_key_vault_ref = \"global/other\"\n"
	if err := os.WriteFile(s.Config, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	pl := planOf()
	if len(pl.Steps) != 1 || pl.Steps[0].ConfigPath != "extra.new_key_vault_ref" {
		t.Fatalf("plan after adding extra.new_key_vault_ref: %+v", pl.Steps)
	}

	type applied struct {
		Outcome string `json:"outcome"`
		Plan    plan   `json:"plan"`
	}
	applyJSON := func(args ...string) (applied, string, int) {
		t.Helper()
		out, code := palyra(append([]string{"apply", "--path", s.Config, "--runtime", "--json"}, args...)...)
		var a applied
		json.Unmarshal([]byte(out), &a)
		return a, out, code
	}
	if a, out, code := applyJSON("--dry-run"); code != 0 || a.Outcome != "dry_run" || len(a.Plan.Steps) != 1 {
		t.Fatalf("apply --runtime --dry-run: exit %d\n%s", code, out)
	}
	if g := p.status().Generation; g != 1 {
		t.Fatalf("after a dry run the daemon is at generation %d, want 1 (nothing sent)", g)
	}
	if a, out, code := applyJSON(); code != 0 || a.Outcome != "applied" {
		t.Fatalf("apply --runtime: exit %d\n%s", code, out)
	}
	if g := p.status().Generation; g != 2 {
		t.Fatalf("after apply the daemon is at generation %d, want 2", g)
	}
	if got := p.mustResolve(api.ResolveRequest{Path: "extra.new_key_vault_ref"}); got != "other-1" {
		t.Fatalf("the reloaded daemon serves %q for the new reference", got)
	}
	if pl := planOf(); len(pl.Steps) != 0 {
		t.Fatalf("plan after apply has steps: %+v", pl.Steps)
	}

	broken := edited + "required_env = { env = \"PALYRA_TEST_SURELY_UNSET\" }\n"
	if err := os.WriteFile(s.Config, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	a, out, code := applyJSON()
	if code != 1 || a.Outcome != "rejected" || !strings.Contains(out, "extra.required_env") {
		t.Fatalf("apply --runtime of a file the daemon refuses: exit %d\n%s", code, out)
	}
	if got := p.mustResolve(api.ResolveRequest{Path: "extra.new_key_vault_ref"}); got != "other-1" || p.status().Generation != 2 {
		t.Fatal("after a refused reload the daemon does not serve its previous configuration")
	}
	for _, v := range fixture.Secrets() {
		if strings.Contains(out, v) {
			t.Fatalf("apply's output shows the value %q", v)
		}
	}
}
