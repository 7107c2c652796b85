// Package rustfixture writes vaults as the Rust Palyra writes them, for
// tests only: an identity store and a vault root in every layout
// vault/palyrars reads. Each step follows the crates' source at
// tomasmarekk/Palyra (crates/palyra-vault and crates/palyra-identity); the
// comments name the file and line of each. It also holds the crate's own
// check of a backend.kind marker (RustSelectBackend), so tests can show
// that the Rust Palyra refuses a vault of this module.
//
// Nothing outside tests imports it.
package rustfixture

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Secret is one secret to write.
type Secret struct {
	// Scope in the crate's storage form: "global", "principal:<id>",
	// "channel:<name>:<account>" or "skill:<id>".
	Scope string
	Key   string
	Value []byte
	// Created and Updated are Unix milliseconds; zero means now.
	Created, Updated int64
}

// Layout says how an encrypted_file vault keeps its objects.
type Layout int

const (
	// Store is the current layout: objects/objects.store.json.
	Store Layout = iota
	// Legacy is the older layout: one objects/obj_* file per secret.
	Legacy
)

// Options describe a fixture.
type Options struct {
	// StateRoot receives identity/ and vault/. Required.
	StateRoot string
	// Kind is the backend: "encrypted_file" (the default),
	// "linux_secret_service" (items written with secret-tool, on the
	// session bus of the environment Env gives), "macos_keychain" (items
	// written with the security tool at SecurityPath) or "windows_dpapi"
	// (objects_dpapi files, on Windows only).
	Kind string
	// Layout applies to encrypted_file.
	Layout Layout
	// LegacyBundle keeps the CA private key in identity/state.v1.json
	// (the older identity state bundle) instead of identity/ca/state.json.
	LegacyBundle bool
	// Secrets are written in order.
	Secrets []Secret
	// Env is the environment secret-tool and security run with; nil
	// means os.Environ.
	Env []string
	// SecurityPath is the security tool macos_keychain items are written
	// with, as the crate runs it; tests give a fake
	// (internal/testutil/fakesecurity). Required for macos_keychain.
	SecurityPath string
}

// Fixture says what Write made.
type Fixture struct {
	VaultRoot, IdentityStore string
	// KEK is the vault key, for tests that seal envelopes themselves.
	KEK [32]byte
	// CAKeyPEM is the identity CA's private key, the KEK's seed.
	CAKeyPEM string
}

