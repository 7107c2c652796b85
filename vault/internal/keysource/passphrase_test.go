package keysource

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestNewPassphraseKeysUseDefaultParameters(t *testing.T) {
	p, err := newKDFParams(false)
	if err != nil {
		t.Fatal(err)
	}
	if p.MemoryKiB != 64<<10 || p.Time != 3 || p.Threads != 4 || len(p.Salt) != 16 {
		t.Fatalf("new params = %+v, want m=64MiB t=3 p=4 and a 16-byte salt", p)
	}
	if err := p.check(); err != nil {
		t.Fatalf("default params fail their own bounds: %v", err)
	}
	q, _ := newKDFParams(false)
	if bytes.Equal(p.Salt, q.Salt) {
		t.Fatal("two new keys got the same salt")
	}
	if c, _ := newKDFParams(true); c.MemoryKiB != cheapKDF.MemoryKiB || c.check() != nil {
		t.Fatalf("cheap params = %+v, want the cheapest valid ones", c)
	}
}

func TestPassphraseDerivationMatchesTheArgon2ReferenceImplementation(t *testing.T) {
	// Computed with the reference implementation's CLI (Debian package
	// argon2): echo -n password | argon2 0123456789abcdef -id -t 2 -k 64 -p 1 -l 32 -r
	// If the parameters were passed in another order, existing vaults
	// would no longer open.
	const want = "fb83b5711fd91df630b63677dee62ccd13ee6f0c4897d856b49542b9b1e9975b"
	p := &KDFParams{Algorithm: kdfAlgorithm, Version: kdfVersion, MemoryKiB: 64, Time: 2, Threads: 1, Salt: []byte("0123456789abcdef")}
	if got := hex.EncodeToString(p.Derive([]byte("password"))[:]); got != want {
		t.Fatalf("derived %s, want %s", got, want)
	}
}

func TestLargestParametersTheBoundsAllowAreAcceptedAndNoLarger(t *testing.T) {
	max := KDFParams{Algorithm: kdfAlgorithm, Version: kdfVersion, MemoryKiB: maxKDFMemoryKiB, Time: maxKDFTime, Threads: maxKDFThreads, Salt: make([]byte, maxKDFSaltLen)}
	if err := max.check(); err != nil {
		t.Fatalf("largest allowed params refused: %v", err)
	}
	for name, over := range map[string]func(p *KDFParams){
		"memory":  func(p *KDFParams) { p.MemoryKiB++ },
		"time":    func(p *KDFParams) { p.Time++ },
		"threads": func(p *KDFParams) { p.Threads++ },
		"salt":    func(p *KDFParams) { p.Salt = append(p.Salt, 0) },
	} {
		p := max
		p.Salt = bytes.Clone(max.Salt)
		over(&p)
		if p.check() == nil {
			t.Errorf("%s above the bound accepted", name)
		}
	}
}
