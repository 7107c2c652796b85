// Package explain implements "palyra secrets explain": for one reference,
// say where palyra.toml uses it, whether it resolves, and what is known
// about its source (a vault secret's metadata, a file's size and mode),
// never its value.
package explain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/resolve/tomlref"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/spf13/cobra"
)

// ExplainOptions are the dependencies and flags of "palyra secrets
// explain".
type ExplainOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// Rust opens the Rust Palyra vault to read instead, or returns nil
	// (cmdutil.Factory.RustVault); nil means none.
	Rust func(context.Context, bool) (*palyrars.Vault, error)
	// VaultConfig says which vault; it is never created.
	VaultConfig vault.Config

	// Ref is the reference to explain, unless Path is set.
	Ref resolve.Ref
	// Path is the dotted path (or the setting) of a reference in the
	// configuration, when the argument was not a reference itself; RefErr
	// is why it was not, reported when the configuration has no such path.
	Path   string
	RefErr error
	// SecretID is set when the argument was Palyra's configured-secret id
	// "<config path>:<fingerprint>" (then Path is its path): the reference
	// at Path must have that fingerprint.
	SecretID string
	// ConfigPath is --config; "" means $PALYRA_CONFIG, else the default.
	ConfigPath string
	// TrustedDirs are the directories a file reference may read from.
	TrustedDirs []string
	// Exec runs an exec reference's command to check it.
	Exec bool
	// JSON prints the explanation as JSON.
	JSON bool
}

// NewCmdExplain returns the "explain" command. When runF is not nil it is
// called with the parsed options instead of explainRun, so tests can check
// parsing.
func NewCmdExplain(f *cmdutil.Factory, runF func(*ExplainOptions) error) *cobra.Command {
	opts := &ExplainOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "explain (<ref> | <scope> <key> | <scope>/<key> | <secret id> | <setting path>)",
		Short: "Show where a reference is used, whether it resolves, and its metadata",
		Long: `Explain one secret reference: its canonical form and fingerprint (the
"vault#1a2b3c4d" that errors and logs name it by), its policy, the settings
of palyra.toml that use it (by dotted path and line), whether it resolves
now, and what is known about its source: for a vault secret its size and
creation and update times, for a file its size, mode and modification time.
The value itself is never shown; resolving it to check is done in memory
and wiped.

The reference is any string form (docs/REFERENCES.md): vault://<scope>/<key>
(or <scope> <key>), env:<NAME>, file:<path>, or a TOML inline table (with
kind = …, Palyra's SecretRef form). It may also be the dotted path of a
reference in palyra.toml, or of the setting it supplies
(model_provider.openai_api_key_secret_ref, model_provider.openai_api_key):
that is how a standard [table] reference is explained. Palyra's forms work
too: a bare <scope>/<key>, and Palyra's configured-secret id
"<config path>:<fingerprint>" (model_provider.openai_api_key_secret_ref:
followed by 16 hex digits; "palyra secrets inventory" lists them). The
command of an exec reference runs only with --exec. No vault is created.

--json adds Palyra's fields to ours: for a vault secret those of its
"vault_secret" explanation (kind, reference, scope, key, status, backend,
created_at_unix_ms, updated_at_unix_ms, configured,
configured_references); for a configured-secret id its envelope
(contract, generated_at_unix_ms, snapshot_generation, and "secret", the
configured record; the vault secret's metadata is then "vault_secret").

The exit status is 0 whenever the explanation could be given, whether or
not the reference resolves; scripts read "resolves" from --json.`,
		Example: `  palyra secrets explain vault://global/openai_api_key
  palyra secrets explain global openai_api_key --config ./palyra.toml
  palyra secrets explain global/openai_api_key --path ./palyra.toml --json
  palyra secrets explain env:GITHUB_TOKEN --json
  palyra secrets explain admin.auth_token --config ./palyra.toml
  palyra secrets explain '{ exec = ["pass", "show", "openai"] }' --exec`,
		Args: func(cmd *cobra.Command, args []string) error {
			if n := len(args); n < 1 || n > 2 {
				return cmdutil.UsageErrorf("expected one reference, or <scope> <key>; got %d arguments", n)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseArgs(args)
			if err != nil && len(args) == 1 {
				if path, id, ok := splitSecretID(args[0]); ok {
					opts.Path, opts.SecretID, opts.RefErr, err = path, id, err, nil
				} else if looksLikePath(args[0]) {
					opts.Path, opts.RefErr, err = args[0], err, nil
				}
			}
			if err != nil {
				return err
			}
			if opts.ConfigPath, err = shared.ConfigPathFlag(cmd); err != nil {
				return err
			}
			if err := shared.CheckTrustedDirs(opts.TrustedDirs); err != nil {
				return err
			}
			opts.Ref = ref
			opts.Vault, opts.Rust = f.Vault, f.RustVault
			opts.VaultConfig = f.VaultConfig
			if runF != nil {
				return runF(opts)
			}
			return explainRun(cmd.Context(), opts)
		},
	}
	shared.AddConfigPathFlags(cmd)
	cmd.Flags().StringArrayVar(&opts.TrustedDirs, "trusted-dir", nil, "a `DIR` that a file reference may read from (repeatable)")
	cmd.Flags().BoolVar(&opts.Exec, "exec", false, "run an exec reference's command to check that it resolves")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the explanation as JSON")
	return cmd
}

