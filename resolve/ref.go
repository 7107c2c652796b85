// Package resolve turns a secret reference into the secret's bytes. A
// reference points at a secret in the vault (vault://scope/key), an
// environment variable, a file inside trusted directories, or the standard
// output of a command run without a shell; it also carries a policy: whether
// the value is required, how large it may be, when it is refreshed, and the
// source's own limits (trusted directories and symlinks for files; timeout,
// passed environment and working directory for commands).
//
// The reference grammar, in TOML and in the short string form, is specified
// in docs/REFERENCES.md; ParseTable, ParseSecretRef and ParseString
// implement it, and package resolve/tomlref reads the whole string form
// (an inline table too) with a TOML decoder that this package does not
// link. A Resolver
// resolves a Ref to secret.SensitiveBytes or fails with an *Error whose Kind
// says why (Missing, Invalid, Blocked, Timeout, TooLarge, IO) and whose
// message names the reference by a fingerprint only (Ref.String), never by
// its value. The package holds no secret beyond the call that resolves it:
// it does not cache.
package resolve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/tomltable"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// Source says where a reference's value comes from.
type Source string

// The sources a reference can name.
const (
	// SourceVault: a secret in the vault, vault://<scope>/<key>.
	SourceVault Source = "vault"
	// SourceEnv: an environment variable of the resolving process.
	SourceEnv Source = "env"
	// SourceFile: a regular file inside trusted directories.
	SourceFile Source = "file"
	// SourceExec: the standard output of a command (argv, no shell).
	SourceExec Source = "exec"
)

// Refresh says when a long-running consumer (the daemon) resolves a
// reference again. The Resolver itself never caches; it resolves on every
// call.
type Refresh string

// The refresh policies.
const (
	// RefreshOnStartup resolves once, when the consumer starts (the default).
	RefreshOnStartup Refresh = "on_startup"
	// RefreshOnReload resolves at start and again at every configuration
	// reload.
	RefreshOnReload Refresh = "on_reload"
	// RefreshPerUse resolves every time the value is used; it is never kept.
	RefreshPerUse Refresh = "per_use"
	// RefreshOnChange is this project's policy for vault references only
	// (Palyra does not know it): resolved like on_reload, at start and at
	// every reload, and again whenever the vault reports that the secret
	// changed (vault.Vault.Watch, a shared vault on etcd). On a vault that
	// cannot be watched it acts as on_reload (docs/REFERENCES.md).
	RefreshOnChange Refresh = "on_change"
	// RefreshPerRun is Palyra's per_run (its *_secret_ref form only): once
	// per agent run there. This project has no agent runs; the closest is
	// one resolution per request, so RefreshPolicy reports it as
	// RefreshPerUse (docs/REFERENCES.md).
	RefreshPerRun Refresh = "per_run"
)

// Form is the grammar a reference was written in.
type Form int

// The forms of a reference (docs/REFERENCES.md).
const (
	// FormInline is this project's form: an inline table with one of the
	// source fields vault_ref, env, file or exec, a *_vault_ref string, or
	// the string form. The zero value.
	FormInline Form = iota
	// FormSecretRef is Palyra's SecretRef: a table under a key ending in
	// "_secret_ref", tagged by kind. It names its fields differently
	// (variable, path, command, inherited_env, cwd, refresh_policy,
	// exec_timeout_ms) and resolves as Palyra's resolver does: relative
	// paths are relative to the configuration's directory (see InDir), a
	// command inherits a small fixed environment (DefaultInheritedEnv)
	// besides inherited_env and runs in that directory, the default
	// command timeout is PalyraDefaultTimeout, and the value is used as
	// read (no newline is trimmed) with an all-whitespace value counting as
	// missing.
	FormSecretRef
)

// Snapshot is Palyra's snapshot_policy: whether a value once resolved is
// kept until the next reload.
type Snapshot string

// The snapshot policies of the *_secret_ref form.
const (
	// SnapshotFreezeUntilReload keeps the value until a reload (the
	// default): it leaves the refresh policy as it is.
	SnapshotFreezeUntilReload Snapshot = "freeze_until_reload"
	// SnapshotRefreshPerRun and SnapshotRefreshPerUse never keep the
	// value: RefreshPolicy reports RefreshPerUse.
	SnapshotRefreshPerRun Snapshot = "refresh_per_run"
	SnapshotRefreshPerUse Snapshot = "refresh_per_use"
)

