package palyrars

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// The envelope's constants (palyra-vault envelope.rs and crypto.rs
// AAD_PREFIX).
const (
	envelopeVersion   = 1
	envelopeAlgorithm = "chacha20_poly1305"
	aadPrefix         = "palyra.vault.v1"
	dekSize           = 32
	macSize           = 16
)

// Errors from opening envelopes.
var (
	// ErrDamaged means an envelope is malformed or fails authentication
	// under its own data key: it was damaged or altered.
	ErrDamaged = errors.New("damaged envelope")
	// ErrWrongKey means an envelope's data key does not open under the
	// vault key: the identity store is not this vault's (or the envelope's
	// wrapped key was damaged).
	ErrWrongKey = errors.New("envelope's key does not open with the vault key")
)

// envelope is envelope.rs EnvelopePayload, as serde_json writes it.
type envelope struct {
	Version          uint32 `json:"version"`
	Algorithm        string `json:"algorithm"`
	AAD              string `json:"aad_b64"`
	SecretNonce      string `json:"secret_nonce_b64"`
	SecretCiphertext string `json:"secret_ciphertext_b64"`
	SecretMAC        string `json:"secret_mac_b64"`
	DEKNonce         string `json:"dek_nonce_b64"`
	DEKCiphertext    string `json:"dek_ciphertext_b64"`
	DEKMAC           string `json:"dek_mac_b64"`
}

// AAD returns the additional data the crate binds to a secret
// (crypto.rs build_aad): "palyra.vault.v1|<scope>|<key>", the scope in its
// storage form (scope.rs as_storage_str).
func AAD(scope, key string) []byte { return []byte(aadPrefix + "|" + scope + "|" + key) }

// b64 is base64 STANDARD_NO_PAD as the Rust base64 crate decodes it: no
// padding, canonical trailing bits.
var b64 = base64.RawStdEncoding.Strict()

// openEnvelope is envelope.rs open: it checks version, algorithm and
// additional data, opens the data key under kek, then the value under the
// data key. The caller wipes the result.
func openEnvelope(payload []byte, kek *KEK, aad []byte) ([]byte, error) {
	var e envelope
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("%w: not an envelope: %v", ErrDamaged, err)
	}
	if e.Version != envelopeVersion {
		return nil, fmt.Errorf("%w: unsupported envelope version %d", ErrDamaged, e.Version)
	}
	if e.Algorithm != envelopeAlgorithm {
		return nil, fmt.Errorf("%w: unsupported envelope algorithm %q", ErrDamaged, truncate(e.Algorithm))
	}
	got, err := decode(e.AAD, "aad", -1)
	if err != nil {
		return nil, err
	}
	if string(got) != string(aad) {
		return nil, fmt.Errorf("%w: envelope is bound to another scope and key (aad mismatch)", ErrDamaged)
	}
	dek, err := openPart(kek[:], e.DEKNonce, e.DEKCiphertext, e.DEKMAC, aad, "dek")
	if err != nil {
		if errors.Is(err, errAuth) {
			return nil, fmt.Errorf("%w (or the wrapped key was damaged)", ErrWrongKey)
		}
		return nil, err
	}
	defer clear(dek)
	if len(dek) != dekSize {
		return nil, fmt.Errorf("%w: data key is %d bytes, not %d", ErrDamaged, len(dek), dekSize)
	}
	v, err := openPart(dek, e.SecretNonce, e.SecretCiphertext, e.SecretMAC, aad, "secret")
	if errors.Is(err, errAuth) {
		return nil, fmt.Errorf("%w: the value fails authentication under its data key", ErrDamaged)
	}
	return v, err
}

var errAuth = errors.New("authentication failed")

// openPart opens one ChaCha20-Poly1305 box of an envelope whose nonce,
// ciphertext and tag are stored apart (envelope.rs open_with_key).
func openPart(key []byte, nonceB64, ctB64, macB64 string, aad []byte, label string) ([]byte, error) {
	nonce, err := decode(nonceB64, label+" nonce", chacha20poly1305.NonceSize)
	if err != nil {
		return nil, err
	}
	ct, err := decode(ctB64, label+" ciphertext", -1)
	if err != nil {
		return nil, err
	}
	mac, err := decode(macB64, label+" mac", macSize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nonce, append(ct, mac...), aad)
	if err != nil {
		return nil, errAuth
	}
	return plain, nil
}

// decode decodes one base64 field; n >= 0 requires exactly n bytes.
func decode(s, label string, n int) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not unpadded base64", ErrDamaged, label)
	}
	if n >= 0 && len(b) != n {
		return nil, fmt.Errorf("%w: %s is %d bytes, not %d", ErrDamaged, label, len(b), n)
	}
	return b, nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
