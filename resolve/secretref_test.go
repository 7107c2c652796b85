package resolve

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/tomltable"
	"github.com/palyra/palyra-vault/secret"
)

// Every kind and every field of Palyra's SecretRef, in the shapes Palyra's
// own tests and docs write them.
func TestParseSecretRefAcceptsEveryKindAndField(t *testing.T) {
	tests := []struct {
		name, inline string
		want         Ref
	}{
		{"vault bare", `{ kind = "vault", vault_ref = "global/openai_api_key" }`,
			Ref{Source: SourceVault, Form: FormSecretRef, Vault: secret.Ref{Scope: "global", Key: "openai_api_key"}}},
		{"vault with our prefix", `{ kind = "vault", vault_ref = "vault://global/openai_api_key" }`,
			Ref{Source: SourceVault, Form: FormSecretRef, Vault: secret.Ref{Scope: "global", Key: "openai_api_key"}}},
		{"env with every policy field", `{ kind = "env", variable = "PALYRA_OPENAI_API_KEY", required = false, refresh_policy = "on_reload",
			snapshot_policy = "refresh_per_use", max_bytes = 4096, redaction_label = "model_provider.openai_api_key", display_name = "OpenAI API key" }`,
			Ref{Source: SourceEnv, Form: FormSecretRef, Env: "PALYRA_OPENAI_API_KEY", Optional: true, Refresh: RefreshOnReload,
				Snapshot: SnapshotRefreshPerUse, MaxBytes: 4096, RedactionLabel: "model_provider.openai_api_key", DisplayName: "OpenAI API key"}},
		{"file relative", `{ kind = "file", path = "secrets/admin.txt", trusted_dirs = ["secrets"], allow_symlinks = true }`,
			Ref{Source: SourceFile, Form: FormSecretRef, File: "secrets/admin.txt", TrustedDirs: []string{"secrets"}, AllowSymlinks: true}},
		{"file absolute, paths trimmed", `{ kind = "file", path = " /run/secrets/k ", trusted_dirs = ["/run/secrets "] }`,
			Ref{Source: SourceFile, Form: FormSecretRef, File: "/run/secrets/k", TrustedDirs: []string{"/run/secrets"}}},
		{"exec", `{ kind = "exec", command = ["git", "credential"], inherited_env = ["GNUPGHOME"], cwd = "tools", exec_timeout_ms = 250, refresh_policy = "per_run" }`,
			Ref{Source: SourceExec, Form: FormSecretRef, Exec: []string{"git", "credential"}, PassEnv: []string{"GNUPGHOME"}, Dir: "tools",
				Timeout: 250 * time.Millisecond, Refresh: RefreshPerRun}},
		{"per_use, freeze", `{ kind = "env", variable = "X", refresh_policy = "per_use", snapshot_policy = "freeze_until_reload" }`,
			Ref{Source: SourceEnv, Form: FormSecretRef, Env: "X", Refresh: RefreshPerUse, Snapshot: SnapshotFreezeUntilReload}},
		{"on_startup explicit", `{ kind = "env", variable = "X", refresh_policy = "on_startup", snapshot_policy = "refresh_per_run" }`,
			Ref{Source: SourceEnv, Form: FormSecretRef, Env: "X", Refresh: RefreshOnStartup, Snapshot: SnapshotRefreshPerRun}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSecretRef(decodeTable(t, tt.inline))
			if err != nil {
				t.Fatalf("ParseSecretRef: %v", err)
			}
			bare := got
			bare.palyraJSON = nil // TestPalyraFingerprint checks it
			if !reflect.DeepEqual(bare, tt.want) {
				t.Fatalf("got %s\nwant %s", fields(got), fields(tt.want))
			}
			// The string form's reader (tomlref.Parse) reads the same table.
			if viaParse, err := ParseInlineTable(decodeTable(t, tt.inline)); err != nil || !reflect.DeepEqual(viaParse, got) {
				t.Errorf("ParseInlineTable = %s, %v", fields(viaParse), err)
			}
		})
	}
}

