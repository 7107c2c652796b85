package secret

import (
	"slices"
	"testing"
)

func TestIsKeyMaterialEnv(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{EnvVaultPassphrase, true},
		{EnvNewVaultPassphrase, true},
		{EnvBackupPassphrase, true},
		{EnvEtcdPassword, true},
		{"palyra_vault_passphrase", true},
		{"PALYRA_VAULT_DIR", false},
		{"PALYRA_VAULT_PASSPHRASE_FILE", false},
		{"HOME", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsKeyMaterialEnv(tt.name); got != tt.want {
			t.Errorf("IsKeyMaterialEnv(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestKeyMaterialEnvIsACopy(t *testing.T) {
	l := KeyMaterialEnv()
	l[0] = "HOME"
	if IsKeyMaterialEnv("HOME") || !slices.Contains(KeyMaterialEnv(), EnvVaultPassphrase) {
		t.Fatal("changing the returned slice changed the list")
	}
}

func TestKeyMaterialValuesReadsTheEnvironment(t *testing.T) {
	t.Setenv(EnvVaultPassphrase, "vault-pass")
	t.Setenv(EnvNewVaultPassphrase, "") // empty: nothing to mask
	t.Setenv(EnvBackupPassphrase, "backup-pass")
	t.Setenv("PALYRA_VAULT_DIR", "not-key-material")
	var got []string
	for _, v := range KeyMaterialValues() {
		got = append(got, string(v))
	}
	slices.Sort(got)
	if want := []string{"backup-pass", "vault-pass"}; !slices.Equal(got, want) {
		t.Fatalf("KeyMaterialValues = %q, want %q", got, want)
	}
}
