package keyringread

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// sealForTest encrypts value as a service would: AES-128-CBC with PKCS#7.
func sealForTest(key, iv, value []byte) []byte {
	pad := aes.BlockSize - len(value)%aes.BlockSize
	ct := append(bytes.Clone(value), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	return ct
}

func TestTransportOpensWhatTheServiceSealedAndRefusesDamage(t *testing.T) {
	key, iv := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	tr := transport{key: key}
	for _, v := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte("s"), 16), bytes.Repeat([]byte{0}, 33)} {
		got, err := tr.open(iv, sealForTest(key, iv, v))
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("open(seal(%q)) = %q, %v", v, got, err)
		}
	}
	ct := sealForTest(key, iv, []byte("secret-value"))
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 0x55 // breaks the padding
	tests := map[string]struct{ iv, ct []byte }{
		"short iv":      {iv[:8], ct},
		"partial block": {iv, ct[:len(ct)-1]},
		"empty":         {iv, nil},
		"bad padding":   {iv, bad},
	}
	for name, tt := range tests {
		_, err := tr.open(tt.iv, tt.ct)
		if err == nil || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s: open = %v, want an error without the value", name, err)
		}
	}
}

func TestSessionKeyRefusesDegeneratePeerValues(t *testing.T) {
	kp, err := newDHKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pMinus1 := new(bytes.Buffer)
	pMinus1.Write(modpGroup2.Bytes())
	p1 := pMinus1.Bytes()
	p1[len(p1)-1]--
	for name, peer := range map[string][]byte{"zero": {0}, "one": {1}, "p-1": p1, "too long": make([]byte, dhSize+1)} {
		if _, err := kp.sessionKey(peer); err == nil {
			t.Errorf("peer value %s accepted", name)
		}
	}
	other, _ := newDHKeyPair()
	a, _ := kp.sessionKey(other.public)
	b, _ := other.sessionKey(kp.public)
	if len(a) != 16 || !bytes.Equal(a, b) {
		t.Fatal("the two sides derive different session keys")
	}
}

func TestSearchWithoutABusIsUnavailable(t *testing.T) {
	_, err := Search(context.Background(), "unix:path="+filepath.Join(t.TempDir(), "none"), map[string]string{"a": "b"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Search = %v, want ErrUnavailable", err)
	}
	if _, err := Search(context.Background(), "", nil); err == nil {
		t.Fatal("Search without attributes accepted")
	}
}
