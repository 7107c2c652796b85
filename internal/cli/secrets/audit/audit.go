// Package audit implements "palyra secrets audit": find what in a
// palyra.toml undermines the vault (plaintext secrets, references that do
// not resolve, unsafe permissions) and say how to fix each, usually with
// the exact "palyra secrets configure" command to run.
//
// Findings never contain a secret value: at most its length and the
// credential format it looks like.
package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Severity ranks a finding. Critical and high findings are blocking:
// --strict fails on them.
type Severity string

// The severities, most severe first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

var severityRank = map[Severity]int{Critical: 0, High: 1, Medium: 2, Low: 3, Info: 4}

// Blocking reports whether s fails "audit --strict".
func (s Severity) Blocking() bool { return s == Critical || s == High }

// Finding codes.
const (
	CodeKeyFormat         = "known-key-format"     // a value looks like a known credential
	CodePlaintext         = "plaintext-secret"     // a secret-named setting holds a literal
	CodeBrokenReference   = "broken-reference"     // a reference breaks the grammar
	CodeUnresolved        = "unresolved-reference" // a reference does not resolve
	CodeOptionalMissing   = "optional-missing"     // an optional reference has no value
	CodeUnchecked         = "unchecked-reference"  // an exec reference that was not run
	CodeUnsafePermissions = "unsafe-permissions"   // config, backup or vault files others can reach
	CodePlaintextBackup   = "plaintext-backup"     // a config backup still holds plaintext
	CodeDuplicateSetting  = "duplicate-setting"    // a setting given twice (value and reference, or two references)
	CodePalyraIncompat    = "palyra-incompatible"  // Palyra would refuse the file for this
)

// Finding is one problem. It never holds a secret value.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	// Path is the setting's dotted path, or a file path for permissions.
	Path string `json:"path"`
	// Line is the setting's 1-based line in the config, 0 when none.
	Line        int    `json:"line,omitempty"`
	Message     string `json:"message"`
	Remediation string `json:"remediation"`
	Blocking    bool   `json:"blocking"`
}

// AuditOptions are the dependencies and flags of "palyra secrets audit".
type AuditOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// VaultConfig says which vault; it is never created.
	VaultConfig vault.Config

	// ConfigPath is --config; "" means $PALYRA_CONFIG, else the default.
	ConfigPath string
	// Strict fails when there are blocking findings.
	Strict bool
	// Exec runs exec references to check them (off by default: an audit
	// must not run what a config file says).
	Exec bool
	// TrustedDirs are the directories file references may read from, for
	// those that list no trusted_dirs of their own.
	TrustedDirs []string
	// JSON prints the report as JSON.
	JSON bool
	// Offline is Palyra's --offline (do not ask the running daemon for
	// its auth profiles and webhooks). This audit never asks the daemon:
	// it is accepted and changes nothing.
	Offline bool
}

