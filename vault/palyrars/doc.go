// Package palyrars reads, in place and read-only, a vault that the Rust
// Palyra platform wrote (repository tomasmarekk/Palyra, crates palyra-vault
// and palyra-identity), so that its secrets can be listed, read, checked and
// imported into a vault of this module.
//
// Such a vault is two directories under Palyra's state root:
//
//	<state root>/identity/     the identity store: .store-key.v1 (32 raw bytes,
//	                           DPAPI-protected on Windows) and one file per
//	                           entry, named by the hex of the entry's name,
//	                           holding "IDS1" || nonce(12) || ChaCha20-Poly1305
//	                           ciphertext and tag (or, in old stores, plaintext)
//	<state root>/vault/        backend.kind, metadata.json, and for
//	                           encrypted_file objects/objects.store.json (older
//	                           vaults: one objects/obj_* file per secret)
//
// The vault's key (the KEK) is HKDF-SHA256 with salt "palyra.vault.kek.v1"
// and info "envelope:kek" over SHA-256 of the text of the identity CA's
// private key PEM, which the identity store keeps in identity/state.v1.json
// (field ca.private_key_pem, older stores) or identity/ca/state.json (field
// private_key_pem). Each secret is a JSON envelope: the value sealed with
// ChaCha20-Poly1305 under a fresh 32-byte key, that key sealed under the
// KEK, both with the additional data "palyra.vault.v1|<scope>|<key>".
// docs/COMPAT.md, "Vaults written by the Rust Palyra", has the whole format.
//
// Nothing here creates or changes a file, a mode or a keyring item: where the
// crate's own open path creates a missing key file, fixes a mode, takes a
// lock file or merges legacy objects, Open reports instead (Vault.Warnings)
// or fails. Package palyrars imports nothing of package vault, so package
// vault can use IsVault to keep its own vaults out of a Rust vault's
// directory.
package palyrars
