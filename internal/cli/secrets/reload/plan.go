// Package reload implements "palyra secrets plan" and "palyra secrets
// apply": what a reload of the running daemon would change, reference by
// reference, and applying it (SIGHUP), in the JSON of Palyra's control
// plane (ConfigReloadPlanEnvelope, ConfigReloadApplyEnvelope).
package reload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/spf13/cobra"
)

// Timeout bounds each request to the daemon.
const Timeout = 10 * time.Second

// Step categories, Palyra's words. This daemon applies every valid
// reference change at a reload (docs/DAEMON.md, "Signals"): hot_safe. A
// broken reference makes the daemon refuse the reload: manual_review.
const (
	HotSafe      = "hot_safe"
	ManualReview = "manual_review"
)

// PlanOptions are the dependencies and flags of "palyra secrets plan".
type PlanOptions struct {
	IO *iostreams.IOStreams
	// Socket returns the daemon's socket path once flags are parsed.
	Socket func() (string, error)
	// ConfigPath is --path (--config); "" means the file the daemon
	// serves.
	ConfigPath string
	// JSON prints Palyra's ConfigReloadPlanEnvelope.
	JSON bool
}

// NewCmdPlan returns the "plan" command. When runF is not nil it is called
// with the parsed options instead of planRun.
func NewCmdPlan(f *cmdutil.Factory, runF func(*PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{IO: f.IOStreams, Socket: socketOf(f)}
	cmd := &cobra.Command{
		Use:   "plan [--path FILE] [--json]",
		Short: "Show what a reload of the running daemon would change, reference by reference",
		Long: `Compare the references the running palyra daemon serves (its status) with
those of the configuration file (--path, else the file the daemon serves)
and list, reference by reference, what a reload (SIGHUP, or "palyra
secrets apply --runtime") would change: a reference added, removed, or
changed (its source or policy, shown by fingerprints only). A broken
reference makes the daemon refuse the reload and keep what it serves; it
is listed for manual review. Nothing is changed.

--json prints Palyra's reload plan: {"contract", "plan_id",
"source_path", "generated_at_unix_ms", "active_runs", "requires_restart",
"hot_safe_applicable", "summary", "steps": [{"component", "config_path",
"category", "reason", "impact", "redacted_diff"}]}. The command fails
(exit 1) when no daemon runs.`,
		Example: `  palyra secrets plan
  palyra secrets plan --path ./palyra.toml --json`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.ConfigPath, err = shared.ConfigPathFlag(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return planRun(cmd.Context(), opts)
		},
	}
	shared.AddConfigPathFlags(cmd)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print Palyra's reload plan as JSON")
	return cmd
}

func socketOf(f *cmdutil.Factory) func() (string, error) {
	return func() (string, error) { return api.SocketPath("", f.VaultConfig.StateRoot) }
}

// StepJSON is Palyra's ConfigReloadPlanStep.
type StepJSON struct {
	Component    string `json:"component"`
	ConfigPath   string `json:"config_path"`
	Category     string `json:"category"`
	Reason       string `json:"reason"`
	Impact       string `json:"impact,omitempty"`
	RedactedDiff string `json:"redacted_diff,omitempty"`
}

// SummaryJSON is Palyra's ConfigReloadPlanSummary.
type SummaryJSON struct {
	HotSafe                int `json:"hot_safe"`
	RestartRequired        int `json:"restart_required"`
	BlockedWhileRunsActive int `json:"blocked_while_runs_active"`
	ManualReview           int `json:"manual_review"`
}

// PlanJSON is Palyra's ConfigReloadPlanEnvelope, with the daemon's pid
// and configuration generation beside.
type PlanJSON struct {
	Contract          shared.ContractJSON `json:"contract"`
	PlanID            string              `json:"plan_id"`
	SourcePath        string              `json:"source_path"`
	GeneratedAtMS     int64               `json:"generated_at_unix_ms"`
	ActiveRuns        int                 `json:"active_runs"`
	RequiresRestart   bool                `json:"requires_restart"`
	HotSafeApplicable bool                `json:"hot_safe_applicable"`
	Summary           SummaryJSON         `json:"summary"`
	Steps             []StepJSON          `json:"steps"`

	DaemonPID        int    `json:"daemon_pid"`
	DaemonGeneration uint64 `json:"daemon_generation"`
}

// status asks the daemon for its status and who answered.
func status(ctx context.Context, socket func() (string, error)) (api.Status, api.Peer, error) {
	path, err := socket()
	if err != nil {
		return api.Status{}, api.Peer{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	st, peer, err := api.NewClient(path).StatusPeer(ctx)
	if errors.Is(err, api.ErrNotRunning) {
		return st, peer, cmdutil.WithHints(fmt.Errorf("no palyra daemon is running: %w", err),
			`start it with "palyra daemon"; "palyra secrets audit" checks a configuration without one`)
	}
	return st, peer, err
}

// Plan compares what the daemon serves (st) with the configuration file
// at path ("" for the daemon's own) and returns the steps a reload takes.
func Plan(st api.Status, path string) (PlanJSON, error) {
	if path == "" {
		path = st.Config
	}
	doc, err := shared.LoadConfig(path)
	if err != nil {
		return PlanJSON{}, err
	}
	found, refErr := config.References(doc)
	served := map[string]api.RefStatus{}
	for _, r := range st.References {
		served[r.Path] = r
	}
	var steps []StepJSON
	step := func(path, category, reason, diff string) {
		cp := path
		steps = append(steps, StepJSON{Component: shared.Component(cp), ConfigPath: cp, Category: category, Reason: reason,
			Impact: impact(category), RedactedDiff: diff})
	}
	inFile := map[string]bool{}
	for _, f := range found {
		inFile[f.Path] = true
		now := describe(f.Ref.String(), f.Ref.Required(), string(f.Ref.RefreshPolicy()))
		old, ok := served[f.Path]
		switch {
		case !ok:
			step(f.Path, HotSafe, "reference added: the reload resolves it", "+ "+now)
		default:
			was := describe(old.Fingerprint, old.Required, old.Refresh)
			if was != now {
				step(f.Path, HotSafe, "reference changed: the reload resolves it anew and wipes the old value", was+" -> "+now)
			}
		}
	}
	for _, re := range config.RefErrors(refErr) {
		inFile[re.Path] = true
		step(re.Path, ManualReview, "broken reference: the daemon would refuse the reload and keep what it serves ("+re.Rule()+")", "")
	}
	for _, r := range st.References {
		if !inFile[r.Path] {
			step(r.Path, HotSafe, "reference removed: the reload wipes its value", "- "+describe(r.Fingerprint, r.Required, r.Refresh))
		}
	}
	slices.SortStableFunc(steps, func(a, b StepJSON) int { return strings.Compare(a.ConfigPath, b.ConfigPath) })
	p := PlanJSON{
		Contract: shared.Contract(), SourcePath: doc.Path(), GeneratedAtMS: time.Now().UnixMilli(),
		Steps: steps, DaemonPID: st.PID, DaemonGeneration: st.Generation,
	}
	if p.Steps == nil {
		p.Steps = []StepJSON{}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%d\x00%s\x00", st.PID, st.Generation, doc.Path())
	for _, s := range steps {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", s.ConfigPath, s.Category, s.RedactedDiff)
		switch s.Category {
		case HotSafe:
			p.Summary.HotSafe++
		case ManualReview:
			p.Summary.ManualReview++
		}
	}
	p.PlanID = "plan-" + hex.EncodeToString(h.Sum(nil))[:16]
	p.HotSafeApplicable = p.Summary.ManualReview == 0
	return p, nil
}

// describe is a reference's redacted description in a plan: its
// fingerprint and the policy a reload compares.
func describe(fingerprint string, required bool, refresh string) string {
	req := "required"
	if !required {
		req = "optional"
	}
	if refresh == "" {
		refresh = string(resolve.RefreshOnStartup)
	}
	return fingerprint + " (" + req + ", " + refresh + ")"
}

func impact(category string) string {
	if category == ManualReview {
		return "the reload is refused until this is fixed"
	}
	return "applied by a reload, no restart"
}

func planRun(ctx context.Context, opts *PlanOptions) error {
	st, _, err := status(ctx, opts.Socket)
	if err != nil {
		return err
	}
	p, err := Plan(st, opts.ConfigPath)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, p)
	}
	_, err = fmt.Fprint(opts.IO.Out, planText(p))
	return err
}

// planText is the plan for people: a summary line, then one line per step.
func planText(p PlanJSON) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reload plan %s: daemon pid %d (configuration %d), %s: %d hot-safe, %d for manual review\n",
		p.PlanID, p.DaemonPID, p.DaemonGeneration, p.SourcePath, p.Summary.HotSafe, p.Summary.ManualReview)
	if len(p.Steps) == 0 {
		b.WriteString("nothing to change: the daemon serves these references already\n")
	}
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "  %-13s %s: %s", s.Category, s.ConfigPath, s.Reason)
		if s.RedactedDiff != "" {
			fmt.Fprintf(&b, " [%s]", s.RedactedDiff)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
