package reload

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/audit"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Apply modes, Palyra's words: how a change of a reference's secret takes
// effect in the daemon, by its refresh policy (docs/DAEMON.md).
const (
	// ModeRestart: an on_startup value is kept across reloads while its
	// reference is unchanged; a new value in the same place needs a
	// restart.
	ModeRestart = "daemon_restart_required"
	// ModeReload: an on_reload value is resolved again at every reload (an
	// on_change one too, and whenever the shared vault reports a change).
	ModeReload = "live_refresh_supported"
	// ModeLive: a per_use value is resolved at every request.
	ModeLive = "live_reference"
)

// ReloadWait bounds the wait for the daemon to report the reload a SIGHUP
// asked for.
const ReloadWait = 10 * time.Second

// ApplyOptions are the dependencies and flags of "palyra secrets apply".
type ApplyOptions struct {
	IO *iostreams.IOStreams
	// Audit are the audit's options, for the run without --runtime.
	Audit audit.AuditOptions
	// Socket returns the daemon's socket path once flags are parsed.
	Socket func() (string, error)
	// Runtime reloads the running daemon; DryRun only says what that
	// would do.
	Runtime, DryRun bool
	// Strict fails when the audit has blocking findings.
	Strict bool
	// JSON prints Palyra's JSON.
	JSON bool
	// Signal sends SIGHUP to a pid; tests may replace it.
	Signal func(pid int) error
}

// NewCmdApply returns the "apply" command. When runF is not nil it is
// called with the parsed options instead of applyRun.
func NewCmdApply(f *cmdutil.Factory, runF func(*ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{IO: f.IOStreams, Socket: socketOf(f), Signal: sendHangup}
	var offline bool
	cmd := &cobra.Command{
		Use:   "apply [--path FILE] [--offline] [--strict] [--runtime [--dry-run]] [--json]",
		Short: "Audit the references again with how each change takes effect, or reload the daemon",
		Long: `Without --runtime: run the audit of palyra.toml again ("palyra secrets
audit") and say, for its references, how a change of their secrets takes
effect in the daemon, by refresh policy: daemon_restart_required
(on_startup: the value is kept across reloads while the reference is
unchanged), live_refresh_supported (on_reload: resolved again at every
reload), live_reference (per_use: resolved at every request). --json
prints Palyra's {"audit": <summary>, "action_modes": [{"apply_mode",
"affected_components"}]} and our "references" beside. --strict exits 1 on
blocking findings, as audit --strict does. --offline is accepted (the
audit never asks the daemon).

With --runtime: reload the running daemon. The plan ("palyra secrets
plan") is computed, then the daemon is sent SIGHUP, and the command waits
for the daemon to report the reload: "applied", or "rejected" (exit 1) with
its reason, the daemon still serving its previous configuration. Only the
daemon's owner may: the process answering on the socket must run as this
user, and be the pid its status names. --dry-run shows the plan and what
would be done, and sends nothing. --json prints Palyra's
{"contract", "outcome", "message", "plan", "applied_steps",
"skipped_steps"}. --path names the file the plan compares; the daemon
always reloads its own.`,
		Example: `  palyra secrets apply --path ./palyra.toml --json
  palyra secrets apply --runtime --dry-run
  palyra secrets apply --runtime --json`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := shared.ConfigPathFlag(cmd)
			if err != nil {
				return err
			}
			if opts.DryRun && !opts.Runtime {
				return cmdutil.UsageErrorf("--dry-run shows what --runtime would do; give both")
			}
			opts.Audit = audit.AuditOptions{IO: f.IOStreams, Vault: f.Vault, VaultConfig: f.VaultConfig, ConfigPath: path, Offline: offline}
			if runF != nil {
				return runF(opts)
			}
			return applyRun(cmd.Context(), opts)
		},
	}
	shared.AddConfigPathFlags(cmd)
	cmd.Flags().BoolVar(&offline, "offline", false, "accepted for Palyra's command line: the audit never asks the daemon")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "exit 1 when the audit has blocking findings")
	cmd.Flags().BoolVar(&opts.Runtime, "runtime", false, "reload the running daemon (SIGHUP), as its owner")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "with --runtime: show the plan and what would be done, send nothing")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print Palyra's JSON")
	return cmd
}