// Write makes an identity store and a vault under opts.StateRoot as the
// crate would after putting opts.Secrets.
func Write(opts Options) (Fixture, error) {
	kind := opts.Kind
	if kind == "" {
		kind = "encrypted_file"
	}
	f := Fixture{
		// palyra-cli lib.rs:7359-7371: <state root>/identity and /vault.
		IdentityStore: filepath.Join(opts.StateRoot, "identity"),
		VaultRoot:     filepath.Join(opts.StateRoot, "vault"),
	}
	pemKey, err := writeIdentity(f.IdentityStore, opts.LegacyBundle)
	if err != nil {
		return f, err
	}
	f.CAKeyPEM = pemKey
	f.KEK = DeriveKEK([]byte(pemKey))

	// filesystem.rs:102-126 ensure_owner_only_dir: the root, mode 0700.
	if err := os.MkdirAll(f.VaultRoot, 0o700); err != nil {
		return f, err
	}
	// backend.rs:120-131: the marker is the kind's name, no newline.
	if err := writeFile(filepath.Join(f.VaultRoot, "backend.kind"), []byte(kind)); err != nil {
		return f, err
	}
	type entry struct {
		Scope     json.RawMessage `json:"scope"`
		Key       string          `json:"key"`
		ObjectID  string          `json:"object_id"`
		CreatedMS int64           `json:"created_at_unix_ms"`
		UpdatedMS int64           `json:"updated_at_unix_ms"`
		Size      int             `json:"value_bytes"`
	}
	var entries []entry
	blobs := map[string][]byte{}
	for _, s := range opts.Secrets {
		scopeJSON, err := scopeJSON(s.Scope)
		if err != nil {
			return f, err
		}
		// api.rs:137-138: the envelope sealed under the KEK, with
		// crypto.rs:89-91 build_aad; api.rs:139 serde_json::to_vec.
		payload, err := Seal(s.Value, &f.KEK, AAD(s.Scope, s.Key))
		if err != nil {
			return f, err
		}
		// api.rs:142 object_id_for (crypto.rs:115-122).
		id := ObjectID(s.Scope, s.Key)
		blobs[id] = payload
		// api.rs:143 and 163-170: both times are now, in ms.
		now := time.Now().UnixMilli()
		c, u := s.Created, s.Updated
		if c == 0 {
			c = now
		}
		if u == 0 {
			u = c
		}
		replaced := false
		for i := range entries { // api.rs:147-161: a put over an entry
			if entries[i].ObjectID == id {
				entries[i].UpdatedMS, entries[i].Size = u, len(s.Value)
				replaced = true
			}
		}
		if !replaced {
			entries = append(entries, entry{scopeJSON, s.Key, id, c, u, len(s.Value)})
		}
	}
	switch kind {
	case "encrypted_file":
		// backend.rs:198-228: objects/, mode 0700.
		objects := filepath.Join(f.VaultRoot, "objects")
		if err := os.MkdirAll(objects, 0o700); err != nil {
			return f, err
		}
		if opts.Layout == Legacy {
			// backend.rs:330-380 read_legacy_store: what older crates
			// wrote, one file per object named by its id.
			for id, p := range blobs {
				if err := writeFile(filepath.Join(objects, id), p); err != nil {
					return f, err
				}
			}
		} else if err := writeFile(filepath.Join(objects, "objects.store.json"), StoreJSON(blobs)); err != nil {
			// backend.rs:282-328 write_store_at_path.
			return f, err
		}
	case "linux_secret_service":
		for id, p := range blobs {
			if err := secretToolStore(id, p, opts.Env); err != nil {
				return f, err
			}
		}
	case "macos_keychain":
		if opts.SecurityPath == "" {
			return f, fmt.Errorf("rustfixture: macos_keychain needs Options.SecurityPath")
		}
		for id, p := range blobs {
			if err := keychainStore(opts.SecurityPath, id, p, opts.Env); err != nil {
				return f, err
			}
		}
	case "windows_dpapi":
		// backend.rs:709-716 WindowsDpapiBackend::new: objects_dpapi/.
		dir := filepath.Join(f.VaultRoot, "objects_dpapi")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return f, err
		}
		for id, p := range blobs {
			// backend.rs:741-754 put_blob: the payload protected with
			// DPAPI for the current user, in objects_dpapi/<object id>.
			sealed, err := dpapiProtect(p)
			if err != nil {
				return f, err
			}
			if err := writeFile(filepath.Join(dir, id), sealed); err != nil {
				return f, err
			}
		}
	default:
		return f, fmt.Errorf("rustfixture: kind %q is not written here", kind)
	}
	// metadata.rs:135-156 write_metadata: serde_json::to_vec_pretty of
	// MetadataFile (metadata.rs:26-46), version 1.
	if entries == nil {
		entries = []entry{}
	}
	meta, err := prettyJSON(struct {
		Version int     `json:"version"`
		Entries []entry `json:"entries"`
	}{1, entries})
	if err != nil {
		return f, err
	}
	return f, writeFile(filepath.Join(f.VaultRoot, "metadata.json"), meta)
}

// writeIdentity writes the identity store (palyra-identity store.rs) with
// a fresh CA, and returns the CA's private key PEM.
func writeIdentity(dir string, legacyBundle bool) (string, error) {
	// store.rs:95-115 FilesystemSecretStore::new: the directory, 0700.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// store.rs:327-354 and 379-476: .store-key.v1, 32 random bytes, raw
	// on Unix (store.rs:390-391), DPAPI-protected on Windows
	// (store.rs:384-389), mode 0600 (store.rs:439-446).
	var storeKey [32]byte
	if _, err := rand.Read(storeKey[:]); err != nil {
		return "", err
	}
	keyFile, err := storeKeyFile(storeKey[:])
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, ".store-key.v1"), keyFile); err != nil {
		return "", err
	}
	// ca.rs:40-60 CertificateAuthority::new: rcgen's KeyPair::generate
	// (ECDSA P-256), the key serialized as PKCS#8 PEM (ca.rs:130-136
	// to_stored), the certificate self-signed.
	keyPEM, certPEM, err := newCA()
	if err != nil {
		return "", err
	}
	// ca.rs:27-32 StoredCertificateAuthority.
	ca := map[string]any{"certificate_pem": certPEM, "private_key_pem": keyPEM, "sequence": 0}
	bundle := map[string]any{ // pairing/models.rs:146-153
		"generation": 1, "paired_devices": map[string]any{}, "revoked_devices": map[string]any{},
		"revoked_certificate_fingerprints": []string{},
	}
	if legacyBundle {
		// pairing/models.rs:155-163 LegacyPersistedIdentityStateBundle:
		// the CA inside the bundle, as older crates kept it.
		bundle["ca"] = ca
	} else {
		// pairing/persistence.rs:137-139: the CA in identity/ca/state.json.
		b, _ := json.Marshal(ca)
		if err := writeEntry(dir, "identity/ca/state.json", b, &storeKey); err != nil {
			return "", err
		}
	}
	b, _ := json.Marshal(bundle)
	// pairing/persistence.rs:26 IDENTITY_STATE_BUNDLE_KEY.
	return keyPEM, writeEntry(dir, "identity/state.v1.json", b, &storeKey)
}