// NewCmdAudit returns the "audit" command. When runF is not nil it is
// called with the parsed options instead of auditRun, so tests can check
// parsing.
func NewCmdAudit(f *cmdutil.Factory, runF func(*AuditOptions) error) *cobra.Command {
	opts := &AuditOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "audit [--config FILE | --path FILE] [--offline] [--strict] [--json]",
		Short: "Find plaintext secrets, broken references and unsafe permissions in palyra.toml",
		Long: `Check a palyra.toml for what undermines the vault, and say how to fix each
finding:

  critical  a value that looks like a known credential (sk-…, sk-ant-…,
            ghp_…, github_pat_…, xox[abposr]-…, AKIA…, AIza…, glpat-…,
            sk_live_…, hf_…, npm_…, SG.…, a PEM private key, a JWT),
            anywhere in the file
  high      a setting named like a secret (…key, …token, …secret,
            …password, …) holding a literal value; a reference that breaks
            the grammar or does not resolve; a config or vault that other
            users can write (or, holding plaintext, read)
  medium    a config backup (palyra.toml.bak.N) still holding plaintext; a
            config owned by another user
  low       an optional reference with no value
  info      an exec reference that was not run (use --exec to run it); a
            key, type or reference form that Palyra (the Rust platform,
            which reads the same palyra.toml) would refuse the file for

The remediation is usually the exact command that moves a plaintext value
into the vault and rewrites the setting as a reference:
palyra secrets configure <setting> <scope> <key> --from-config.

A finding never shows a value: at most its length and the format it looks
like. Every reference is resolved (vault secrets are decrypted, then wiped)
but commands named by exec references run only with --exec, and no vault is
created. file references are read only inside their trusted_dirs or a
--trusted-dir.

The report goes to stdout; the exit status is 0 unless --strict is given
and there are blocking (critical or high) findings, then 1.

Palyra's command line works as it is: --path is --config, --offline is
accepted (this audit never asks a running daemon), and --json holds
Palyra's fields (path, runtime_profiles_inspected, runtime_error_present,
summary) beside ours.`,
		Example: `  # Audit the default palyra.toml
  palyra secrets audit

  # In CI: fail on blocking findings, machine-readable
  palyra secrets audit --config deploy/palyra.toml --strict --json`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := shared.CheckTrustedDirs(opts.TrustedDirs); err != nil {
				return err
			}
			var err error
			if opts.ConfigPath, err = shared.ConfigPathFlag(cmd); err != nil {
				return err
			}
			opts.Vault = f.Vault
			opts.VaultConfig = f.VaultConfig
			if runF != nil {
				return runF(opts)
			}
			return auditRun(cmd.Context(), opts)
		},
	}
	shared.AddConfigPathFlags(cmd)
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "accepted for Palyra's command line: this audit never asks the daemon")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "exit 1 when there are blocking (critical or high) findings")
	cmd.Flags().BoolVar(&opts.Exec, "exec", false, "also run the commands of exec references to check that they resolve")
	cmd.Flags().StringArrayVar(&opts.TrustedDirs, "trusted-dir", nil, "a `DIR` that file references may read from (repeatable)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

// Report is the JSON form of the audit: ours, and Palyra's fields of
// "palyra secrets audit --json" beside them.
type Report struct {
	Config   string         `json:"config"`
	Findings []Finding      `json:"findings"`
	Counts   map[string]int `json:"counts"`
	Blocking int            `json:"blocking"`

	Path                     string  `json:"path"`
	RuntimeProfilesInspected bool    `json:"runtime_profiles_inspected"`
	RuntimeErrorPresent      bool    `json:"runtime_error_present"`
	Summary                  Summary `json:"summary"`
	// Refs are the references found, for apply's modes; not printed.
	Refs []config.Found `json:"-"`
}

// Summary is Palyra's audit summary. Blocking findings are our critical and
// high ones, warnings our medium and low ones.
type Summary struct {
	TotalReferences    int `json:"total_references"`
	ResolvedReferences int `json:"resolved_references"`
	BlockingFindings   int `json:"blocking_findings"`
	WarningFindings    int `json:"warning_findings"`
	InfoFindings       int `json:"info_findings"`
}

// Run audits the configuration opts names and returns the report, without
// printing it; "palyra secrets apply" runs it again.
func Run(ctx context.Context, opts *AuditOptions) (Report, error) {
	loc, err := config.Find(opts.ConfigPath)
	if err != nil {
		return Report{}, err
	}
	doc, err := config.Load(loc.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Report{}, cmdutil.WithHints(fmt.Errorf("no configuration file at %s", loc.Path),
				"name the file with --config (or --path), or set $"+config.EnvConfig)
		}
		return Report{}, err
	}
	a := &auditor{opts: opts, path: loc.Path, doc: doc}
	a.plaintext()
	// Permissions first: resolving a vault reference opens the vault,
	// which tightens what others can only read (docs/SECURITY.md); the
	// report shows the modes as the audit found them.
	a.permissions()
	a.references(ctx)
	a.palyra()
	findings := a.sorted()

	rep := Report{Config: loc.Path, Path: loc.Path, Findings: findings, Counts: map[string]int{}, Refs: a.found}
	for _, f := range findings {
		rep.Counts[string(f.Severity)]++
		if f.Blocking {
			rep.Blocking++
		}
		switch f.Severity {
		case Critical, High:
			rep.Summary.BlockingFindings++
		case Medium, Low:
			rep.Summary.WarningFindings++
		default:
			rep.Summary.InfoFindings++
		}
	}
	rep.Summary.TotalReferences = len(a.found) + a.broken
	rep.Summary.ResolvedReferences = a.resolved
	return rep, nil
}