func parseArgs(args []string) (resolve.Ref, error) {
	if len(args) == 2 {
		r, err := cmdutil.ParseRefArgs(args)
		if err != nil {
			return resolve.Ref{}, err
		}
		return resolve.VaultRef(r), nil
	}
	ref, err := tomlref.Parse(args[0])
	if err != nil && !strings.Contains(args[0], "://") && strings.Contains(args[0], "/") {
		// Palyra's bare <scope>/<key>.
		if r, berr := secret.ParseRef(secret.RefPrefix + args[0]); berr == nil {
			return resolve.VaultRef(r), nil
		}
	}
	if err != nil {
		err = &cmdutil.UsageError{Err: err}
		if !strings.Contains(args[0], ":") && strings.Contains(args[0], "/") {
			return resolve.Ref{}, cmdutil.WithHints(err, `on the command line a vault reference is vault://<scope>/<key>, or <scope> <key> as two arguments`)
		}
		return resolve.Ref{}, err
	}
	return ref, nil
}

// usedJSON is one setting that uses the reference.
type usedJSON struct {
	Path    string `json:"path"`
	Setting string `json:"setting"`
	Line    int    `json:"line"`
}

// policyJSON is the reference's effective policy.
type policyJSON struct {
	Required      bool     `json:"required"`
	MaxBytes      int      `json:"max_bytes"`
	Refresh       string   `json:"refresh"`
	TrimNewline   *bool    `json:"trim_newline,omitempty"`
	TrustedDirs   []string `json:"trusted_dirs,omitempty"`
	AllowSymlinks bool     `json:"allow_symlinks,omitempty"`
	TimeoutMS     int64    `json:"timeout_ms,omitempty"`
	PassEnv       []string `json:"pass_env,omitempty"`
	Dir           string   `json:"dir,omitempty"`
	// The *_secret_ref form's own fields: the form ("secret_ref"; absent
	// for the inline form), the policies as
	// written (Refresh above is the effective one), its labels, and the
	// variables its command gets (Palyra's inherited set, then
	// inherited_env).
	Form           string   `json:"form,omitempty"`
	RefreshPolicy  string   `json:"refresh_policy,omitempty"`
	SnapshotPolicy string   `json:"snapshot_policy,omitempty"`
	DisplayName    string   `json:"display_name,omitempty"`
	RedactionLabel string   `json:"redaction_label,omitempty"`
	CommandEnv     []string `json:"command_env,omitempty"`
}

// fileJSON is what is known about a file reference's file.
type fileJSON struct {
	Path     string     `json:"path"`
	Exists   bool       `json:"exists"`
	Size     int64      `json:"size,omitempty"`
	Mode     string     `json:"mode,omitempty"`
	Modified *time.Time `json:"modified,omitempty"`
	Symlink  bool       `json:"symlink,omitempty"`
}