// writeEntry is store.rs:170-249 write_value: the file named by the hex
// of the entry's name (store.rs:117-127 key_path), holding
// store.rs:251-274 encrypt_secret_payload: "IDS1", a random 12-byte nonce,
// then ChaCha20-Poly1305 ciphertext and tag with empty additional data.
func writeEntry(dir, name string, plain []byte, key *[32]byte) error {
	aead, err := chacha20poly1305.New(key[:])
	if err != nil {
		return err
	}
	nonce := make([]byte, chacha20poly1305.NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	out := append([]byte("IDS1"), nonce...)
	out = aead.Seal(out, nonce, plain, nil)
	return writeFile(filepath.Join(dir, hex.EncodeToString([]byte(name))), out)
}

// newCA makes a CA key and certificate as rcgen does by default.
func newCA() (keyPEM, certPEM string, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Palyra Gateway CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return "", "", err
	}
	// rcgen's serialize_pem and pem(): LF line endings, 64 columns.
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})), nil
}

// DeriveKEK is crypto.rs:80-87 derive_kek_from_seed_material: HKDF-SHA256,
// salt "palyra.vault.kek.v1" (crypto.rs:13), info "envelope:kek"
// (crypto.rs:14), input SHA-256 of the seed, 32 bytes out. The seed is the
// CA private key PEM's text (crypto.rs:50-78).
func DeriveKEK(seed []byte) [32]byte {
	ikm := sha256.Sum256(seed)
	out, err := hkdf.Key(sha256.New, ikm[:], []byte("palyra.vault.kek.v1"), "envelope:kek", 32)
	if err != nil {
		panic(err)
	}
	var k [32]byte
	copy(k[:], out)
	return k
}

// AAD is crypto.rs:89-91 build_aad ("palyra.vault.v1", crypto.rs:15).
func AAD(scope, key string) []byte { return []byte("palyra.vault.v1|" + scope + "|" + key) }

// ObjectID is crypto.rs:115-122 object_id_for: "obj_" and the hex of
// SHA-256("palyra.vault.object.v1" || scope || 0x00 || key).
func ObjectID(scope, key string) string {
	h := sha256.New()
	h.Write([]byte("palyra.vault.object.v1"))
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return "obj_" + hex.EncodeToString(h.Sum(nil))
}

var b64 = base64.RawStdEncoding // envelope.rs:2 STANDARD_NO_PAD

// Seal is envelope.rs:26-47 seal: a random 32-byte DEK (envelope.rs:31);
// the value sealed under it (envelope.rs:32), then the DEK under the KEK
// (envelope.rs:33), each with a random 12-byte nonce and the tag kept apart
// (envelope.rs:90-107 seal_with_key); serialized as EnvelopePayload
// (envelope.rs:13-24) by serde_json::to_vec (api.rs:139).
func Seal(value []byte, kek *[32]byte, aad []byte) ([]byte, error) {
	dek := make([]byte, 32)
	if _, err := rand.Read(dek); err != nil {
		return nil, err
	}
	sn, sc, sm, err := sealWithKey(dek, value, aad)
	if err != nil {
		return nil, err
	}
	dn, dc, dm, err := sealWithKey(kek[:], dek, aad)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Version          int    `json:"version"`
		Algorithm        string `json:"algorithm"`
		AAD              string `json:"aad_b64"`
		SecretNonce      string `json:"secret_nonce_b64"`
		SecretCiphertext string `json:"secret_ciphertext_b64"`
		SecretMAC        string `json:"secret_mac_b64"`
		DEKNonce         string `json:"dek_nonce_b64"`
		DEKCiphertext    string `json:"dek_ciphertext_b64"`
		DEKMAC           string `json:"dek_mac_b64"`
	}{1, "chacha20_poly1305", b64.EncodeToString(aad),
		b64.EncodeToString(sn), b64.EncodeToString(sc), b64.EncodeToString(sm),
		b64.EncodeToString(dn), b64.EncodeToString(dc), b64.EncodeToString(dm)})
}