// Limits of the policy fields.
const (
	// DefaultMaxBytes is the largest value accepted when max_bytes is not
	// set: 64 KiB, the vault's default secret size limit.
	DefaultMaxBytes = vault.DefaultMaxSecretSize
	// MaxBytesLimit is the largest max_bytes a reference may ask for: 4 MiB.
	MaxBytesLimit = 4 << 20
	// DefaultTimeout is how long a command may run when timeout_ms is not
	// set: 10 seconds.
	DefaultTimeout = 10 * time.Second
	// MaxTimeout is the longest timeout_ms a reference may ask for: 5 minutes.
	MaxTimeout = 5 * time.Minute
	// PalyraDefaultTimeout is how long a command of a *_secret_ref
	// reference may run when exec_timeout_ms is not set: 1 second, the
	// default of Palyra's resolver.
	PalyraDefaultTimeout = time.Second
	// MaxLabelLen bounds display_name and redaction_label, in bytes (as
	// Palyra does).
	MaxLabelLen = 128
	// MaxArgs is the most argv elements a command reference may have.
	MaxArgs = 256
	// MaxArgvBytes bounds the total size of a command reference's argv.
	MaxArgvBytes = 64 << 10
	// MaxNameLen bounds environment variable names (env and pass_env).
	MaxNameLen = tomltable.MaxNameLen
	// MaxPathLen bounds file, trusted_dirs and dir paths.
	MaxPathLen = tomltable.MaxPathLen
)

// Ref is a secret reference: a source and its policy. The zero values of the
// policy fields are the defaults, so a Ref literal naming only its source is
// a required reference with default limits. Use Validate, or build it with
// ParseTable, ParseString (tomlref.Parse) or the constructors, before
// resolving it.
//
// String and GoString return the redacted description (source and
// fingerprint), so printing a Ref with any fmt verb or logging it never
// shows its argv, which may carry credentials.
type Ref struct {
	// Source selects which of the next four fields is used.
	Source Source
	// Vault is the secret's scope and key (SourceVault).
	Vault secret.Ref
	// Env is the environment variable's name (SourceEnv).
	Env string
	// File is the file's absolute path; a leading "~/" means the user's home
	// directory (SourceFile).
	File string
	// Exec is the command's argv; Exec[0] is an absolute path or a name
	// looked up in the resolving process's PATH (SourceExec).
	Exec []string

	// Optional is the negation of the TOML field required (default true):
	// when set, a consumer may treat a Missing failure as "not configured".
	// The Resolver still returns the Missing error; the caller decides.
	Optional bool
	// MaxBytes is the largest value accepted, in bytes; 0 means
	// DefaultMaxBytes. At most MaxBytesLimit.
	MaxBytes int
	// Refresh is when a consumer resolves the reference again; "" means
	// RefreshOnStartup.
	Refresh Refresh
	// KeepNewline is the negation of the TOML field trim_newline (default
	// true, files and commands only): unless set, one trailing "\n" or
	// "\r\n" is removed from the value.
	KeepNewline bool

	// TrustedDirs are the directories the file must lie in (SourceFile).
	// Empty means the Resolver's Options.TrustedDirs.
	TrustedDirs []string
	// AllowSymlinks lets the path go through symbolic links, as long as the
	// file it finally names is inside a trusted directory (SourceFile).
	AllowSymlinks bool

	// Timeout bounds the command's run time; 0 means DefaultTimeout. At most
	// MaxTimeout (SourceExec; TOML timeout_ms).
	Timeout time.Duration
	// PassEnv names the environment variables passed to the command; its
	// environment is otherwise empty (SourceExec).
	PassEnv []string
	// Dir is the command's working directory, absolute; "" means the
	// resolving process's own (SourceExec).
	Dir string

	// Form is the grammar the reference was written in; it decides the
	// field names errors use and the semantics listed at FormSecretRef.
	Form Form
	// Snapshot is the snapshot_policy of a *_secret_ref reference; ""
	// means SnapshotFreezeUntilReload.
	Snapshot Snapshot
	// DisplayName and RedactionLabel are the labels of a *_secret_ref
	// reference: descriptions for people, never secret, at most
	// MaxLabelLen bytes. palyra secrets explain shows them.
	DisplayName, RedactionLabel string

	// palyraJSON is a *_secret_ref reference's SecretRef JSON as written,
	// which PalyraFingerprint hashes; nil for the other forms.
	palyraJSON []byte
}