// modeJSON is Palyra's SecretsApplyMode.
type modeJSON struct {
	ApplyMode          string `json:"apply_mode"`
	AffectedComponents int    `json:"affected_components"`
}

// refModeJSON is one reference with its apply mode (ours).
type refModeJSON struct {
	Path      string `json:"path"`
	Line      int    `json:"line"`
	Component string `json:"component"`
	ApplyMode string `json:"apply_mode"`
}

// auditApplyJSON is Palyra's "secrets apply --json" without --runtime.
type auditApplyJSON struct {
	Audit       audit.Summary `json:"audit"`
	ActionModes []modeJSON    `json:"action_modes"`
	Config      string        `json:"config"`
	References  []refModeJSON `json:"references"`
}

// applyJSON is Palyra's ConfigReloadApplyEnvelope.
type applyJSON struct {
	Contract     shared.ContractJSON `json:"contract"`
	Outcome      string              `json:"outcome"`
	Message      string              `json:"message"`
	Plan         PlanJSON            `json:"plan"`
	AppliedSteps []StepJSON          `json:"applied_steps"`
	SkippedSteps []StepJSON          `json:"skipped_steps"`
}

// ModeOf returns the apply mode of a reference, by its effective refresh.
func ModeOf(r resolve.Ref) string {
	switch r.RefreshPolicy() {
	case resolve.RefreshPerUse:
		return ModeLive
	case resolve.RefreshOnReload, resolve.RefreshOnChange:
		return ModeReload
	}
	return ModeRestart
}

func applyRun(ctx context.Context, opts *ApplyOptions) error {
	if opts.Runtime {
		return runtimeApply(ctx, opts)
	}
	rep, err := audit.Run(ctx, &opts.Audit)
	if err != nil {
		return err
	}
	out := auditApplyJSON{Audit: rep.Summary, Config: rep.Config, ActionModes: []modeJSON{}, References: []refModeJSON{}}
	components := map[string]map[string]bool{}
	for _, f := range rep.Refs {
		mode, comp := ModeOf(f.Ref), shared.Component(f.Path)
		if components[mode] == nil {
			components[mode] = map[string]bool{}
		}
		components[mode][comp] = true
		out.References = append(out.References, refModeJSON{Path: f.Path, Line: f.Line, Component: comp, ApplyMode: mode})
	}
	for _, mode := range []string{ModeRestart, ModeLive, ModeReload} {
		if n := len(components[mode]); n > 0 {
			out.ActionModes = append(out.ActionModes, modeJSON{ApplyMode: mode, AffectedComponents: n})
		}
	}
	slices.SortFunc(out.ActionModes, func(a, b modeJSON) int { return strings.Compare(a.ApplyMode, b.ApplyMode) })
	if opts.JSON {
		err = cmdutil.PrintJSON(opts.IO, out)
	} else {
		err = printModes(opts.IO, out)
	}
	if err != nil {
		return err
	}
	if opts.Strict && rep.Summary.BlockingFindings > 0 {
		return cmdutil.WithHints(fmt.Errorf("%d blocking findings in %s (--strict)", rep.Summary.BlockingFindings, rep.Config),
			`"palyra secrets audit" lists them, each with its fix`)
	}
	return nil
}

