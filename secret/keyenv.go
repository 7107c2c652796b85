package secret

import (
	"os"
	"slices"
	"strings"
)

// Environment variables that carry key material: whoever reads one can
// open a whole vault or a backup. They are listed once, in keyMaterialEnv,
// and every rule about them (a child of "palyra secrets run" does not get
// them unless asked for by name, their values are masked in its output, a
// reference may not read them) asks IsKeyMaterialEnv or KeyMaterialEnv.
const (
	// EnvVaultPassphrase holds the passphrase of a passphrase vault (and
	// of a backup, for export and import, when no backup passphrase is
	// given).
	EnvVaultPassphrase = "PALYRA_VAULT_PASSPHRASE"
	// EnvNewVaultPassphrase holds the new passphrase of init and
	// rotate-key.
	EnvNewVaultPassphrase = "PALYRA_VAULT_NEW_PASSPHRASE"
	// EnvBackupPassphrase holds the passphrase of a backup for export and
	// import.
	EnvBackupPassphrase = "PALYRA_BACKUP_PASSPHRASE"
	// EnvEtcdPassword holds the password of the etcd user a shared vault
	// connects as, when its settings name no password file: whoever has
	// it can read, delete or roll back every envelope of the fleet.
	EnvEtcdPassword = "PALYRA_ETCD_PASSWORD"
)

// keyMaterialEnv is the one list of variables that carry key material (or,
// for the etcd password, access to a fleet's whole store). A variable
// added later is added here, and every rule follows.
var keyMaterialEnv = []string{
	EnvVaultPassphrase,
	EnvNewVaultPassphrase,
	EnvBackupPassphrase,
	EnvEtcdPassword,
}

// KeyMaterialEnv returns the names of the environment variables that carry
// key material, in a new slice the caller may change.
func KeyMaterialEnv() []string {
	return append([]string(nil), keyMaterialEnv...)
}

// IsKeyMaterialEnv reports whether the environment variable name carries
// key material. Case is ignored, as Windows ignores it in variable names
// (on Unix this also covers a differently cased copy, which is harmless).
func IsKeyMaterialEnv(name string) bool {
	for _, k := range keyMaterialEnv {
		if strings.EqualFold(name, k) {
			return true
		}
	}
	return false
}

// WithoutKeyMaterial returns a copy of env (NAME=value entries, as from
// os.Environ) without the variables that carry key material, apart from
// those named in keep (case ignored): the environment to give a program
// palyra starts.
func WithoutKeyMaterial(env []string, keep ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if IsKeyMaterialEnv(name) && !slices.ContainsFunc(keep, func(k string) bool { return strings.EqualFold(k, name) }) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// KeyMaterialValues returns the non-empty values that the variables of
// KeyMaterialEnv have in this process's environment, for masking; the
// caller should clear them when done.
func KeyMaterialValues() [][]byte {
	var out [][]byte
	for _, kv := range os.Environ() {
		name, value, ok := strings.Cut(kv, "=")
		if ok && value != "" && IsKeyMaterialEnv(name) {
			out = append(out, []byte(value))
		}
	}
	return out
}
