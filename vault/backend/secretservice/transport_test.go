package secretservice

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"math/big"
	"testing"
)

func TestDHPeersDeriveTheSameSixteenByteKey(t *testing.T) {
	a, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.public) != dhSize || len(b.public) != dhSize {
		t.Fatalf("public values have %d and %d bytes, want %d", len(a.public), len(b.public), dhSize)
	}
	ka, err := a.sessionKey(b.public)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.sessionKey(a.public)
	if err != nil {
		t.Fatal(err)
	}
	if len(ka) != aesKeySize || !bytes.Equal(ka, kb) {
		t.Fatalf("keys differ or have the wrong size (%d, %d bytes)", len(ka), len(kb))
	}
	c, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	kc, err := a.sessionKey(c.public)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ka, kc) {
		t.Fatal("different peers gave the same key")
	}
}

func TestSessionKeyRefusesDegeneratePeerValues(t *testing.T) {
	kp, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pMinus1 := new(big.Int).Sub(modpGroup2, big.NewInt(1)).Bytes()
	cases := []struct {
		name string
		peer []byte
	}{
		{"empty", nil},
		{"zero", []byte{0}},
		{"one", []byte{1}},
		{"one padded", append(make([]byte, dhSize-1), 1)},
		{"p minus one", pMinus1},
		{"p", modpGroup2.Bytes()},
		{"longer than the group", append([]byte{1}, make([]byte, dhSize)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := kp.sessionKey(c.peer); err == nil {
				t.Fatal("sessionKey accepted a degenerate peer value")
			}
		})
	}
}

func TestTransportSealThenOpenRoundTrips(t *testing.T) {
	for _, tr := range []transport{{key: bytes.Repeat([]byte{7}, aesKeySize)}, {}} {
		for n := 0; n <= 2*aes.BlockSize+1; n++ {
			value := bytes.Repeat([]byte{byte(n)}, n)
			iv, ct, err := tr.seal(value)
			if err != nil {
				t.Fatal(err)
			}
			if tr.encrypted() && (len(iv) != aes.BlockSize || len(ct)%aes.BlockSize != 0 || len(ct) <= n) {
				t.Fatalf("%d bytes sealed to iv %d, ciphertext %d bytes", n, len(iv), len(ct))
			}
			got, err := tr.open(iv, ct)
			if err != nil || !bytes.Equal(got, value) {
				t.Fatalf("encrypted=%v, %d bytes: open = %x, %v", tr.encrypted(), n, got, err)
			}
		}
	}
}

func TestTransportOpenRejectsMalformedSecrets(t *testing.T) {
	key := bytes.Repeat([]byte{9}, aesKeySize)
	iv := make([]byte, aes.BlockSize)
	// cbc encrypts one raw block, so a test controls the padding bytes.
	cbc := func(plain []byte) []byte {
		block, _ := aes.NewCipher(key)
		out := make([]byte, len(plain))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, plain)
		return out
	}
	padZero := make([]byte, aes.BlockSize)
	padTooBig := bytes.Repeat([]byte{17}, aes.BlockSize)
	padMixed := append(bytes.Repeat([]byte{'x'}, 13), 2, 3, 3)
	cases := []struct {
		name      string
		encrypted bool
		iv, ct    []byte
	}{
		{"short iv", true, iv[:8], cbc(padTooBig)},
		{"empty ciphertext", true, iv, nil},
		{"ciphertext not whole blocks", true, iv, make([]byte, 17)},
		{"padding byte zero", true, iv, cbc(padZero)},
		{"padding byte above block size", true, iv, cbc(padTooBig)},
		{"padding bytes disagree", true, iv, cbc(padMixed)},
		{"plain session with parameters", false, iv, []byte("v")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := transport{}
			if c.encrypted {
				tr.key = key
			}
			if _, err := tr.open(c.iv, c.ct); !errors.Is(err, errTransport) {
				t.Fatalf("open: %v, want errTransport", err)
			}
		})
	}
}
