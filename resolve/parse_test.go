package resolve

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/pelletier/go-toml/v2"
)

// decodeTable decodes `ref = <inline>` the way the config package does.
func decodeTable(t *testing.T, inline string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := toml.Unmarshal([]byte("ref = "+inline), &doc); err != nil {
		t.Fatalf("test input does not parse: %v", err)
	}
	return doc["ref"].(map[string]any)
}

func TestParseTableAcceptsEveryForm(t *testing.T) {
	tests := []struct {
		name   string
		inline string
		want   Ref
	}{
		{"vault full", `{ vault_ref = "vault://global/openai_api_key" }`,
			Ref{Source: SourceVault, Vault: secret.Ref{Scope: "global", Key: "openai_api_key"}}},
		{"vault bare", `{ vault_ref = "plugins/github/token" }`,
			Ref{Source: SourceVault, Vault: secret.Ref{Scope: "plugins/github", Key: "token"}}},
		{"env with policy", `{ env = "OPENAI_API_KEY", required = false, max_bytes = 100, refresh = "per_use" }`,
			Ref{Source: SourceEnv, Env: "OPENAI_API_KEY", Optional: true, MaxBytes: 100, Refresh: RefreshPerUse}},
		{"file", `{ file = "/run/secrets/key", trusted_dirs = ["/run/secrets"], allow_symlinks = true, trim_newline = false }`,
			Ref{Source: SourceFile, File: "/run/secrets/key", TrustedDirs: []string{"/run/secrets"}, AllowSymlinks: true, KeepNewline: true}},
		{"file in home", `{ file = "~/.secrets/key", trusted_dirs = ["~/.secrets"] }`,
			Ref{Source: SourceFile, File: "~/.secrets/key", TrustedDirs: []string{"~/.secrets"}}},
		{"exec", `{ exec = ["pass", "show", "openai"], timeout_ms = 1500, pass_env = ["HOME", "GNUPGHOME"], dir = "/tmp", refresh = "on_reload" }`,
			Ref{Source: SourceExec, Exec: []string{"pass", "show", "openai"}, Timeout: 1500 * time.Millisecond,
				PassEnv: []string{"HOME", "GNUPGHOME"}, Dir: "/tmp", Refresh: RefreshOnReload}},
		{"required true is the default", `{ env = "X", required = true }`, Ref{Source: SourceEnv, Env: "X"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTable(decodeTable(t, tt.inline))
			if err != nil {
				t.Fatalf("ParseTable: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v fields %+v, want %+v", got, fields(got), fields(tt.want))
			}
		})
	}
}

// fields prints a Ref's fields (Ref's own %+v is redacted).
func fields(r Ref) string {
	type plain Ref
	return fmt.Sprintf("%+v", plain(r))
}

