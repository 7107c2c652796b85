package resolve

import (
	"errors"
	"strings"
	"testing"
)

// on_change is accepted wherever a refresh policy is, on vault references
// only, in every form that can carry a policy.
func TestOnChangeIsAVaultOnlyRefreshPolicyInEveryForm(t *testing.T) {
	tests := []struct {
		name, text string
		// want is the effective policy; "" when the text must be refused
		// with wantErr.
		want    Refresh
		wantErr string
	}{
		{name: "inline vault", text: `{ vault_ref = "vault://global/k", refresh = "on_change" }`, want: RefreshOnChange},
		{name: "inline vault bare, optional", text: `{ vault_ref = "global/k", refresh = "on_change", required = false }`, want: RefreshOnChange},
		{name: "secret_ref vault", text: `{ kind = "vault", vault_ref = "global/k", refresh_policy = "on_change" }`, want: RefreshOnChange},
		{name: "secret_ref vault, freeze", text: `{ kind = "vault", vault_ref = "global/k", refresh_policy = "on_change", snapshot_policy = "freeze_until_reload" }`, want: RefreshOnChange},
		{name: "secret_ref vault, refresh_per_use wins", text: `{ kind = "vault", vault_ref = "global/k", refresh_policy = "on_change", snapshot_policy = "refresh_per_use" }`, want: RefreshPerUse},
		{name: "inline env", text: `{ env = "X", refresh = "on_change" }`, wantErr: `field "refresh": on_change applies only to vault references`},
		{name: "inline file", text: `{ file = "/a/b", trusted_dirs = ["/a"], refresh = "on_change" }`, wantErr: `field "refresh": on_change applies only to vault references`},
		{name: "inline exec", text: `{ exec = ["x"], refresh = "on_change" }`, wantErr: `field "refresh": on_change applies only to vault references`},
		{name: "secret_ref env", text: `{ kind = "env", variable = "X", refresh_policy = "on_change" }`, wantErr: `field "refresh_policy": on_change applies only to vault references`},
		{name: "secret_ref exec", text: `{ kind = "exec", command = ["x"], refresh_policy = "on_change" }`, wantErr: `field "refresh_policy": on_change applies only to vault references`},
		{name: "misspelt", text: `{ vault_ref = "global/k", refresh = "on-change" }`, wantErr: `field "refresh": must be one of on_startup, on_reload, on_change or per_use`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parsers = map[string]func() (Ref, error){
				"ParseInlineTable": func() (Ref, error) { return ParseInlineTable(decodeTable(t, tt.text)) },
			}
			if strings.Contains(tt.text, "kind =") {
				parsers["ParseSecretRef"] = func() (Ref, error) { return ParseSecretRef(decodeTable(t, tt.text)) }
			} else {
				parsers["ParseTable"] = func() (Ref, error) { return ParseTable(decodeTable(t, tt.text)) }
			}
			for name, parse := range parsers {
				r, err := parse()
				if tt.wantErr != "" {
					if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("%s = %v, want an Invalid error containing %q", name, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := r.RefreshPolicy(); got != tt.want {
					t.Fatalf("%s: effective refresh %q, want %q", name, got, tt.want)
				}
			}
		})
	}
}

// A Ref built in Go meets the same rule as a parsed one.
func TestValidateRefusesOnChangeOnOtherSources(t *testing.T) {
	for _, r := range []Ref{
		{Source: SourceEnv, Env: "X", Refresh: RefreshOnChange},
		{Source: SourceExec, Exec: []string{"x"}, Refresh: RefreshOnChange, Form: FormSecretRef},
	} {
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), OnChangeRule) {
			t.Errorf("Validate(%v on_change) = %v, want the on_change rule", r.Source, err)
		}
	}
	ok := Ref{Source: SourceVault, Refresh: RefreshOnChange}
	ok.Vault.Scope, ok.Vault.Key = "global", "k"
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(vault on_change) = %v", err)
	}
}
