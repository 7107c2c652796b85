package secretservice

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
)

// modpGroup2 is the prime of the 1024-bit MODP group of RFC 2409, section
// 6.2 (the "second Oakley group"). Its generator is 2.
var modpGroup2 = mustPrime("" +
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1" +
	"29024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245" +
	"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381" +
	"FFFFFFFFFFFFFFFF")

const (
	// dhSize is the byte length of the group's elements; public keys and
	// the shared secret are left-padded with zeros to this length.
	dhSize = 128
	// aesKeySize is the length of the AES-128 key HKDF derives.
	aesKeySize = 16
)

var errTransport = errors.New("malformed secret from service")

func mustPrime(hex string) *big.Int {
	p, ok := new(big.Int).SetString(hex, 16)
	if !ok {
		panic("secretservice: bad MODP prime")
	}
	return p
}

// dhKeyPair is one side of the session's Diffie-Hellman exchange.
type dhKeyPair struct {
	private *big.Int
	public  []byte // dhSize bytes, big-endian
}

// newDHKeyPair draws a private exponent uniformly from [2, p-2] and computes
// the public value 2^x mod p.
//
// math/big is not constant-time; the exponent is ephemeral (one per
// session) and the exchange happens between two processes of the same user
// on a local bus, so timing is not an observable channel worth the cost.
func newDHKeyPair() (*dhKeyPair, error) {
	limit := new(big.Int).Sub(modpGroup2, big.NewInt(3)) // x-2 in [0, p-4]
	x, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("drawing dh exponent: %w", err)
	}
	x.Add(x, big.NewInt(2))
	pub := new(big.Int).Exp(big.NewInt(2), x, modpGroup2)
	return &dhKeyPair{private: x, public: pub.FillBytes(make([]byte, dhSize))}, nil
}

// sessionKey derives the AES-128 key from the peer's public value: the
// shared secret peer^x mod p, left-padded to 128 bytes, through HKDF-SHA256
// with no salt and no info. It refuses peer values outside [2, p-2], which
// would force a known shared secret.
func (kp *dhKeyPair) sessionKey(peer []byte) ([]byte, error) {
	if len(peer) == 0 || len(peer) > dhSize {
		return nil, fmt.Errorf("service dh public value has %d bytes, want 1..%d", len(peer), dhSize)
	}
	y := new(big.Int).SetBytes(peer)
	pMinus1 := new(big.Int).Sub(modpGroup2, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pMinus1) >= 0 {
		return nil, errors.New("service dh public value out of range")
	}
	shared := new(big.Int).Exp(y, kp.private, modpGroup2).FillBytes(make([]byte, dhSize))
	defer clear(shared)
	return hkdf.Key(sha256.New, shared, nil, "", aesKeySize)
}

// transport encrypts and decrypts secret values for one session. A nil key
// is the plain transport: values cross the bus as they are.
type transport struct {
	key []byte
}

// encrypted reports whether values are encrypted on the bus.
func (t *transport) encrypted() bool { return t.key != nil }

// seal returns the IV and ciphertext of value (AES-128-CBC, PKCS#7), or no
// IV and a copy of value for the plain transport.
func (t *transport) seal(value []byte) (iv, ct []byte, err error) {
	if t.key == nil {
		return []byte{}, bytes.Clone(value), nil
	}
	block, err := aes.NewCipher(t.key)
	if err != nil {
		return nil, nil, err
	}
	pad := aes.BlockSize - len(value)%aes.BlockSize
	ct = make([]byte, len(value)+pad)
	copy(ct, value)
	for i := len(value); i < len(ct); i++ {
		ct[i] = byte(pad)
	}
	iv = make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, err
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	return iv, ct, nil
}

// open reverses seal. It fails with an error that carries no secret bytes
// when the IV or length is wrong or the padding does not verify.
func (t *transport) open(iv, ct []byte) ([]byte, error) {
	if t.key == nil {
		if len(iv) != 0 {
			return nil, fmt.Errorf("%w: plain session but %d parameter bytes", errTransport, len(iv))
		}
		return bytes.Clone(ct), nil
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("%w: iv has %d bytes, want %d", errTransport, len(iv), aes.BlockSize)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes is not a positive multiple of %d", errTransport, len(ct), aes.BlockSize)
	}
	block, err := aes.NewCipher(t.key)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	if good == 1 {
		for _, b := range pt[len(pt)-pad:] {
			good &= subtle.ConstantTimeByteEq(b, byte(pad))
		}
	}
	if good != 1 {
		clear(pt)
		return nil, fmt.Errorf("%w: bad padding", errTransport)
	}
	value := bytes.Clone(pt[:len(pt)-pad])
	clear(pt)
	return value, nil
}
