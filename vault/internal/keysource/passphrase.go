package keysource

import (
	"context"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// A passphrase key is derived with Argon2id from a passphrase the user
// gives; keysource.json keeps the parameters and the salt, never the key.
type passphraseSource struct{}

// Passphrase length limits, in bytes. The minimum applies to new
// passphrases only; any passphrase is accepted for opening.
const (
	MinPassphraseLen = 8
	MaxPassphraseLen = 1024
)

// kdfAlgorithm is the only KDF this version writes and reads.
const (
	kdfAlgorithm = "argon2id"
	kdfVersion   = argon2.Version // 0x13
)

// Bounds on Argon2id parameters read from a key-source file, so that a
// tampered file cannot make loading a key spend more than about a second
// or two of CPU and 256 MiB of memory. The minimums are Argon2's own.
const (
	maxKDFMemoryKiB = 256 << 10
	maxKDFTime      = 10
	maxKDFThreads   = 16
	minKDFSaltLen   = 16
	maxKDFSaltLen   = 64
)

// KDFParams are the Argon2id parameters of a passphrase key.
type KDFParams struct {
	Algorithm string `json:"algorithm"`
	Version   int    `json:"version"`
	// MemoryKiB is Argon2's m, in KiB.
	MemoryKiB uint32 `json:"memory_kib"`
	// Time is Argon2's t, the number of passes.
	Time uint32 `json:"time"`
	// Threads is Argon2's p, the degree of parallelism.
	Threads uint8 `json:"threads"`
	// Salt is random, 16 bytes when written by this version.
	Salt []byte `json:"salt"`
}

// defaultKDF is what new passphrase keys use: the second recommended
// option of RFC 9106 (t=3, m=64 MiB, p=4), about 0.1 to 0.3 s on a laptop.
var defaultKDF = KDFParams{Algorithm: kdfAlgorithm, Version: kdfVersion, MemoryKiB: 64 << 10, Time: 3, Threads: 4}

// cheapKDF is the cheapest valid setting, for tests only.
var cheapKDF = KDFParams{Algorithm: kdfAlgorithm, Version: kdfVersion, MemoryKiB: 8, Time: 1, Threads: 1}

// TestCheapKDF, set by the tests of package vault, makes new keys use the
// cheapest parameters.
var TestCheapKDF bool

// UseCheapKDF reports whether a test asked for cheap key derivation, by
// TestCheapKDF or site.CheapKDF. It cannot weaken an existing key:
// parameters are chosen when a key is made and stored with it.
func UseCheapKDF(site Site) bool { return TestCheapKDF || site.CheapKDF }

// newKDFParams returns the parameters for a new passphrase key, with a
// fresh 16-byte salt: the cheapest ones when cheap is set (tests only).
func newKDFParams(cheap bool) (*KDFParams, error) {
	p := defaultKDF
	if cheap {
		p = cheapKDF
	}
	p.Salt = make([]byte, minKDFSaltLen)
	if _, err := rand.Read(p.Salt); err != nil {
		return nil, fmt.Errorf("making passphrase salt: %w", err)
	}
	return &p, nil
}

// check refuses parameters out of the bounds above, naming the field.
func (p *KDFParams) check() error {
	switch {
	case p.Algorithm != kdfAlgorithm:
		return fmt.Errorf("algorithm %q is not %q", secret.Excerpt(p.Algorithm), kdfAlgorithm)
	case p.Version != kdfVersion:
		return fmt.Errorf("version %d is not %d", p.Version, kdfVersion)
	case p.Threads < 1 || p.Threads > maxKDFThreads:
		return fmt.Errorf("threads %d out of range 1..%d", p.Threads, maxKDFThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("memory_kib %d out of range %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxKDFMemoryKiB)
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("time %d out of range 1..%d", p.Time, maxKDFTime)
	case len(p.Salt) < minKDFSaltLen || len(p.Salt) > maxKDFSaltLen:
		return fmt.Errorf("salt of %d bytes out of range %d..%d", len(p.Salt), minKDFSaltLen, maxKDFSaltLen)
	}
	return nil
}

// Derive returns Argon2id(passphrase, salt) as a KEK. The parameters must
// have passed check (every spec read from keysource.json has).
func (p *KDFParams) Derive(passphrase []byte) *envelope.KEK {
	out := argon2.IDKey(passphrase, p.Salt, p.Time, p.MemoryKiB, p.Threads, 32)
	kek := new(envelope.KEK)
	copy(kek[:], out)
	clear(out)
	return kek
}

// ReadPassphrase calls get once and checks the result's length. isNew
// applies the minimum length of new passphrases. what names the passphrase
// in errors ("passphrase", "new passphrase"). The caller wipes the result.
func ReadPassphrase(get func() ([]byte, error), what string, isNew bool) ([]byte, error) {
	if get == nil {
		return nil, fmt.Errorf("%w: the %s is needed but no passphrase function was given", ErrPassphraseRequired, what)
	}
	p, err := get()
	if err != nil {
		clear(p)
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	switch {
	case len(p) == 0:
		return nil, fmt.Errorf("%s must not be empty", what)
	case len(p) > MaxPassphraseLen:
		clear(p)
		return nil, fmt.Errorf("%s is %d bytes, the limit is %d", what, len(p), MaxPassphraseLen)
	case isNew && len(p) < MinPassphraseLen:
		clear(p)
		return nil, fmt.Errorf("%s is %d bytes, it must be at least %d", what, len(p), MinPassphraseLen)
	}
	return p, nil
}

func (passphraseSource) Name() string      { return Passphrase }
func (passphraseSource) Interactive() bool { return true }

func (passphraseSource) Backend(pref backend.Kind) (backend.Kind, error) { return pref, nil }

func (passphraseSource) HostStore() (backend.Kind, error) { return "", nil }

func (passphraseSource) Files(Site, *Spec) []string { return nil }

func (passphraseSource) Check(field string, k *Spec) error {
	if k.KDF == nil {
		return fmt.Errorf("%s: a passphrase key needs kdf parameters", field)
	}
	if err := k.KDF.check(); err != nil {
		return fmt.Errorf("%s.kdf: %w", field, err)
	}
	if k.File != "" || k.Store != "" || k.Item != "" || k.Members != nil {
		return fmt.Errorf("%s: a passphrase key has only kdf parameters", field)
	}
	return nil
}

// New derives a new passphrase KEK with fresh parameters from the new
// passphrase pass returns.
func (passphraseSource) New(_ context.Context, site Site, _ bool, get func() ([]byte, error)) (*envelope.KEK, Spec, error) {
	pass, err := ReadPassphrase(get, "new passphrase", true)
	if err != nil {
		return nil, Spec{}, err
	}
	defer clear(pass)
	params, err := newKDFParams(UseCheapKDF(site))
	if err != nil {
		return nil, Spec{}, err
	}
	kek := params.Derive(pass)
	return kek, Spec{Source: Passphrase, KEKID: KEKIDHex(kek), KDF: params}, nil
}

// Store does nothing: a passphrase key is derived, never stored.
func (passphraseSource) Store(context.Context, Site, *Spec, *envelope.KEK) error { return nil }

// Remove does nothing: there is no material to delete.
func (passphraseSource) Remove(context.Context, Site, *Spec) error { return nil }

// Load derives the KEK of spec from the passphrase get returns, failing
// with ErrWrongPassphrase when it is not spec's key.
func (passphraseSource) Load(_ context.Context, _ Site, spec *Spec, get func() ([]byte, error)) (*envelope.KEK, error) {
	pass, err := ReadPassphrase(get, "passphrase", false)
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	kek := spec.KDF.Derive(pass)
	if KEKIDHex(kek) != spec.KEKID {
		clear(kek[:])
		return nil, fmt.Errorf("%w: it does not unlock this vault (or the key source file's salt or parameters were altered)", ErrWrongPassphrase)
	}
	return kek, nil
}