// VaultRef returns a reference to the secret r in the vault.
func VaultRef(r secret.Ref) Ref { return Ref{Source: SourceVault, Vault: r} }

// EnvRef returns a reference to the environment variable name.
func EnvRef(name string) Ref { return Ref{Source: SourceEnv, Env: name} }

// FileRef returns a reference to the file at path, which must lie inside one
// of trustedDirs (or, when none are given, the Resolver's defaults).
func FileRef(path string, trustedDirs ...string) Ref {
	return Ref{Source: SourceFile, File: path, TrustedDirs: trustedDirs}
}

// ExecRef returns a reference to the standard output of the command argv.
func ExecRef(argv ...string) Ref { return Ref{Source: SourceExec, Exec: argv} }

// Required reports whether the value must resolve (TOML required).
func (r Ref) Required() bool { return !r.Optional }

// Limit returns the effective max_bytes.
func (r Ref) Limit() int {
	if r.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return r.MaxBytes
}

// RefreshPolicy returns the effective refresh policy: on_startup,
// on_reload, on_change or per_use. Palyra's per_run, and a snapshot_policy that does
// not freeze the value, are per_use here (docs/REFERENCES.md).
func (r Ref) RefreshPolicy() Refresh {
	switch {
	case r.Refresh == RefreshPerRun, r.Snapshot == SnapshotRefreshPerRun, r.Snapshot == SnapshotRefreshPerUse:
		return RefreshPerUse
	case r.Refresh == "":
		return RefreshOnStartup
	}
	return r.Refresh
}

// SnapshotPolicy returns the effective snapshot policy.
func (r Ref) SnapshotPolicy() Snapshot {
	if r.Snapshot == "" {
		return SnapshotFreezeUntilReload
	}
	return r.Snapshot
}

// CommandTimeout returns the effective command timeout: Timeout, else
// DefaultTimeout (PalyraDefaultTimeout for the *_secret_ref form).
func (r Ref) CommandTimeout() time.Duration {
	switch {
	case r.Timeout != 0:
		return r.Timeout
	case r.Form == FormSecretRef:
		return PalyraDefaultTimeout
	}
	return DefaultTimeout
}

// TrimsNewline reports whether one trailing newline is removed from the
// value: for file and exec references of the inline form unless
// trim_newline = false; never for the *_secret_ref form, which uses the
// value as read, as Palyra does.
func (r Ref) TrimsNewline() bool {
	return r.Form == FormInline && !r.KeepNewline && (r.Source == SourceFile || r.Source == SourceExec)
}

// Field returns the name the reference's form gives to the field this
// package calls field (the inline form's names): "timeout_ms" is
// "exec_timeout_ms" in a *_secret_ref table, "env" is "variable".
func (r Ref) Field(field string) string {
	if r.Form == FormSecretRef {
		if n, ok := secretRefName(field); ok {
			return n
		}
	}
	return field
}

// secretRefName returns the *_secret_ref form's name of the inline form's
// field, where they differ.
func secretRefName(field string) (string, bool) {
	switch field {
	case "env":
		return "variable", true
	case "file":
		return "path", true
	case "exec":
		return "command", true
	case "refresh":
		return "refresh_policy", true
	case "timeout_ms":
		return "exec_timeout_ms", true
	case "pass_env":
		return "inherited_env", true
	case "dir":
		return "cwd", true
	}
	return "", false
}