func auditRun(ctx context.Context, opts *AuditOptions) error {
	rep, err := Run(ctx, opts)
	if err != nil {
		return err
	}
	if opts.JSON {
		if rep.Findings == nil {
			rep.Findings = []Finding{}
		}
		err = cmdutil.PrintJSON(opts.IO, rep)
	} else {
		_, err = fmt.Fprint(opts.IO.Out, formatText(rep))
	}
	if err != nil {
		return err
	}
	if opts.Strict && rep.Blocking > 0 {
		return cmdutil.WithHints(fmt.Errorf("%d blocking %s in %s (--strict)", rep.Blocking, plural(rep.Blocking, "finding", "findings"), rep.Config),
			"fix the critical and high findings above; each says how")
	}
	return nil
}

// article returns "an" before a vowel sound, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOUaeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func formatText(rep Report) string {
	var b strings.Builder
	if len(rep.Findings) == 0 {
		fmt.Fprintf(&b, "%s: no findings\n", rep.Config)
		return b.String()
	}
	var parts []string
	for _, s := range []Severity{Critical, High, Medium, Low, Info} {
		if n := rep.Counts[string(s)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(&b, "%s: %d %s (%s; %d blocking)\n", rep.Config, len(rep.Findings), plural(len(rep.Findings), "finding", "findings"), strings.Join(parts, ", "), rep.Blocking)
	for _, f := range rep.Findings {
		where := f.Path
		if f.Line > 0 {
			where += fmt.Sprintf(" (line %d)", f.Line)
		}
		fmt.Fprintf(&b, "\n%-9s %s\n          %s\n          fix: %s\n", strings.ToUpper(string(f.Severity)), where, f.Message, f.Remediation)
	}
	return b.String()
}

// auditor collects the findings of one config.
type auditor struct {
	opts     *AuditOptions
	path     string
	doc      *config.Document
	findings []Finding
	// critical holds the paths with a known-format finding, so a broken
	// reference there is not reported twice.
	critical       map[string]bool
	plaintextCount int
	// found are the valid references; broken counts the others, resolved
	// those that resolved (Palyra's summary counts).
	found            []config.Found
	broken, resolved int
}

func (a *auditor) add(sev Severity, code, path string, line int, msg, fix string) {
	a.findings = append(a.findings, Finding{Severity: sev, Code: code, Path: path, Line: line, Message: msg, Remediation: fix, Blocking: sev.Blocking()})
}

func (a *auditor) sorted() []Finding {
	out := a.findings
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := severityRank[out[i].Severity], severityRank[out[j].Severity]; ri != rj {
			return ri < rj
		}
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// configFlag is the --config part of a suggested command: the file as
// the user named it with --config. ($PALYRA_CONFIG and the default need no
// flag.)
func (a *auditor) configFlag() string {
	if a.opts.ConfigPath == "" {
		return ""
	}
	return " --config " + shared.ShellQuote(a.opts.ConfigPath)
}

// plainFinding is a plaintext value found by scanDoc.
type plainFinding struct {
	path, key, format string
	parts             []string // the setting's path as keys, nil inside arrays
	line, size        int
	inRef             bool // inside a reference table, or a _vault_ref field
}

// scanDoc finds plaintext secrets in doc: every string that looks like a
// known credential format, and every literal string in a setting named
// like a secret (outside references).
func scanDoc(doc *config.Document) []plainFinding {
	var out []plainFinding
	var refTables []string
	inRef := func(path string) bool {
		for _, p := range refTables {
			if strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
				return true
			}
		}
		return false
	}
	keysOf := map[string][]string{"": nil}
	_ = config.Walk(doc, func(e config.Entry) error {
		parent, ok := keysOf[e.Parent]
		var parts []string
		if ok && e.Key != "" {
			parts = append(append([]string{}, parent...), e.Key)
		}
		if m, isMap := e.Value.(map[string]any); isMap {
			if parts != nil {
				keysOf[e.Path] = parts
			}
			if e.Inline && resolve.IsRefTable(m) || resolve.IsSecretRefKey(e.Key) {
				refTables = append(refTables, e.Path)
			}
			return nil
		}
		s, isString := e.Value.(string)
		if !isString {
			return nil
		}
		name := e.Key
		if name == "" { // an array element: the array's name counts
			name = lastKey(e.Parent)
		}
		f := plainFinding{path: e.Path, key: name, parts: parts, line: e.Line, size: len(s),
			inRef: inRef(e.Path) || strings.HasSuffix(e.Key, config.RefSuffix)}
		if e.Line == 0 {
			f.line = doc.Line(e.Parent)
		}
		if f.format = detectFormat(s); f.format != "" {
			out = append(out, f)
		} else if !f.inRef && secretName(name) && !notALiteral(s) {
			out = append(out, f)
		}
		return nil
	})
	return out
}

// lastKey returns the last key of a display path ("a.b[2]" → "b").
func lastKey(path string) string {
	path = strings.TrimRight(path, "]0123456789[")
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	return strings.Trim(path, `"`)
}

func (a *auditor) plaintext() {
	a.critical = map[string]bool{}
	for _, f := range scanDoc(a.doc) {
		a.plaintextCount++
		sev, code := High, CodePlaintext
		msg := fmt.Sprintf("holds a plaintext value (%d bytes) in a setting named like a secret", f.size)
		if f.format != "" {
			sev, code = Critical, CodeKeyFormat
			msg = fmt.Sprintf("holds a plaintext value (%d bytes) that looks like %s %s", f.size, article(f.format), f.format)
			a.critical[f.path] = true
		}
		a.add(sev, code, f.path, f.line, msg, a.remedy(f))
	}
}

// remedy says how to move a plaintext value into the vault: the configure
// command when it can rewrite the setting, else the edit by hand.
func (a *auditor) remedy(f plainFinding) string {
	preset := ""
	for _, name := range config.PresetNames() {
		if s, _ := config.Preset(name); s == f.path {
			preset = name
		}
	}
	key := suggestKey(keysOf(f.path))
	if preset != "" {
		key = strings.ReplaceAll(preset, "-", "_")
	}
	ref := secret.Ref{Scope: "global", Key: key}
	manual := fmt.Sprintf(`store the value with "palyra secrets set global %s" and replace it with { vault_ref = %q }`, key, ref.String())
	if f.inRef {
		if strings.HasSuffix(lastKey(f.path), config.RefSuffix) {
			return fmt.Sprintf(`the reference field holds a credential instead of a reference: store it with "palyra secrets set global %s", set the field to %q, then rotate the credential`, key, ref.String())
		}
		return "a reference field holds what looks like a credential: " + manual + ", then rotate the credential"
	}
	if f.parts == nil {
		return manual
	}
	if _, err := config.SetVaultRef(a.doc.Bytes(), f.path, ref); err != nil {
		return manual
	}
	setting := f.path
	if preset != "" {
		setting = preset
	}
	return fmt.Sprintf("palyra secrets configure %s global %s --from-config%s", shared.ShellQuote(setting), key, a.configFlag())
}

// keysOf returns the keys of a display path, without array indices and
// without a "_vault_ref" suffix on the last ("a.b[0].c_vault_ref" → a, b,
// c); just the last key when the path does not parse.
func keysOf(path string) []string {
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '[' && !inQuote:
			j := strings.IndexByte(path[i:], ']')
			if j > 0 {
				i += j
				if i+1 < len(path) && path[i+1] != '.' {
					b.WriteByte('.')
				}
				continue
			}
		}
		b.WriteByte(c)
	}
	parts, err := config.ParseDotted(b.String())
	if err != nil {
		parts = []string{lastKey(path)}
	}
	last := len(parts) - 1
	parts[last] = strings.TrimSuffix(parts[last], config.RefSuffix)
	if parts[last] == "" {
		parts = parts[:last]
	}
	return parts
}