// explainJSON is the JSON form of an explanation. It never holds the value.
type explainJSON struct {
	Ref         string     `json:"ref"`
	Source      string     `json:"source"`
	Fingerprint string     `json:"fingerprint"`
	Policy      policyJSON `json:"policy"`
	Config      string     `json:"config"`
	ConfigFound bool       `json:"config_found"`
	UsedBy      []usedJSON `json:"used_by"`
	// Resolves is null when it was not checked (an exec reference without
	// --exec).
	Resolves *bool  `json:"resolves"`
	Size     int    `json:"size,omitempty"`
	Error    string `json:"error,omitempty"`
	// Secret is a vault secret's metadata; File a file's.
	Secret *shared.SecretJSON `json:"secret,omitempty"`
	File   *fileJSON          `json:"file,omitempty"`
	// Note explains a missing check or source.
	Note string `json:"note,omitempty"`

	// Palyra's vault_secret explanation, for a vault secret that is stored.
	Kind                 string          `json:"kind,omitempty"`
	Reference            string          `json:"reference,omitempty"`
	Scope                string          `json:"scope,omitempty"`
	Key                  string          `json:"key,omitempty"`
	Status               string          `json:"status,omitempty"`
	Backend              string          `json:"backend,omitempty"`
	CreatedAtMS          int64           `json:"created_at_unix_ms,omitempty"`
	UpdatedAtMS          int64           `json:"updated_at_unix_ms,omitempty"`
	IsConfigured         *bool           `json:"configured,omitempty"`
	ConfiguredReferences []configuredRef `json:"configured_references,omitempty"`

	// Palyra's ConfiguredSecretEnvelope, for a configured-secret id: then
	// "secret" is the configured record, and the vault secret's metadata
	// moves to "vault_secret".
	Contract      *shared.ContractJSON         `json:"contract,omitempty"`
	GeneratedAtMS int64                        `json:"generated_at_unix_ms,omitempty"`
	Generation    *uint64                      `json:"snapshot_generation,omitempty"`
	Configured    *shared.ConfiguredSecretJSON `json:"-"`
	VaultSecret   *shared.SecretJSON           `json:"vault_secret,omitempty"`

	usedBy []config.Found
}

// configuredRef is Palyra's VaultSecretConfiguredReference: a setting that
// uses the vault secret.
type configuredRef struct {
	Component     string `json:"component"`
	ReferenceKind string `json:"reference_kind"`
	Status        string `json:"status"`
}

// MarshalJSON writes the explanation, with "secret" the configured record
// when one was asked for by id.
func (r explainJSON) MarshalJSON() ([]byte, error) {
	type plain explainJSON
	if r.Configured == nil {
		return json.Marshal(plain(r))
	}
	var zero uint64
	r.Generation = &zero
	return json.Marshal(struct {
		plain
		Secret *shared.ConfiguredSecretJSON `json:"secret"`
	}{plain(r), r.Configured})
}

// palyraVault fills in Palyra's vault_secret fields for a stored secret.
func (r *explainJSON) palyraVault(ctx context.Context, lookup *shared.ExistingVault, md vault.Metadata, resolveErr error) {
	r.Kind, r.Reference = "vault_secret", md.Scope+"/"+md.Key
	r.Scope, r.Key = md.Scope, md.Key
	r.CreatedAtMS, r.UpdatedAtMS = md.Created.UnixMilli(), md.Updated.UnixMilli()
	r.Status = "stored"
	if resolveErr != nil {
		r.Status = "unreadable"
	}
	if v, err := lookup.Vault(ctx); err == nil {
		r.Backend = string(v.Info().Backend)
	}
	configured := len(r.usedBy) > 0
	r.IsConfigured = &configured
	for _, f := range r.usedBy {
		st := "resolved"
		if resolveErr != nil {
			st = "missing"
		}
		r.ConfiguredReferences = append(r.ConfiguredReferences, configuredRef{
			Component: shared.Component(f.Path), ReferenceKind: referenceKind(f), Status: st,
		})
	}
}

// referenceKind names a setting as Palyra's audit does
// (model_provider_api_key, browser_state_key), else by its setting path.
func referenceKind(f config.Found) string {
	switch {
	case strings.HasPrefix(f.Setting, "model_provider.") && strings.HasSuffix(f.Setting, "api_key"):
		return "model_provider_api_key"
	case f.Setting == "tool_call.browser_service.state_key":
		return "browser_state_key"
	}
	return f.Setting
}

// splitSecretID splits Palyra's configured-secret id
// "<config path>:<16 hex digits>" into the path and the fingerprint.
func splitSecretID(arg string) (path, fingerprint string, ok bool) {
	i := strings.LastIndexByte(arg, ':')
	if i < 0 || len(arg)-i-1 != 16 || strings.Trim(arg[i+1:], "0123456789abcdef") != "" || !looksLikePath(arg[:i]) {
		return "", "", false
	}
	return arg[:i], arg[i+1:], true
}