// InDir returns r with the relative paths of a *_secret_ref reference
// (path, trusted_dirs, cwd) joined to dir, the directory of the
// configuration file that holds it, and dir as the working directory of a
// command without cwd: Palyra's resolver works in that directory. Other
// references, and an empty dir, come back unchanged.
func (r Ref) InDir(dir string) Ref {
	if r.Form != FormSecretRef || dir == "" {
		return r
	}
	join := func(p string) string {
		if p == "" || filepath.IsAbs(p) || tomltable.IsHomePath(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	switch r.Source {
	case SourceFile:
		r.File = join(r.File)
		dirs := make([]string, len(r.TrustedDirs))
		for i, d := range r.TrustedDirs {
			dirs[i] = join(d)
		}
		r.TrustedDirs = dirs
	case SourceExec:
		if r.Dir == "" {
			r.Dir = dir
		}
		r.Dir = join(r.Dir)
	}
	return r
}

// Canonical returns the reference's canonical text: "vault://<scope>/<key>",
// "env:<NAME>", "file:<path>" or "exec:" followed by the argv as a JSON
// array. Policy fields are not part of it. It identifies the source and is
// not secret in itself, but a command's argv can carry credentials: show it
// to the user who asked (palyra secrets explain), never log it; log String.
func (r Ref) Canonical() string {
	switch r.Source {
	case SourceVault:
		return r.Vault.String()
	case SourceEnv:
		return "env:" + r.Env
	case SourceFile:
		return "file:" + r.File
	case SourceExec:
		b, err := json.Marshal(r.Exec)
		if err != nil { // cannot happen for []string
			return "exec:"
		}
		return "exec:" + string(b)
	}
	return string(r.Source) + ":"
}

// Fingerprint returns the first 8 hex digits of the SHA-256 of Canonical. It
// tells references apart in logs without showing them.
func (r Ref) Fingerprint() string {
	sum := sha256.Sum256([]byte(r.Canonical()))
	return hex.EncodeToString(sum[:4])
}

// String returns the redacted description "<source>#<fingerprint>", for
// example "vault#3f2a9c1b". Errors and logs name references this way.
func (r Ref) String() string { return r.describe() }

// GoString returns the same as String, so %#v does not print the argv.
func (r Ref) GoString() string { return r.describe() }

func (r Ref) describe() string {
	src := string(r.Source)
	switch r.Source {
	case SourceVault, SourceEnv, SourceFile, SourceExec:
	default:
		src = "ref"
	}
	return src + "#" + r.Fingerprint()
}

// Validate checks the reference against the grammar and the limits in
// docs/REFERENCES.md. It returns nil or an *Error of kind Invalid naming the
// TOML field and the rule broken, without quoting the field's content.
func (r Ref) Validate() error {
	if err := r.validateSource(); err != nil {
		return err
	}
	for i := range policies {
		p := &policies[i]
		if !p.set(r) {
			continue
		}
		if p.forms != nil && !slices.Contains(p.forms, r.Form) {
			return r.invalidField(p.field, "is not a field of this form of reference")
		}
		if !p.appliesTo(r.Source) {
			return r.invalidField(p.field, p.onlyRule())
		}
		if p.check == nil {
			continue
		}
		if rule := p.check(r); rule != "" {
			return r.invalidField(p.field, rule)
		}
	}
	return nil
}

// validateSource checks the source field: the vault reference, the
// variable's name, the file's path or the command's argv.
func (r Ref) validateSource() error {
	switch r.Source {
	case SourceVault:
		if err := r.Vault.Validate(); err != nil {
			return &Error{Kind: Invalid, Ref: r.describe(), Err: &safeError{msg: "field \"vault_ref\": " + vaultRule, cause: err}}
		}
		return nil
	case SourceEnv:
		return r.invalidField("env", checkEnvName(r.Env))
	case SourceFile:
		if r.Form == FormSecretRef {
			if rule := r.checkPath(r.File); rule != "" {
				return r.invalidField("file", rule)
			}
			if len(r.TrustedDirs) == 0 {
				return r.invalidField("trusted_dirs", "must list at least one trusted directory (a *_secret_ref file reference has no default)")
			}
			return nil
		}
		// A ".." element is refused later, by the resolver, as Blocked:
		// it is a policy escape rather than a grammar error.
		if tomltable.HasDotDot(r.File) {
			return nil
		}
		return r.invalidField("file", checkPath(r.File))
	case SourceExec:
		return r.invalidField("exec", argvRules.Broken(r.Exec))
	case "":
		return invalid("no source: exactly one of vault_ref, env, file or exec is needed")
	}
	return invalid("unknown source: it must be one of vault, env, file or exec")
}

// invalidField returns nil when rule is "", else an *Error of kind Invalid
// saying that field (by its inline-form name, written as r's form names
// it) breaks rule.
func (r Ref) invalidField(field, rule string) error {
	if rule == "" {
		return nil
	}
	return &Error{Kind: Invalid, Ref: r.describe(), Err: fmt.Errorf("field %q: %s", r.Field(field), rule)}
}

// checkPath returns the rule a path of r breaks, or "": the inline form
// wants absolute paths (or ~/) without ".." elements; the *_secret_ref
// form, like Palyra, also takes paths relative to the configuration's
// directory and ".." elements (the path is cleaned before it is checked
// against the trusted directories).
func (r Ref) checkPath(p string) string {
	if r.Form == FormSecretRef {
		return tomltable.AbsPathRules[:3].Broken(p)
	}
	return checkPath(p)
}

// policy is one policy field of a reference: the sources it applies to,
// the forms that have it, whether a Ref sets it (a zero value is the
// default), and the rule its value breaks, if any.
type policy struct {
	field string   // its name in the inline form (Ref.Field gives the other)
	only  []Source // nil: every source
	forms []Form   // nil: both forms
	set   func(Ref) bool
	check func(Ref) string // "" when the value is valid; nil: any value is
}

// policies are the policy fields of a reference, in the order
// docs/REFERENCES.md lists them and Validate checks them.
var policies = []policy{
	{field: "required", set: func(r Ref) bool { return r.Optional }},
	{field: "max_bytes", set: func(r Ref) bool { return r.MaxBytes != 0 }, check: func(r Ref) string {
		if r.MaxBytes < 1 || r.MaxBytes > MaxBytesLimit {
			return MaxBytesRule
		}
		return ""
	}},
	{field: "refresh", set: func(r Ref) bool { return r.Refresh != "" }, check: func(r Ref) string {
		rules := refreshRule
		if r.Form == FormSecretRef {
			rules = refreshPolicyRule()
		}
		if rule := rules.Broken(string(r.Refresh)); rule != "" {
			return rule
		}
		if r.Refresh == RefreshOnChange && r.Source != SourceVault {
			return OnChangeRule
		}
		return ""
	}},
	{field: "snapshot_policy", forms: []Form{FormSecretRef}, set: func(r Ref) bool { return r.Snapshot != "" }, check: func(r Ref) string {
		return snapshotRule().Broken(string(r.Snapshot))
	}},
	{field: "trim_newline", only: []Source{SourceFile, SourceExec}, forms: []Form{FormInline}, set: func(r Ref) bool { return r.KeepNewline }},
	{field: "trusted_dirs", only: []Source{SourceFile}, set: func(r Ref) bool { return len(r.TrustedDirs) > 0 }, check: func(r Ref) string {
		return each(r.TrustedDirs, r.checkPath)
	}},
	{field: "allow_symlinks", only: []Source{SourceFile}, set: func(r Ref) bool { return r.AllowSymlinks }},
	{field: "timeout_ms", only: []Source{SourceExec}, set: func(r Ref) bool { return r.Timeout != 0 }, check: func(r Ref) string {
		if r.Timeout < time.Millisecond || r.Timeout > MaxTimeout {
			return TimeoutRule
		}
		return ""
	}},
	{field: "pass_env", only: []Source{SourceExec}, set: func(r Ref) bool { return len(r.PassEnv) > 0 }, check: func(r Ref) string {
		return each(r.PassEnv, checkEnvName)
	}},
	{field: "dir", only: []Source{SourceExec}, set: func(r Ref) bool { return r.Dir != "" }, check: func(r Ref) string {
		return r.checkPath(r.Dir)
	}},
	{field: "redaction_label", forms: []Form{FormSecretRef}, set: func(r Ref) bool { return r.RedactionLabel != "" }, check: func(r Ref) string {
		return labelRules.Broken(r.RedactionLabel)
	}},
	{field: "display_name", forms: []Form{FormSecretRef}, set: func(r Ref) bool { return r.DisplayName != "" }, check: func(r Ref) string {
		return labelRules.Broken(r.DisplayName)
	}},
}

// MaxBytesRule and TimeoutRule are the rules of max_bytes and timeout_ms
// (exec_timeout_ms), in tomltable.IntRule's words: they name this
// project's caps (MaxBytesLimit, MaxTimeout), which a *_secret_ref
// reference meets too (Palyra has none).
const (
	MaxBytesRule = "must be an integer between 1 and 4194304 (this vault's cap)"
	TimeoutRule  = "must be an integer between 1 and 300000 (this vault's cap, 5 minutes)"
)

// labelRules are the rules of display_name and redaction_label: Palyra's.
var labelRules = tomltable.Rules[string]{
	{OK: func(s string) bool { return strings.TrimSpace(s) != "" }, Text: "must not be empty"},
	{OK: func(s string) bool { return len(strings.TrimSpace(s)) <= MaxLabelLen }, Text: "longer than 128 bytes"},
	{OK: func(s string) bool { return !hasNUL(s) }, Text: "contains a NUL byte"},
}

// policyOf returns the policy field named field, or nil.
func policyOf(field string) *policy {
	for i := range policies {
		if policies[i].field == field {
			return &policies[i]
		}
	}
	return nil
}

// policyNames returns the names of the policy fields of the inline form.
func policyNames() []string {
	var names []string
	for _, p := range policies {
		if p.forms == nil || slices.Contains(p.forms, FormInline) {
			names = append(names, p.field)
		}
	}
	return names
}

// appliesTo reports whether the field may be set on a reference to src.
func (p *policy) appliesTo(src Source) bool { return p.only == nil || slices.Contains(p.only, src) }

// onlyRule says which sources the field applies to.
func (p *policy) onlyRule() string {
	names := make([]string, len(p.only))
	for i, s := range p.only {
		names[i] = string(s)
	}
	return "applies only to " + strings.Join(names, " and ") + " references"
}

// refreshRule is the rule of the refresh field; refreshPolicyRule of
// refresh_policy, snapshotRule of snapshot_policy (the *_secret_ref form).
// The last two are built when used: they are rare.
var refreshRule = tomltable.Rules[string]{tomltable.OneOf(string(RefreshOnStartup), string(RefreshOnReload), string(RefreshOnChange), string(RefreshPerUse))}

func refreshPolicyRule() tomltable.Rules[string] {
	return tomltable.Rules[string]{tomltable.OneOf(string(RefreshOnStartup), string(RefreshOnReload), string(RefreshOnChange), string(RefreshPerRun), string(RefreshPerUse))}
}

// OnChangeRule is the rule an on_change refresh breaks on a reference
// that is not a vault reference: only the vault reports changes.
const OnChangeRule = "on_change applies only to vault references (only the vault reports its changes); use on_reload or per_use for this source"

func snapshotRule() tomltable.Rules[string] {
	return tomltable.Rules[string]{tomltable.OneOf(string(SnapshotFreezeUntilReload), string(SnapshotRefreshPerRun), string(SnapshotRefreshPerUse))}
}

// each returns the first rule an element of list breaks, or "".
func each(list []string, check func(string) string) string {
	for _, s := range list {
		if rule := check(s); rule != "" {
			return rule
		}
	}
	return ""
}

const vaultRule = "not a valid vault reference: it must be vault://<scope>/<key>, the scope a path scope (segments matching [a-z0-9][a-z0-9._:-]* joined by /) or a Palyra scope (global, principal:<id>, channel:<name>:<id>, skill:<id>), the key matching [a-z0-9._-]{1,128}"

// checkEnvName returns "" when name is a portable environment variable name
// ([A-Za-z_][A-Za-z0-9_]*, at most MaxNameLen bytes), else the rule broken.
func checkEnvName(name string) string { return tomltable.EnvNameRules.Broken(name) }

// checkPath returns "" when p is an absolute path (or starts with "~/") of
// sane length without NUL bytes or ".." elements, else the rule broken.
func checkPath(p string) string { return tomltable.PathRules.Broken(p) }

// argvRules are the rules of a command's argv.
var argvRules = tomltable.Rules[[]string]{
	{OK: func(argv []string) bool { return len(argv) > 0 && argv[0] != "" },
		Text: "must be a non-empty argv list whose first element names the program"},
	{OK: func(argv []string) bool { return len(argv) <= MaxArgs },
		Text: fmt.Sprintf("has more than %d elements", MaxArgs)},
	{OK: func(argv []string) bool { return !slices.ContainsFunc(argv, hasNUL) },
		Text: "an element contains a NUL byte"},
	{OK: func(argv []string) bool {
		total := 0
		for _, a := range argv {
			total += len(a)
		}
		return total <= MaxArgvBytes
	}, Text: fmt.Sprintf("holds more than %d bytes", MaxArgvBytes)},
}

func hasNUL(s string) bool { return strings.ContainsRune(s, 0) }