func (a *auditor) references(ctx context.Context) {
	found, err := config.References(a.doc)
	a.found = found
	a.broken = len(config.RefErrors(err))
	for _, re := range config.RefErrors(err) {
		if a.critical[re.Path] {
			continue
		}
		rule := strings.TrimPrefix(re.Error(), fmt.Sprintf("%s (line %d): ", re.Path, re.Line))
		switch {
		case errors.Is(re, config.ErrDuplicateSetting):
			a.add(High, CodeDuplicateSetting, re.Path, re.Line, rule,
				"keep one value for the setting and delete the others (Palyra refuses the file too); neither reference is used until then")
		case strings.HasSuffix(re.Path, resolve.SecretRefSuffix):
			a.add(High, CodeBrokenReference, re.Path, re.Line, rule,
				`write it as Palyra's SecretRef table: kind = "vault" (vault_ref), "env" (variable), "file" (path, trusted_dirs) or "exec" (command), with the policy fields of docs/REFERENCES.md`)
		default:
			a.add(High, CodeBrokenReference, re.Path, re.Line, rule,
				`write it as "vault://<scope>/<key>" (in a *_vault_ref field) or as an inline table { vault_ref = …, env = …, file = … or exec = […] }; see docs/REFERENCES.md`)
		}
	}

	lookup := &shared.ExistingVault{Config: a.opts.VaultConfig, Open: a.opts.Vault}
	r := resolve.New(lookup, resolve.Options{TrustedDirs: a.opts.TrustedDirs})
	for _, fr := range found {
		shown := shared.DisplayRef(fr.Ref)
		if fr.Ref.Source == resolve.SourceExec && !a.opts.Exec {
			a.add(Info, CodeUnchecked, fr.Path, fr.Line, fmt.Sprintf("exec reference %s was not run, so it is not known to resolve", shown),
				"run the audit with --exec to run it (only for a config you trust)")
			continue
		}
		v, err := r.Resolve(ctx, fr.Ref)
		if err == nil {
			v.Wipe()
			a.resolved++
			continue
		}
		msg := fmt.Sprintf("reference %s does not resolve: %v", shown, err)
		if !fr.Ref.Required() && errors.Is(err, resolve.ErrMissing) {
			a.add(Low, CodeOptionalMissing, fr.Path, fr.Line, fmt.Sprintf("optional reference %s has no value: %v", shown, err),
				"set it if the setting should be configured; otherwise nothing to do")
			continue
		}
		a.add(High, CodeUnresolved, fr.Path, fr.Line, msg, a.resolveFix(fr, err))
	}
}