func TestParseTableRejectsBrokenReferencesNamingFieldAndRule(t *testing.T) {
	tests := []struct {
		name, inline, want string
	}{
		{"no source", `{ required = false }`, "no source field"},
		{"two sources", `{ env = "A", file = "/x" }`, `fields "env" and "file" both name a source`},
		{"unknown field", `{ env = "A", timeout = 5 }`, `unknown field "timeout"`},
		{"env wrong type", `{ env = 5 }`, `field "env": must be a string`},
		{"env bad name", `{ env = "MY-VAR" }`, `field "env": must be a variable name`},
		{"env empty", `{ env = "" }`, `field "env": must not be empty`},
		{"vault bad scheme", `{ vault_ref = "https://global/x" }`, `field "vault_ref": not a valid vault reference`},
		{"vault no key", `{ vault_ref = "vault://global" }`, `field "vault_ref": not a valid vault reference`},
		{"file relative", `{ file = "secrets/key", trusted_dirs = ["/run"] }`, `field "file": must be an absolute path`},
		{"trusted dir relative", `{ file = "/run/key", trusted_dirs = ["run"] }`, `field "trusted_dirs": must be an absolute path`},
		{"trusted dir dotdot", `{ file = "/run/key", trusted_dirs = ["/run/../etc"] }`, `field "trusted_dirs": must not contain a ".." element`},
		{"trusted dirs empty", `{ file = "/run/key", trusted_dirs = [] }`, `field "trusted_dirs": must list at least one directory`},
		{"trusted dirs not strings", `{ file = "/run/key", trusted_dirs = [1] }`, `field "trusted_dirs": must be an array of strings`},
		{"exec empty", `{ exec = [] }`, `field "exec": must be a non-empty argv list`},
		{"exec a string", `{ exec = "pass show x" }`, `field "exec": must be an array of strings`},
		{"timeout zero", `{ exec = ["x"], timeout_ms = 0 }`, `field "timeout_ms": must be an integer between 1 and 300000`},
		{"timeout huge", `{ exec = ["x"], timeout_ms = 9999999999 }`, `field "timeout_ms": must be an integer between 1 and 300000`},
		{"timeout on env", `{ env = "X", timeout_ms = 10 }`, `field "timeout_ms": applies only to exec references`},
		{"pass_env on file", `{ file = "/a/b", trusted_dirs = ["/a"], pass_env = [] }`, `field "pass_env": applies only to exec references`},
		{"pass_env bad name", `{ exec = ["x"], pass_env = ["A=B"] }`, `field "pass_env": must be a variable name`},
		{"dir relative", `{ exec = ["x"], dir = "tmp" }`, `field "dir": must be an absolute path`},
		{"symlinks on exec", `{ exec = ["x"], allow_symlinks = false }`, `field "allow_symlinks": applies only to file references`},
		{"trim on vault", `{ vault_ref = "global/x", trim_newline = true }`, `field "trim_newline": applies only to file and exec references`},
		{"max_bytes zero", `{ env = "X", max_bytes = 0 }`, `field "max_bytes": must be an integer between 1 and 4194304`},
		{"max_bytes too big", `{ env = "X", max_bytes = 4194305 }`, `field "max_bytes": must be an integer between 1 and 4194304`},
		{"max_bytes float", `{ env = "X", max_bytes = 1.5 }`, `field "max_bytes": must be an integer`},
		{"refresh unknown", `{ env = "X", refresh = "hourly" }`, `field "refresh": must be one of on_startup, on_reload, on_change or per_use`},
		{"required not bool", `{ env = "X", required = "yes" }`, `field "required": must be true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTable(decodeTable(t, tt.inline))
			if err == nil {
				t.Fatal("ParseTable accepted a broken reference")
			}
			if !errors.Is(err, ErrInvalid) || KindOf(err) != Invalid {
				t.Errorf("error %v is not of kind Invalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// A secret pasted into a reference field by mistake must not reach the error
// message that reports the broken reference.
func TestInvalidReferenceErrorsDoNotQuoteTheirContent(t *testing.T) {
	const pasted = "sk-Proj-ABCdef0123456789secret"
	inputs := []string{
		`{ env = "` + pasted + `" }`,
		`{ vault_ref = "` + pasted + `" }`,
		`{ vault_ref = "vault://global/` + pasted + `" }`,
		`{ exec = ["` + pasted + "\\u0000" + `"] }`,
	}
	for _, in := range inputs {
		_, err := ParseTable(decodeTable(t, in))
		if err == nil {
			t.Fatalf("%s: accepted", in)
		}
		for _, form := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(form, pasted) || strings.Contains(form, "ABCdef") {
				t.Errorf("error for %s shows the content: %s", in, form)
			}
		}
	}
	for _, s := range []string{pasted, "vault://global/" + pasted, "{ env = \"" + pasted + "\" }"} {
		_, err := ParseString(s)
		if err == nil {
			t.Fatalf("ParseString(%q) accepted", s)
		}
		if strings.Contains(err.Error(), "ABCdef") {
			t.Errorf("ParseString error shows the content: %v", err)
		}
	}
	if _, err := ParseVaultRefField(pasted); err == nil || strings.Contains(err.Error(), "ABCdef") || !errors.Is(err, secret.ErrInvalidRef) {
		t.Errorf("ParseVaultRefField error = %v, want an invalid-ref error without the content", err)
	}
}

func TestParseStringForms(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{"vault://global/openai_api_key", VaultRef(secret.Ref{Scope: "global", Key: "openai_api_key"})},
		{"env:OPENAI_API_KEY", EnvRef("OPENAI_API_KEY")},
		{"file:/run/secrets/key", FileRef("/run/secrets/key")},
	}
	for _, tt := range tests {
		got, err := ParseString(tt.in)
		if err != nil {
			t.Fatalf("ParseString(%q): %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseString(%q) = %s, want %s", tt.in, fields(got), fields(tt.want))
		}
	}
	bad := []string{"", "global/x", "env:", "env:1X", "file:relative", "vault://global/", " env:A"}
	for _, in := range bad {
		_, err := ParseString(in)
		if KindOf(err) != Invalid || errors.Is(err, ErrInlineTable) {
			t.Errorf("ParseString(%q) error = %v, want kind Invalid, not ErrInlineTable", in, err)
		}
	}
}

// ParseString leaves inline tables, valid or not, to tomlref.Parse: it
// says so with ErrInlineTable, so that a program that links no TOML
// decoder can hand them to one that does.
func TestParseStringLeavesInlineTablesToTomlref(t *testing.T) {
	for _, in := range []string{`{ env = "A" }`, ` {exec=["x"]}`, "{", `{ kind = "env", variable = "A" }`, "\t{ env = 1 }"} {
		if !IsInlineTable(in) {
			t.Errorf("IsInlineTable(%q) = false", in)
		}
		_, err := ParseString(in)
		if !errors.Is(err, ErrInlineTable) || KindOf(err) != Invalid {
			t.Errorf("ParseString(%q) error = %v, want kind Invalid matching ErrInlineTable", in, err)
		}
	}
	for _, in := range []string{"env:A", "vault://global/a", "file:/x{", "", "x{"} {
		if IsInlineTable(in) {
			t.Errorf("IsInlineTable(%q) = true", in)
		}
	}
}

// ParseInlineTable reads Palyra's SecretRef when the table has a kind
// field, else an inline reference table.
func TestParseInlineTableDispatchesOnKind(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{`{ exec = ["pass", "show", "x"], timeout_ms = 500 }`, Ref{Source: SourceExec, Exec: []string{"pass", "show", "x"}, Timeout: 500 * time.Millisecond}},
		{` { env = "A", required = false }`, Ref{Source: SourceEnv, Env: "A", Optional: true}},
	}
	for _, tt := range tests {
		got, err := ParseInlineTable(decodeTable(t, tt.in))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseInlineTable(%s) = %s, %v; want %s", tt.in, fields(got), err, fields(tt.want))
		}
	}
	m := decodeTable(t, `{ kind = "env", variable = "A" }`)
	got, err := ParseInlineTable(m)
	want, werr := ParseSecretRef(m)
	if err != nil || werr != nil || got.Form != FormSecretRef || got.Env != want.Env {
		t.Errorf("ParseInlineTable(kind = env) = %s, %v; want ParseSecretRef's %s, %v", fields(got), err, fields(want), werr)
	}
	if _, err := ParseInlineTable(decodeTable(t, `{ env = 1 }`)); KindOf(err) != Invalid {
		t.Errorf("ParseInlineTable({ env = 1 }) error = %v, want kind Invalid", err)
	}
}

func TestRefPrintsOnlyItsFingerprint(t *testing.T) {
	r := ExecRef("curl", "-H", "Authorization: Bearer tok-SECRET")
	fp := r.Fingerprint()
	if len(fp) != 8 || strings.Trim(fp, "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q is not 8 hex digits", fp)
	}
	for _, form := range []string{r.String(), fmt.Sprint(r), fmt.Sprintf("%v|%+v|%#v|%s|%q", r, r, r, r, r)} {
		if strings.Contains(form, "tok-SECRET") || strings.Contains(form, "curl") {
			t.Errorf("printed form shows the argv: %s", form)
		}
	}
	if r.String() != "exec#"+fp {
		t.Errorf("String() = %q, want exec#%s", r.String(), fp)
	}
	if got := ExecRef("curl", "-H", "Authorization: Bearer tok-SECRET").Fingerprint(); got != fp {
		t.Errorf("fingerprint is not stable: %s then %s", fp, got)
	}
	if EnvRef("A").Fingerprint() == EnvRef("B").Fingerprint() {
		t.Error("different references share a fingerprint")
	}
	// Policy fields do not change the identity of the source.
	opt := EnvRef("A")
	opt.Optional, opt.MaxBytes = true, 10
	if opt.Fingerprint() != EnvRef("A").Fingerprint() {
		t.Error("policy fields changed the fingerprint")
	}
}

func TestCanonicalForms(t *testing.T) {
	tests := []struct {
		ref  Ref
		want string
	}{
		{VaultRef(secret.Ref{Scope: "plugins/github", Key: "token"}), "vault://plugins/github/token"},
		{EnvRef("HOME"), "env:HOME"},
		{FileRef("/run/secrets/x", "/run/secrets"), "file:/run/secrets/x"},
		{ExecRef("pass", "show", "a b"), `exec:["pass","show","a b"]`},
	}
	for _, tt := range tests {
		if got := tt.ref.Canonical(); got != tt.want {
			t.Errorf("Canonical() = %q, want %q", got, tt.want)
		}
	}
}

// Every field of a reference table, given a secret-looking value of any
// type or shape, is refused without the error showing the value.
func TestParseTableErrorsNeverQuoteAnyFieldsValue(t *testing.T) {
	const pasted, number = "sk-Proj-ABCdef0123456789secret", "7382019461187"
	values := []string{
		`"` + pasted + `"`, `"/` + pasted + `/../x"`, `"` + pasted + `\u0000"`, number, "-" + number, number + ".5",
		`["` + pasted + `"]`, `["` + pasted + `\u0000"]`, `[` + number + `]`, `[["` + pasted + `"]]`,
		`{ k = "` + pasted + `" }`,
	}
	// Each field is tried on a reference whose source it applies to.
	base := map[string]string{
		"vault_ref": "", "env": "", "file": "", "exec": "",
		"required": `env = "X", `, "max_bytes": `env = "X", `, "refresh": `env = "X", `,
		"trim_newline": `file = "/a/b", `, "trusted_dirs": `file = "/a/b", `, "allow_symlinks": `file = "/a/b", `,
		"timeout_ms": `exec = ["x"], `, "pass_env": `exec = ["x"], `, "dir": `exec = ["x"], `,
	}
	var tbl refTable
	if names := tbl.fields().Names(); len(names) != len(base) {
		t.Fatalf("the test covers %d fields, the table has %v", len(base), names)
	}
	for field, prefix := range base {
		for _, v := range values {
			in := "{ " + prefix + field + " = " + v + " }"
			_, err := ParseTable(decodeTable(t, in))
			if err == nil {
				// A path with ".." (blocked when resolved, not when
				// parsed) and an argv of one word are valid references.
				if field != "file" && field != "exec" {
					t.Errorf("%s: accepted", in)
				}
				continue
			}
			for _, leak := range []string{pasted, "ABCdef", number} {
				if form := fmt.Sprintf("%v %+v", err, err); strings.Contains(form, leak) {
					t.Errorf("%s: error %q shows %q", in, form, leak)
				}
			}
		}
	}
}