func printModes(ios *iostreams.IOStreams, out auditApplyJSON) error {
	var b strings.Builder
	s := out.Audit
	fmt.Fprintf(&b, "%s: %d references, %d resolved; %d blocking, %d warning, %d info findings (palyra secrets audit lists them)\n",
		out.Config, s.TotalReferences, s.ResolvedReferences, s.BlockingFindings, s.WarningFindings, s.InfoFindings)
	for _, r := range out.References {
		fmt.Fprintf(&b, "  %-24s %s (line %d)\n", r.ApplyMode, r.Path, r.Line)
	}
	_, err := fmt.Fprint(ios.Out, b.String())
	return err
}

func runtimeApply(ctx context.Context, opts *ApplyOptions) error {
	st, peer, err := status(ctx, opts.Socket)
	if err != nil {
		return err
	}
	if err := checkOwner(st, peer); err != nil {
		return err
	}
	plan, err := Plan(st, opts.Audit.ConfigPath)
	if err != nil {
		return err
	}
	res := applyJSON{Contract: shared.Contract(), Plan: plan, AppliedSteps: []StepJSON{}, SkippedSteps: []StepJSON{}}
	var failed error
	if opts.DryRun {
		res.Outcome = "dry_run"
		res.Message = fmt.Sprintf("would send SIGHUP to the daemon (pid %d); nothing was sent", st.PID)
		res.SkippedSteps = plan.Steps
	} else {
		last, err := reloadDaemon(ctx, opts, st)
		if err != nil {
			return err
		}
		if last.OK {
			res.Outcome, res.Message, res.AppliedSteps = "applied", fmt.Sprintf("the daemon (pid %d) reloaded its configuration", st.PID), plan.Steps
		} else {
			res.Outcome, res.Message, res.SkippedSteps = "rejected", "the daemon refused the reload and serves its previous configuration: "+last.Error, plan.Steps
			failed = cmdutil.WithHints(fmt.Errorf("the daemon (pid %d) refused the reload", st.PID),
				`"palyra daemon status" shows why; "palyra secrets audit" checks the file`)
		}
	}
	if opts.JSON {
		err = cmdutil.PrintJSON(opts.IO, res)
	} else {
		_, err = fmt.Fprintf(opts.IO.Out, "%s: %s\n%s", res.Outcome, res.Message, planText(plan))
	}
	if err != nil {
		return err
	}
	return failed
}

// checkOwner refuses to signal a daemon that is not the caller's: the
// process that answered must run as this user and be the pid its status
// names.
func checkOwner(st api.Status, peer api.Peer) error {
	self := os.Geteuid()
	switch {
	case int64(peer.UID) != int64(self):
		return fmt.Errorf("%w: the daemon (pid %d) runs as uid %d, not as this user (uid %d): only its owner may reload it", vault.ErrPermission, st.PID, peer.UID, self)
	case st.PID <= 0 || (peer.PID > 0 && int(peer.PID) != st.PID):
		return fmt.Errorf("the daemon's status names pid %d, but pid %d answered on its socket: not reloading", st.PID, peer.PID)
	}
	return nil
}

// reloadDaemon sends SIGHUP and waits for the daemon's status to report
// the reload attempt it caused.
func reloadDaemon(ctx context.Context, opts *ApplyOptions, before api.Status) (api.Reload, error) {
	var attempts uint64
	if before.LastReload != nil {
		attempts = before.LastReload.Attempts
	}
	if err := opts.Signal(before.PID); err != nil {
		return api.Reload{}, fmt.Errorf("sending SIGHUP to the daemon (pid %d): %w", before.PID, err)
	}
	deadline := time.Now().Add(ReloadWait)
	for {
		st, _, err := status(ctx, opts.Socket)
		if err == nil && st.LastReload != nil && st.LastReload.Attempts > attempts {
			return *st.LastReload, nil
		}
		if time.Now().After(deadline) {
			return api.Reload{}, cmdutil.WithHints(fmt.Errorf("the daemon (pid %d) did not report the reload within %s", before.PID, ReloadWait),
				`"palyra daemon status" shows its last reload`)
		}
		select {
		case <-ctx.Done():
			return api.Reload{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
