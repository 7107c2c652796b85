// Package resolve turns a secret reference into the secret's bytes. A
// reference points at a secret in the vault (vault://scope/key), an
// environment variable, a file inside trusted directories, or the standard
// output of a command run without a shell; it also carries a policy: whether
// the value is required, how large it may be, when it is refreshed, and the
// source's own limits (trusted directories and symlinks for files; timeout,
// passed environment and working directory for commands).
//
// The reference grammar, in TOML and in the short string form, is specified
// in docs/REFERENCES.md; ParseTable and Parse implement it. A Resolver
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
	"strings"
	"time"

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
	// MaxArgs is the most argv elements a command reference may have.
	MaxArgs = 256
	// MaxArgvBytes bounds the total size of a command reference's argv.
	MaxArgvBytes = 64 << 10
	// MaxNameLen bounds environment variable names (env and pass_env).
	MaxNameLen = 256
	// MaxPathLen bounds file, trusted_dirs and dir paths.
	MaxPathLen = 4096
)

// Ref is a secret reference: a source and its policy. The zero values of the
// policy fields are the defaults, so a Ref literal naming only its source is
// a required reference with default limits. Use Validate, or build it with
// ParseTable, Parse or the constructors, before resolving it.
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

// RefreshPolicy returns the effective refresh policy.
func (r Ref) RefreshPolicy() Refresh {
	if r.Refresh == "" {
		return RefreshOnStartup
	}
	return r.Refresh
}

// CommandTimeout returns the effective command timeout.
func (r Ref) CommandTimeout() time.Duration {
	if r.Timeout == 0 {
		return DefaultTimeout
	}
	return r.Timeout
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
	fail := func(field, rule string) error {
		return &Error{Kind: Invalid, Ref: r.describe(), Err: fmt.Errorf("field %q: %s", field, rule)}
	}
	switch r.Source {
	case SourceVault:
		if err := r.Vault.Validate(); err != nil {
			return &Error{Kind: Invalid, Ref: r.describe(), Err: &safeError{msg: "field \"vault_ref\": " + vaultRule, cause: err}}
		}
	case SourceEnv:
		if msg := checkEnvName(r.Env); msg != "" {
			return fail("env", msg)
		}
	case SourceFile:
		// A ".." element is refused later, by the resolver, as Blocked:
		// it is a policy escape rather than a grammar error.
		if msg := checkPath(r.File); msg != "" && !hasDotDot(r.File) {
			return fail("file", msg)
		}
	case SourceExec:
		if msg := checkArgv(r.Exec); msg != "" {
			return fail("exec", msg)
		}
	case "":
		return invalid("no source: exactly one of vault_ref, env, file or exec is needed")
	default:
		return invalid("unknown source: it must be one of vault, env, file or exec")
	}
	if r.MaxBytes < 0 || r.MaxBytes > MaxBytesLimit {
		return fail("max_bytes", fmt.Sprintf("%d is not between 1 and %d", r.MaxBytes, MaxBytesLimit))
	}
	switch r.Refresh {
	case "", RefreshOnStartup, RefreshOnReload, RefreshPerUse:
	default:
		return fail("refresh", "must be one of on_startup, on_reload or per_use")
	}
	isFile, isExec := r.Source == SourceFile, r.Source == SourceExec
	if r.KeepNewline && !isFile && !isExec {
		return fail("trim_newline", "applies only to file and exec references")
	}
	if len(r.TrustedDirs) > 0 && !isFile {
		return fail("trusted_dirs", "applies only to file references")
	}
	for _, d := range r.TrustedDirs {
		if msg := checkPath(d); msg != "" {
			return fail("trusted_dirs", msg)
		}
	}
	if r.AllowSymlinks && !isFile {
		return fail("allow_symlinks", "applies only to file references")
	}
	if r.Timeout != 0 && !isExec {
		return fail("timeout_ms", "applies only to exec references")
	}
	if r.Timeout < 0 || r.Timeout > MaxTimeout || (r.Timeout > 0 && r.Timeout < time.Millisecond) {
		return fail("timeout_ms", fmt.Sprintf("%d is not between 1 and %d", r.Timeout.Milliseconds(), MaxTimeout.Milliseconds()))
	}
	if len(r.PassEnv) > 0 && !isExec {
		return fail("pass_env", "applies only to exec references")
	}
	for _, name := range r.PassEnv {
		if msg := checkEnvName(name); msg != "" {
			return fail("pass_env", msg)
		}
	}
	if r.Dir != "" {
		if !isExec {
			return fail("dir", "applies only to exec references")
		}
		if msg := checkPath(r.Dir); msg != "" {
			return fail("dir", msg)
		}
	}
	return nil
}

const vaultRule = "not a valid vault reference: it must be vault://<scope>/<key> with scope segments matching [a-z0-9][a-z0-9._:-]* and a key matching [a-z0-9][a-z0-9._-]*"

// checkEnvName returns "" when name is a portable environment variable name
// ([A-Za-z_][A-Za-z0-9_]*, at most MaxNameLen bytes), else the rule broken.
func checkEnvName(name string) string {
	const rule = "must be a variable name matching [A-Za-z_][A-Za-z0-9_]*"
	if name == "" {
		return "must not be empty"
	}
	if len(name) > MaxNameLen {
		return fmt.Sprintf("longer than %d bytes", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return rule
		}
	}
	return ""
}

// checkPath returns "" when p is an absolute path (or starts with "~/") of
// sane length without NUL bytes or ".." elements, else the rule broken.
func checkPath(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case len(p) > MaxPathLen:
		return fmt.Sprintf("longer than %d bytes", MaxPathLen)
	case strings.ContainsRune(p, 0):
		return "contains a NUL byte"
	case !isHomePath(p) && !filepath.IsAbs(p):
		return "must be an absolute path (or start with ~/)"
	case hasDotDot(p):
		return "must not contain a \"..\" element"
	}
	return ""
}

// checkArgv returns "" when argv is a usable command line, else the rule
// broken.
func checkArgv(argv []string) string {
	if len(argv) == 0 || argv[0] == "" {
		return "must be a non-empty argv list whose first element names the program"
	}
	if len(argv) > MaxArgs {
		return fmt.Sprintf("has %d elements, at most %d allowed", len(argv), MaxArgs)
	}
	total := 0
	for _, a := range argv {
		total += len(a)
		if strings.ContainsRune(a, 0) {
			return "an element contains a NUL byte"
		}
	}
	if total > MaxArgvBytes {
		return fmt.Sprintf("holds more than %d bytes", MaxArgvBytes)
	}
	return ""
}

func isHomePath(p string) bool {
	return strings.HasPrefix(p, "~/") || filepath.Separator == '\\' && strings.HasPrefix(p, `~\`)
}

// hasDotDot reports whether any element of p, split on '/' (and '\' on
// Windows), is "..".
func hasDotDot(p string) bool {
	for _, el := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == filepath.Separator }) {
		if el == ".." {
			return true
		}
	}
	return false
}