// palyra reports what in the file Palyra would refuse (a key its schema
// does not know, a type it does not take, a reference form it does not
// read), as information: the file is fine for this project.
func (a *auditor) palyra() {
	for _, in := range config.PalyraIncompatibilities(a.doc) {
		a.add(Info, CodePalyraIncompat, in.Path, in.Line, in.Rule,
			"only if Palyra reads this file too: fix it as the message says (docs/COMPAT.md lists the forms both read)")
	}
}

func (a *auditor) resolveFix(fr config.Found, err error) string {
	ref := fr.Ref
	switch {
	case ref.Source == resolve.SourceVault && errors.Is(err, resolve.ErrMissing):
		return fmt.Sprintf("store it: palyra secrets set %s (the value is read from stdin or a prompt)", shared.RefArgs(ref.Vault))
	case ref.Source == resolve.SourceEnv && errors.Is(err, resolve.ErrMissing):
		return fmt.Sprintf("set $%s in the environment that runs palyra, or store the value in the vault instead", ref.Env)
	case errors.Is(err, resolve.ErrBlocked):
		return "list the file's directory in the reference's trusted_dirs (or pass --trusted-dir), without symbolic links below it"
	case errors.Is(err, resolve.ErrTooLarge):
		return "raise the reference's max_bytes, or store a smaller value"
	case errors.Is(err, resolve.ErrTimeout):
		return "raise the reference's " + ref.Field("timeout_ms") + ", or fix the command"
	case errors.Is(err, vault.ErrWrongKey), errors.Is(err, vault.ErrCorrupt), errors.Is(err, vault.ErrPermission), errors.Is(err, vault.ErrBackendUnavailable):
		return `run "palyra secrets verify" to check the vault`
	}
	return "fix the source the reference names, then run the audit again"
}

// permissions checks the config, its backups, the vault root and the
// device key. The checks are Unix-only (see perms_*.go).
func (a *auditor) permissions() {
	a.checkConfigFile(a.path, a.plaintextCount > 0, false)
	for n := 1; n <= config.MaxBackups; n++ {
		bak := config.BackupPath(a.path, n)
		data, err := os.ReadFile(bak)
		if err != nil {
			continue
		}
		doc, err := config.Parse(data)
		if err != nil {
			continue
		}
		count := len(scanDoc(doc))
		if count > 0 {
			a.add(Medium, CodePlaintextBackup, bak, 0,
				fmt.Sprintf("this backup of the configuration still holds %d plaintext %s", count, plural(count, "secret", "secrets")),
				fmt.Sprintf("delete it once the current configuration works: rm %s", shared.ShellQuote(bak)))
		}
		a.checkConfigFile(bak, count > 0, true)
	}
	a.checkVault()
}
