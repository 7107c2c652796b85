package shared

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/resolve"
)

// The JSON of Palyra's control plane (crates/palyra-control-plane,
// models.rs and contract.rs) that inventory, explain, plan and apply print
// as Palyra does. Field names and order follow Palyra's types; none holds a
// value.

// ContractVersion is Palyra's CONTROL_PLANE_CONTRACT_VERSION.
const ContractVersion = "control-plane.v1"

// ContractJSON is Palyra's ContractDescriptor.
type ContractJSON struct {
	ContractVersion string `json:"contract_version"`
}

// Contract returns the descriptor every envelope starts with.
func Contract() ContractJSON { return ContractJSON{ContractVersion: ContractVersion} }

// PageJSON is Palyra's PageInfo: one page holding everything.
type PageJSON struct {
	Limit    int  `json:"limit"`
	Returned int  `json:"returned"`
	HasMore  bool `json:"has_more"`
}

// SourceViewJSON is Palyra's ConfiguredSecretSourceView: the reference's
// policy and a description of its source, redacted.
type SourceViewJSON struct {
	Kind              string `json:"kind"`
	Fingerprint       string `json:"fingerprint"`
	Required          bool   `json:"required"`
	RefreshPolicy     string `json:"refresh_policy"`
	SnapshotPolicy    string `json:"snapshot_policy"`
	Description       string `json:"description"`
	DisplayName       string `json:"display_name,omitempty"`
	RedactionLabel    string `json:"redaction_label,omitempty"`
	MaxBytes          int    `json:"max_bytes,omitempty"`
	ExecTimeoutMS     int64  `json:"exec_timeout_ms,omitempty"`
	TrustedDirCount   *int   `json:"trusted_dir_count,omitempty"`
	InheritedEnvCount *int   `json:"inherited_env_count,omitempty"`
	AllowSymlinks     *bool  `json:"allow_symlinks,omitempty"`
}

// ConfiguredSecretJSON is Palyra's ConfiguredSecretRecord: one reference
// of the configuration. SecretID is "<config path>:<fingerprint>", the id
// "palyra secrets explain" takes.
type ConfiguredSecretJSON struct {
	SecretID           string         `json:"secret_id"`
	Component          string         `json:"component"`
	ConfigPath         string         `json:"config_path"`
	Status             string         `json:"status"`
	ResolutionScope    string         `json:"resolution_scope"`
	ReloadAction       string         `json:"reload_action"`
	SnapshotGeneration uint64         `json:"snapshot_generation"`
	Source             SourceViewJSON `json:"source"`
	AffectedComponents []string       `json:"affected_components"`
	LastResolvedAtMS   int64          `json:"last_resolved_at_unix_ms,omitempty"`
	LastErrorKind      string         `json:"last_error_kind,omitempty"`
	LastError          string         `json:"last_error,omitempty"`

	// Ours: the field in the file and its line.
	Field string `json:"field"`
	Line  int    `json:"line"`
}

// Configured-secret statuses, Palyra's words.
const (
	StatusHealthy   = "healthy"
	StatusMissing   = "missing"
	StatusBlocked   = "blocked"
	StatusFailed    = "failed"
	StatusUnchecked = "unchecked" // ours: an exec reference that was not run
)

// Component returns the component Palyra names for a configuration path:
// its first key ("model_provider", "tool_call"), "browser_service" and
// "admin_auth" as Palyra's daemon names them.
func Component(path string) string {
	switch {
	case strings.HasPrefix(path, "tool_call.browser_service."):
		return "browser_service"
	case strings.HasPrefix(path, "admin."):
		return "admin_auth"
	case strings.HasPrefix(path, "model_provider.registry."), strings.HasPrefix(path, "model_provider.providers"):
		return "model_provider_registry"
	}
	if i := strings.IndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return path
}

// ReloadAction returns what a change of the reference at path takes,
// Palyra's reload_action_for_secret_path.
func ReloadAction(path string) string {
	switch {
	case strings.HasPrefix(path, "model_provider."):
		return "blocked_while_runs_active"
	case strings.HasPrefix(path, "tool_call.browser_service."), strings.HasPrefix(path, "admin."):
		return "restart_required"
	}
	return "manual_review"
}

// SecretID returns Palyra's configured-secret id of a reference found in
// the configuration: "<config path>:<fingerprint>".
func SecretID(f config.Found) string {
	return resolve.PalyraConfigPath(f.Path, f.Setting) + ":" + f.Ref.PalyraFingerprint()
}

// ConfiguredSecret describes a reference found in the configuration as
// Palyra's ConfiguredSecretRecord, with the status and error kind given
// (the error's text is the redacted one resolve and the daemon give).
func ConfiguredSecret(f config.Found, status string, resolvedAt time.Time, errKind, errText string, generation uint64) ConfiguredSecretJSON {
	path := resolve.PalyraConfigPath(f.Path, f.Setting)
	comp := Component(path)
	rec := ConfiguredSecretJSON{
		SecretID:           SecretID(f),
		Component:          comp,
		ConfigPath:         path,
		Status:             status,
		ResolutionScope:    "startup",
		ReloadAction:       ReloadAction(path),
		SnapshotGeneration: generation,
		Source:             sourceView(f.Ref),
		AffectedComponents: []string{comp},
		LastErrorKind:      errKind,
		LastError:          errText,
		Field:              f.Path,
		Line:               f.Line,
	}
	if !resolvedAt.IsZero() {
		rec.LastResolvedAtMS = resolvedAt.UnixMilli()
	}
	return rec
}

func sourceView(r resolve.Ref) SourceViewJSON {
	refresh, snapshot := string(r.Refresh), string(r.SnapshotPolicy())
	if refresh == "" {
		refresh = string(resolve.RefreshOnStartup)
	}
	v := SourceViewJSON{
		Kind: string(r.Source), Fingerprint: r.PalyraFingerprint(), Required: r.Required(),
		RefreshPolicy: refresh, SnapshotPolicy: snapshot,
		DisplayName: r.DisplayName, RedactionLabel: r.RedactionLabel, MaxBytes: r.Limit(),
	}
	switch r.Source {
	case resolve.SourceVault:
		v.Description = "vault reference"
	case resolve.SourceEnv:
		v.Description = "environment variable"
	case resolve.SourceFile:
		n, s := len(r.TrustedDirs), r.AllowSymlinks
		v.Description, v.TrustedDirCount, v.AllowSymlinks = "file-backed secret", &n, &s
	case resolve.SourceExec:
		n := len(r.PassEnv)
		v.Description = "exec-backed secret (argv=" + strconv.Itoa(len(r.Exec)) + ")"
		v.InheritedEnvCount, v.ExecTimeoutMS = &n, r.CommandTimeout().Milliseconds()
	}
	return v
}

// ResolveStatus returns Palyra's status and error kind for the outcome of
// resolving a reference: healthy, or missing, blocked or failed with the
// kind of failure.
func ResolveStatus(err error) (status, kind string) {
	switch {
	case err == nil:
		return StatusHealthy, ""
	case errors.Is(err, resolve.ErrMissing):
		return StatusMissing, resolve.KindOf(err).String()
	case errors.Is(err, resolve.ErrBlocked):
		return StatusBlocked, resolve.KindOf(err).String()
	}
	return StatusFailed, resolve.KindOf(err).String()
}