func TestParseSecretRefRejectsBrokenTablesNamingFieldAndRule(t *testing.T) {
	tests := []struct{ name, inline, want string }{
		{"no kind", `{ variable = "X" }`, `field "kind" is missing`},
		{"unknown kind", `{ kind = "keychain", variable = "X" }`, `field "kind": must be one of vault, env, file or exec`},
		{"kind not a string", `{ kind = 1 }`, `field "kind": must be a string`},
		{"unknown field", `{ kind = "env", variable = "X", refresh = "on_reload" }`, `unknown field "refresh"; the fields of a _secret_ref table are kind, vault_ref`},
		{"source field missing", `{ kind = "env", env = "X" }`, `unknown field "env"`},
		{"variable missing", `{ kind = "env", required = false }`, `field "variable" is missing: a reference of kind "env" needs it`},
		{"field of another kind", `{ kind = "env", variable = "X", cwd = "/tmp" }`, `field "cwd": applies only to references of kind "exec"`},
		{"timeout on env", `{ kind = "env", variable = "X", exec_timeout_ms = 5 }`, `field "exec_timeout_ms": applies only to references of kind "exec"`},
		{"timeout zero", `{ kind = "exec", command = ["x"], exec_timeout_ms = 0 }`, `field "exec_timeout_ms": must be an integer between 1 and 300000 (this vault's cap`},
		{"timeout above our cap", `{ kind = "exec", command = ["x"], exec_timeout_ms = 300001 }`, `(this vault's cap, 5 minutes)`},
		{"max_bytes zero", `{ kind = "env", variable = "X", max_bytes = 0 }`, `field "max_bytes": must be an integer between 1 and 4194304 (this vault's cap)`},
		{"max_bytes above our cap", `{ kind = "env", variable = "X", max_bytes = 4194305 }`, `field "max_bytes": must be an integer between 1 and 4194304 (this vault's cap)`},
		{"bad variable", `{ kind = "env", variable = "A-B" }`, `field "variable": must be a variable name`},
		{"file without trusted_dirs", `{ kind = "file", path = "secrets/a" }`, `field "trusted_dirs": must list at least one trusted directory`},
		{"file empty path", `{ kind = "file", path = "", trusted_dirs = ["."] }`, `field "path": must not be empty`},
		{"empty command", `{ kind = "exec", command = [] }`, `field "command": must be a non-empty argv list`},
		{"bad inherited_env", `{ kind = "exec", command = ["x"], inherited_env = ["A=B"] }`, `field "inherited_env": must be a variable name`},
		{"empty cwd", `{ kind = "exec", command = ["x"], cwd = " " }`, `field "cwd": must not be empty`},
		{"bad refresh_policy", `{ kind = "env", variable = "X", refresh_policy = "hourly" }`, `field "refresh_policy": must be one of on_startup, on_reload, on_change, per_run or per_use`},
		{"bad snapshot_policy", `{ kind = "env", variable = "X", snapshot_policy = "never" }`, `field "snapshot_policy": must be one of freeze_until_reload, refresh_per_run or refresh_per_use`},
		{"blank display_name", `{ kind = "env", variable = "X", display_name = "  " }`, `field "display_name": must not be empty`},
		{"long redaction_label", `{ kind = "env", variable = "X", redaction_label = "` + strings.Repeat("a", 129) + `" }`, `field "redaction_label": longer than 128 bytes`},
		{"bad vault_ref", `{ kind = "vault", vault_ref = "global" }`, `field "vault_ref": not a valid vault reference`},
		{"required not bool", `{ kind = "env", variable = "X", required = "no" }`, `field "required": must be true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSecretRef(decodeTable(t, tt.inline))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not of kind Invalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// Our inline form has no kind: such a table is Palyra's form, read only
// under a *_secret_ref key, and ParseTable says so instead of parsing it.
func TestParseTableRefusesTheKindTaggedForm(t *testing.T) {
	_, err := ParseTable(decodeTable(t, `{ kind = "vault", vault_ref = "global/x" }`))
	if err == nil || !strings.Contains(err.Error(), "_secret_ref") {
		t.Fatalf("ParseTable = %v, want an error pointing at the _secret_ref form", err)
	}
}

func TestSecretRefErrorsNeverQuoteAFieldsValue(t *testing.T) {
	const pasted = "sk-Proj-ABCdef0123456789secret"
	for _, in := range []string{
		`{ kind = "` + pasted + `" }`,
		`{ kind = "env", variable = "` + pasted + `-" }`,
		`{ kind = "vault", vault_ref = "` + pasted + `" }`,
		`{ kind = "env", variable = "X", display_name = "` + pasted + `\u0000" }`,
		`{ kind = "exec", command = ["` + pasted + `\u0000"] }`,
		`{ kind = "env", variable = "X", ` + strings.ToLower(pasted[:6]) + ` = 1 }`,
	} {
		_, err := ParseSecretRef(decodeTable(t, in))
		if err == nil {
			t.Fatalf("%s: accepted", in)
		}
		if form := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(form, "ABCdef") {
			t.Errorf("%s: error shows the content: %s", in, form)
		}
	}
}

func TestSecretRefPolicyMapping(t *testing.T) {
	tests := []struct {
		refresh  Refresh
		snapshot Snapshot
		want     Refresh
	}{
		{"", "", RefreshOnStartup},
		{RefreshOnReload, "", RefreshOnReload},
		{RefreshPerRun, "", RefreshPerUse},
		{RefreshPerUse, SnapshotFreezeUntilReload, RefreshPerUse},
		{RefreshOnStartup, SnapshotRefreshPerRun, RefreshPerUse},
		{RefreshOnReload, SnapshotRefreshPerUse, RefreshPerUse},
	}
	for _, tt := range tests {
		r := Ref{Source: SourceEnv, Env: "X", Form: FormSecretRef, Refresh: tt.refresh, Snapshot: tt.snapshot}
		if got := r.RefreshPolicy(); got != tt.want {
			t.Errorf("refresh_policy %q, snapshot_policy %q: effective %q, want %q", tt.refresh, tt.snapshot, got, tt.want)
		}
	}
	if got := (Ref{Source: SourceExec, Exec: []string{"x"}, Form: FormSecretRef}).CommandTimeout(); got != PalyraDefaultTimeout {
		t.Errorf("default timeout of the _secret_ref form = %v, want %v", got, PalyraDefaultTimeout)
	}
	if got := ExecRef("x").CommandTimeout(); got != DefaultTimeout {
		t.Errorf("default timeout of the inline form = %v, want %v", got, DefaultTimeout)
	}
	// Our form refuses per_run and the Palyra-only fields.
	for _, r := range []Ref{
		{Source: SourceEnv, Env: "X", Refresh: RefreshPerRun},
		{Source: SourceEnv, Env: "X", Snapshot: SnapshotRefreshPerRun},
		{Source: SourceEnv, Env: "X", DisplayName: "x"},
		{Source: SourceFile, File: "/a/b", Form: FormSecretRef, TrustedDirs: []string{"/a"}, KeepNewline: true},
	} {
		if err := r.Validate(); KindOf(err) != Invalid {
			t.Errorf("Validate(%s) = %v, want Invalid", fields(r), err)
		}
	}
}

func TestInDirAnchorsRelativePathsOfTheSecretRefFormOnly(t *testing.T) {
	dir := "/etc/palyra"
	file := Ref{Source: SourceFile, Form: FormSecretRef, File: "secrets/a", TrustedDirs: []string{"secrets", "/abs", "~/h"}}
	got := file.InDir(dir)
	if got.File != "/etc/palyra/secrets/a" || !reflect.DeepEqual(got.TrustedDirs, []string{"/etc/palyra/secrets", "/abs", "~/h"}) {
		t.Errorf("InDir(file) = %s", fields(got))
	}
	if file.TrustedDirs[0] != "secrets" {
		t.Error("InDir changed the original's trusted_dirs")
	}
	exec := Ref{Source: SourceExec, Form: FormSecretRef, Exec: []string{"x"}}
	if got := exec.InDir(dir); got.Dir != dir {
		t.Errorf("a command without cwd runs in %q, want the config's directory", got.Dir)
	}
	exec.Dir = "tools"
	if got := exec.InDir(dir); got.Dir != "/etc/palyra/tools" {
		t.Errorf("cwd = %q", got.Dir)
	}
	ours := ExecRef("x")
	if got := ours.InDir(dir); got.Dir != "" {
		t.Errorf("InDir changed an inline reference: %s", fields(got))
	}
}

// The caps' rules are constants (cheap at init); they must say what
// tomltable.IntRule would.
func TestCapRulesMatchTheCaps(t *testing.T) {
	if !strings.HasPrefix(MaxBytesRule, tomltable.IntRule(1, MaxBytesLimit)+" ") ||
		!strings.HasPrefix(TimeoutRule, tomltable.IntRule(1, MaxTimeout.Milliseconds())+" ") {
		t.Errorf("the cap rules %q and %q do not match the caps", MaxBytesRule, TimeoutRule)
	}
}