func sealWithKey(key, plain, aad []byte) (nonce, ct, mac []byte, err error) {
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, nil, nil, err
	}
	nonce = make([]byte, chacha20poly1305.NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, nil, err
	}
	out := aead.Seal(nil, nonce, plain, aad)
	return nonce, out[:len(plain)], out[len(plain):], nil
}

// StoreJSON is serde_json::to_vec of the store's BTreeMap<String, Vec<u8>>
// (backend.rs:293): keys sorted, each payload an array of numbers.
func StoreJSON(blobs map[string][]byte) []byte {
	ids := make([]string, 0, len(blobs))
	for id := range blobs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:[", id)
		for j, c := range blobs[id] {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(c)))
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// scopeJSON is the serde form of scope.rs:8-15 VaultScope (tagged by
// "kind") for a scope in storage form, split as scope.rs:37-76 FromStr.
func scopeJSON(s string) (json.RawMessage, error) {
	var v map[string]string
	switch {
	case s == "global":
		v = map[string]string{"kind": "global"}
	case strings.HasPrefix(s, "principal:"):
		v = map[string]string{"kind": "principal", "principal_id": s[len("principal:"):]}
	case strings.HasPrefix(s, "skill:"):
		v = map[string]string{"kind": "skill", "skill_id": s[len("skill:"):]}
	case strings.HasPrefix(s, "channel:"):
		name, acct, ok := strings.Cut(s[len("channel:"):], ":")
		if !ok {
			return nil, fmt.Errorf("rustfixture: channel scope %q has no account", s)
		}
		v = map[string]string{"kind": "channel", "channel_name": name, "account_id": acct}
	default:
		return nil, fmt.Errorf("rustfixture: %q is not a scope the crate writes", s)
	}
	// serde writes the tag first, then the fields in declaration order.
	var b bytes.Buffer
	b.WriteString(`{"kind":` + strconv.Quote(v["kind"]))
	for _, f := range []string{"principal_id", "channel_name", "account_id", "skill_id"} {
		if x, ok := v[f]; ok {
			q, _ := json.Marshal(x)
			b.WriteString(`,"` + f + `":` + string(q))
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// prettyJSON is serde_json::to_vec_pretty: two-space indent, no HTML
// escaping, no trailing newline.
func prettyJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// secretToolStore is backend.rs:587-623 LinuxSecretServiceBackend put_blob:
// `secret-tool store --label "Palyra Vault Secret" service palyra.vault.v1
// key <object id>` with the payload's unpadded base64 on stdin.
func secretToolStore(id string, payload []byte, env []string) error {
	cmd := exec.Command("secret-tool", "store", "--label", "Palyra Vault Secret", "service", "palyra.vault.v1", "key", id)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(b64.EncodeToString(payload))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("secret-tool store: %v: %s", err, out)
	}
	return nil
}

// keychainStore is backend.rs:439-481 MacosKeychainBackend put_blob:
// `security add-generic-password -U -a <object id> -s palyra.vault.v1 -w`
// (keychain_add_args), the payload's unpadded base64 written to its stdin
// without a newline.
func keychainStore(tool, id string, payload []byte, env []string) error {
	cmd := exec.Command(tool, "add-generic-password", "-U", "-a", id, "-s", "palyra.vault.v1", "-w")
	cmd.Env = env
	cmd.Stdin = strings.NewReader(b64.EncodeToString(payload))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("security add-generic-password: %v: %s", err, out)
	}
	return nil
}

// writeFile writes an owner-only file (filesystem.rs:128-160
// ensure_owner_only_file: 0600).
func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

// RustSelectBackend is what the crate does with a vault root's
// backend.kind before touching anything else in it (backend.rs:95-112
// select_backend, backend.rs:65-79 BackendKind::parse): it returns the
// kind, or the crate's error for a marker it refuses. A missing marker
// returns "" (the crate would then choose a backend and adopt the
// directory). goos picks the kinds the crate's build for that OS knows.
func RustSelectBackend(root, goos string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "backend.kind"))
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	raw := strings.TrimSpace(string(b))
	k := strings.ToLower(raw)
	switch {
	case k == "encrypted_file",
		k == "linux_secret_service" && goos == "linux",
		k == "macos_keychain" && goos == "darwin",
		k == "windows_dpapi" && goos == "windows":
		return k, nil
	}
	return "", fmt.Errorf("vault backend unavailable: unsupported vault backend kind marker '%s'", raw)
}
