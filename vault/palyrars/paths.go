package palyrars

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

// Names of the files and directories of a Rust vault and identity store.
const (
	// IdentityDir and VaultDir are the identity store and the vault root
	// under Palyra's state root (palyra-cli lib.rs,
	// resolve_cli_identity_store_root and resolve_cli_vault_root).
	IdentityDir = "identity"
	VaultDir    = "vault"

	markerFile   = "backend.kind"       // backend.rs BACKEND_MARKER_FILE
	metadataFile = "metadata.json"      // metadata.rs METADATA_FILE
	objectsDir   = "objects"            // backend.rs OBJECTS_DIR
	storeFile    = "objects.store.json" // backend.rs OBJECTS_STORE_FILE
	dpapiDir     = "objects_dpapi"      // backend.rs WINDOWS_DPAPI_OBJECTS_DIR
	storeKeyFile = ".store-key.v1"      // palyra-identity store.rs SECRET_STORE_KEY_FILE

	// ourIDFile is the vault.id file every vault of this module has and
	// the crate never writes: it tells our vault from a Rust one.
	ourIDFile = "vault.id"
)

// Kinds are the backend kinds the crate writes in backend.kind
// (backend.rs, BackendKind::as_str).
var Kinds = []backend.Kind{backend.KindEncryptedFile, backend.KindSecretService, backend.KindKeychain, backend.KindDPAPI}

// StateRoot returns the Rust Palyra's state root as its CLI finds it
// (palyra-cli app/mod.rs resolve_cli_state_root, palyra-common config.rs
// default_state_root): $PALYRA_STATE_ROOT when set; else on Windows
// %LOCALAPPDATA%\Palyra, or %APPDATA%\Palyra; else $XDG_STATE_HOME/palyra,
// or $HOME/.local/state/palyra (on macOS too, where this module's own state
// root is ~/Library/Application Support/palyra). getenv is os.Getenv in
// real use; goos is runtime.GOOS.
func StateRoot(getenv func(string) string, goos string) (string, error) {
	if s := strings.TrimSpace(getenv("PALYRA_STATE_ROOT")); s != "" {
		return filepath.Abs(s)
	}
	if goos == "windows" {
		for _, v := range []string{"LOCALAPPDATA", "APPDATA"} {
			if d := getenv(v); d != "" {
				return filepath.Join(d, "Palyra"), nil
			}
		}
		return "", errors.New("cannot find the Rust Palyra's state root: LOCALAPPDATA and APPDATA are unset; give the paths with --from and --identity-store")
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "palyra"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "palyra"), nil
	}
	return "", errors.New("cannot find the Rust Palyra's state root: HOME is unset; give the paths with --from and --identity-store")
}

// DefaultPaths returns where the Rust Palyra keeps its vault and its
// identity store on this host: <state root>/vault and <state
// root>/identity (see StateRoot).
func DefaultPaths() (vaultRoot, identityStore string, err error) {
	root, err := StateRoot(os.Getenv, runtime.GOOS)
	if err != nil {
		return "", "", err
	}
	return filepath.Join(root, VaultDir), filepath.Join(root, IdentityDir), nil
}

// IdentityStoreFor returns the identity store that belongs to the vault at
// vaultRoot when the vault lies at its default place, <state
// root>/vault: <state root>/identity, its sibling (the crate's
// filesystem.rs default_vault_root is the inverse).
func IdentityStoreFor(vaultRoot string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(vaultRoot)), IdentityDir)
}

// IsVault reports whether the directory root holds a vault the Rust Palyra
// wrote: its backend.kind marker names, in the crate's form (a bare name),
// a kind the crate writes, it has a metadata.json, and it lacks the
// vault.id that every vault of this module has. It follows no symbolic
// link, reads at most the marker, and changes nothing. A directory both
// wrote (the crate opened a vault of ours before our marker changed) is not
// a Rust vault by this test: it is ours, and Open still reads the Rust
// secrets in it.
func IsVault(root string) bool {
	if fi, err := os.Lstat(filepath.Join(root, metadataFile)); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	if _, err := os.Lstat(filepath.Join(root, ourIDFile)); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	k, legacy, err := readMarker(root)
	return err == nil && legacy && slices.Contains(Kinds, k)
}

// readMarker reads root's backend.kind marker as the crate does
// (backend.rs select_backend and BackendKind::parse: trimmed, lowercased).
func readMarker(root string) (backend.Kind, bool, error) {
	b, err := fsutil.ReadFileLimited(filepath.Join(root, markerFile), 256)
	if err != nil {
		return "", false, err
	}
	k, legacy := backend.ParseMarker(b)
	return backend.Kind(strings.ToLower(string(k))), legacy, nil
}