// looksLikePath reports whether arg could be a dotted path of palyra.toml
// (keys joined by dots, array elements as [i]) rather than a reference in
// string form.
func looksLikePath(arg string) bool {
	return strings.Contains(arg, ".") && strings.Trim(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.[]") == ""
}

func explainRun(ctx context.Context, opts *ExplainOptions) error {
	loc, err := config.Find(opts.ConfigPath)
	if err != nil {
		return err
	}
	doc, docErr := config.Load(loc.Path)
	var found []config.Found
	if docErr == nil {
		found, _ = config.References(doc) // broken references use nothing
	}
	ref := opts.Ref
	var byID *config.Found
	switch {
	case opts.SecretID != "":
		i := slices.IndexFunc(found, func(f config.Found) bool {
			return shared.SecretID(f) == opts.Path+":"+opts.SecretID
		})
		if i < 0 {
			return cmdutil.WithHints(fmt.Errorf("%w: no reference in %s has the configured-secret id %s", vault.ErrNotFound, loc.Path, opts.Path+":"+opts.SecretID),
				`"palyra secrets inventory" lists the ids of the references in the file; an id changes when its reference does`)
		}
		byID = &found[i]
		ref = found[i].Ref
	case opts.Path != "":
		i := slices.IndexFunc(found, func(f config.Found) bool { return f.Path == opts.Path || f.Setting == opts.Path })
		if i < 0 {
			// The argument is not repeated: it may be a pasted secret.
			return cmdutil.WithHints(opts.RefErr, "nor is it the dotted path of a valid reference in "+loc.Path)
		}
		ref = found[i].Ref
	}
	res := explainJSON{
		Ref:         ref.Canonical(),
		Source:      string(ref.Source),
		Fingerprint: ref.String(),
		Policy:      policyOf(ref),
		UsedBy:      []usedJSON{},
	}

	res.Config = loc.Path
	switch err := docErr; {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		res.ConfigFound = true
		for _, fr := range found {
			if fr.Ref.Canonical() == ref.Canonical() {
				res.UsedBy = append(res.UsedBy, usedJSON{Path: fr.Path, Setting: fr.Setting, Line: fr.Line})
				res.usedBy = append(res.usedBy, fr)
			}
		}
	}

	lookup := &shared.ExistingVault{Config: opts.VaultConfig, Open: opts.Vault, Rust: opts.Rust}
	var resolveErr error
	if ref.Source == resolve.SourceExec && !opts.Exec {
		res.Note = "the command was not run; pass --exec to run it and check that it resolves"
	} else {
		v, err := resolve.New(lookup, resolve.Options{TrustedDirs: opts.TrustedDirs}).Resolve(ctx, ref)
		ok := err == nil
		res.Resolves = &ok
		resolveErr = err
		if ok {
			res.Size = v.Len()
			v.Wipe()
		} else {
			res.Error = err.Error()
		}
	}

	switch ref.Source {
	case resolve.SourceVault:
		md, err := lookup.Stat(ctx, ref.Vault.Scope, ref.Vault.Key)
		switch {
		case err == nil:
			s := shared.FromMetadata(md)
			res.Secret = &s
			res.palyraVault(ctx, lookup, md, resolveErr)
		case errors.Is(err, shared.ErrNoVault):
			res.Note = err.Error()
		case errors.Is(err, vault.ErrNotFound):
			res.Note = "no secret is stored under " + ref.Vault.String()
		default:
			res.Note = "reading the secret's metadata failed: " + err.Error()
		}
	case resolve.SourceFile:
		res.File = describeFile(ref.File)
	}
	if byID != nil {
		status, kind := shared.ResolveStatus(resolveErr)
		if res.Resolves == nil {
			status = shared.StatusUnchecked
		}
		errText := ""
		if resolveErr != nil {
			errText = resolveErr.Error()
		}
		rec := shared.ConfiguredSecret(*byID, status, time.Now(), kind, errText, 0)
		res.Contract, res.GeneratedAtMS = &shared.ContractJSON{ContractVersion: shared.ContractVersion}, time.Now().UnixMilli()
		res.VaultSecret, res.Secret, res.Configured = res.Secret, nil, &rec
	}

	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, res)
	}
	_, err = fmt.Fprint(opts.IO.Out, formatText(res))
	return err
}

func policyOf(r resolve.Ref) policyJSON {
	p := policyJSON{
		Required:      r.Required(),
		MaxBytes:      r.Limit(),
		Refresh:       string(r.RefreshPolicy()),
		TrustedDirs:   r.TrustedDirs,
		AllowSymlinks: r.AllowSymlinks,
		PassEnv:       r.PassEnv,
		Dir:           r.Dir,
	}
	if r.Source == resolve.SourceFile || r.Source == resolve.SourceExec {
		trim := r.TrimsNewline()
		p.TrimNewline = &trim
	}
	if r.Source == resolve.SourceExec {
		p.TimeoutMS = r.CommandTimeout().Milliseconds()
	}
	if r.Form == resolve.FormSecretRef {
		p.Form = "secret_ref"
		p.RefreshPolicy, p.SnapshotPolicy = string(r.Refresh), string(r.SnapshotPolicy())
		if p.RefreshPolicy == "" {
			p.RefreshPolicy = string(resolve.RefreshOnStartup)
		}
		p.DisplayName, p.RedactionLabel = r.DisplayName, r.RedactionLabel
		if r.Source == resolve.SourceExec {
			p.CommandEnv = append(resolve.DefaultInheritedEnv(), r.PassEnv...)
		}
	}
	return p
}

// describeFile reports a file's size, mode and modification time, without
// reading it.
func describeFile(path string) *fileJSON {
	f := &fileJSON{Path: path}
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return f
	}
	f.Exists = true
	f.Symlink = fi.Mode()&fs.ModeSymlink != 0
	if f.Symlink {
		if target, err := os.Stat(path); err == nil {
			fi = target
		}
	}
	f.Size = fi.Size()
	f.Mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	mod := fi.ModTime().UTC().Truncate(time.Second)
	f.Modified = &mod
	return f
}

func formatText(r explainJSON) string {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-13s%s\n", label+":", fmt.Sprintf(format, args...))
	}
	line("reference", "%s", r.Ref)
	if r.Policy.DisplayName != "" {
		line("name", "%s", r.Policy.DisplayName)
	}
	if r.Policy.RedactionLabel != "" {
		line("label", "%s", r.Policy.RedactionLabel)
	}
	if r.Policy.Form == "secret_ref" {
		line("form", "%s", "Palyra's SecretRef (a *_secret_ref table)")
	}
	line("source", "%s", r.Source)
	line("fingerprint", "%s", r.Fingerprint)
	pol := []string{"required"}
	if !r.Policy.Required {
		pol[0] = "optional"
	}
	pol = append(pol, fmt.Sprintf("max %d bytes", r.Policy.MaxBytes), "refresh "+r.Policy.Refresh)
	if r.Policy.Form == "secret_ref" {
		pol = append(pol, fmt.Sprintf("written as refresh_policy %s, snapshot_policy %s", r.Policy.RefreshPolicy, r.Policy.SnapshotPolicy))
	}
	if r.Policy.TimeoutMS > 0 {
		pol = append(pol, fmt.Sprintf("timeout %d ms", r.Policy.TimeoutMS))
	}
	if len(r.Policy.TrustedDirs) > 0 {
		pol = append(pol, "trusted dirs "+strings.Join(r.Policy.TrustedDirs, ", "))
	}
	line("policy", "%s", strings.Join(pol, "; "))
	if r.ConfigFound {
		line("config", "%s", r.Config)
	} else {
		line("config", "%s (not found)", r.Config)
	}
	switch {
	case len(r.UsedBy) == 0 && r.ConfigFound:
		line("used by", "nothing in this file")
	case len(r.UsedBy) == 0:
		line("used by", "-")
	}
	for i, u := range r.UsedBy {
		label := ""
		if i == 0 {
			label = "used by"
		}
		detail := fmt.Sprintf("line %d", u.Line)
		if u.Path != u.Setting {
			detail += ", field " + u.Path
		}
		if label == "" {
			fmt.Fprintf(&b, "%-13s%s (%s)\n", "", u.Setting, detail)
		} else {
			line(label, "%s (%s)", u.Setting, detail)
		}
	}
	switch {
	case r.Resolves == nil:
		line("resolves", "not checked")
	case *r.Resolves:
		line("resolves", "yes (%d bytes)", r.Size)
	default:
		line("resolves", "no: %s", r.Error)
	}
	if s := r.Secret; s != nil {
		line("stored", "%s, %d bytes, created %s, updated %s", s.Ref, s.Size, shared.FormatTime(s.Created), shared.FormatTime(s.Updated))
	}
	if f := r.File; f != nil {
		if !f.Exists {
			line("file", "%s (does not exist)", f.Path)
		} else {
			kind := ""
			if f.Symlink {
				kind = ", a symbolic link"
			}
			line("file", "%s, %d bytes, mode %s, modified %s%s", f.Path, f.Size, f.Mode, shared.FormatTime(*f.Modified), kind)
		}
	}
	if r.Note != "" {
		line("note", "%s", r.Note)
	}
	return b.String()
}
