// Package envelope seals and opens one secret in the palyra vault envelope
// format, specified byte by byte in docs/FORMAT.md.
//
// An envelope holds a plaintext header (scope, key, creation and update
// times, value size) that anyone can read, a data-encryption key (DEK)
// wrapped with AES-256-GCM under the vault's key-encryption key (KEK), and the
// value sealed with AES-256-GCM under the DEK. Both AEAD operations
// authenticate the header, so editing it, or moving an envelope to another
// scope or key, makes Open fail. Rotating the KEK rewrites only the key block
// (Rewrap); the value's ciphertext is untouched.
//
// Parsing is bounded: every length is checked against the bytes actually
// present before anything is allocated, and malformed input returns an error
// wrapping ErrMalformed, never a panic. Errors never contain the value or any
// key material.
package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/palyra/palyra-vault/secret"
)

// Sizes of the format's fixed fields, in bytes.
const (
	MagicSize      = 4
	KEKIDSize      = 16
	NonceSize      = 12
	TagSize        = 16
	DEKSize        = 32
	WrappedDEKSize = DEKSize + TagSize

	// MaxScopeLen and MaxKeyLen bound the header's name fields: the
	// longest scope (a Palyra channel scope, 521 bytes) and key (128) of
	// the naming grammar in package secret.
	MaxScopeLen = secret.MaxScopeLen
	MaxKeyLen   = secret.MaxKeyLen

	// MaxHeaderSize is the largest possible header (magic through value
	// length). Reading this many bytes of an envelope is always enough to
	// parse its header.
	MaxHeaderSize = MagicSize + 1 + 2 + MaxScopeLen + 2 + MaxKeyLen + 8 + 8 + 4

	// Overhead is the envelope size minus the header and value sizes.
	Overhead = KEKIDSize + NonceSize + WrappedDEKSize + NonceSize + TagSize
)

// Version is the only envelope version this package reads and writes.
const Version = 1

// Magic opens every envelope.
var Magic = [MagicSize]byte{'P', 'L', 'Y', 'V'}

const kekIDDomain = "palyra-vault kek-id v1\x00"

var (
	// ErrMalformed means the bytes are not a well-formed envelope: bad magic,
	// an unknown version, a length out of range, a scope or key outside the
	// grammar, or a total size other than the header announces.
	ErrMalformed = errors.New("malformed envelope")
	// ErrWrongKey means the envelope was sealed under a different KEK than
	// the one given (its KEK identifier does not match).
	ErrWrongKey = errors.New("envelope sealed under a different key")
	// ErrAuthentication means the KEK identifier matched but an AEAD check
	// failed, or the header names another scope or key than expected: the
	// envelope was altered or moved.
	ErrAuthentication = errors.New("envelope failed authentication")
)

// KEK is a 32-byte key-encryption key.
type KEK [32]byte

// ID returns the key's 16-byte identifier: the first 16 bytes of
// SHA-256("palyra-vault kek-id v1" || 0x00 || kek). It names the key without
// revealing it.
func (k *KEK) ID() [KEKIDSize]byte {
	h := sha256.New()
	h.Write([]byte(kekIDDomain))
	h.Write(k[:])
	var id [KEKIDSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

// Header is the plaintext part of an envelope. It is readable without the
// KEK and authenticated by it.
type Header struct {
	// Scope and Key name the secret; see docs/FORMAT.md for their grammar
	// (at most MaxScopeLen and MaxKeyLen bytes).
	Scope string
	Key   string
	// Created and Updated are when the secret was first and last stored,
	// with nanosecond precision. ParseHeader returns them in UTC.
	Created time.Time
	Updated time.Time
	// ValueSize is the length of the plaintext value in bytes.
	ValueSize uint32
}

// Envelope is a parsed envelope, as returned by Parse. Its unexported fields
// alias the bytes it was parsed from.
type Envelope struct {
	// Header is the envelope's plaintext header.
	Header Header
	// KEKID identifies the KEK that wrapped the envelope's DEK (see KEK.ID).
	KEKID      [KEKIDSize]byte
	headerLen  int
	raw        []byte
	dekNonce   []byte
	wrappedDEK []byte
	nonce      []byte
	ciphertext []byte
}

// Sealer holds what Seal needs besides the value. Rand defaults to
// crypto/rand.Reader; tests set it to produce the fixed vectors.
type Sealer struct {
	// KEK wraps each envelope's fresh DEK. It must not be nil.
	KEK *KEK
	// Rand supplies the DEK and nonces; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Seal returns the envelope for value under h.Scope and h.Key, Header.Size
// + Overhead + len(value) bytes long. h.ValueSize is set from len(value).
// A fresh 32-byte DEK and two fresh 12-byte nonces are drawn from s.Rand, in
// that order (DEK, DEK nonce, value nonce). It fails, without reading
// randomness, when s.KEK is nil, a name breaks the grammar of
// docs/FORMAT.md (empty, too long, or a character outside it), a time lies
// outside the range of int64 Unix nanoseconds (1677-09-21 to 2262-04-11),
// or value exceeds 2^32-1 bytes. Errors never contain the value.
func (s Sealer) Seal(h Header, value []byte) ([]byte, error) {
	if s.KEK == nil {
		return nil, errors.New("sealing envelope: no key-encryption key")
	}
	if err := checkScope(h.Scope); err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	if err := checkKey(h.Key); err != nil {
		return nil, fmt.Errorf("sealing envelope: %w", err)
	}
	if err := checkTime("created", h.Created); err != nil {
		return nil, err
	}
	if err := checkTime("updated", h.Updated); err != nil {
		return nil, err
	}
	if uint64(len(value)) > math.MaxUint32 {
		return nil, fmt.Errorf("sealing envelope: value of %d bytes exceeds 2^32-1", len(value))
	}
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	h.ValueSize = uint32(len(value))
	hdr := marshalHeader(h)

	randBytes := make([]byte, DEKSize+2*NonceSize)
	defer clear(randBytes)
	if _, err := io.ReadFull(r, randBytes); err != nil {
		return nil, fmt.Errorf("sealing envelope: reading randomness: %w", err)
	}
	dek := randBytes[:DEKSize]
	dekNonce := randBytes[DEKSize : DEKSize+NonceSize]
	nonce := randBytes[DEKSize+NonceSize:]

	out := make([]byte, 0, len(hdr)+Overhead+len(value))
	out = append(out, hdr...)
	out, err := appendKeyBlock(out, hdr, s.KEK, dek, dekNonce)
	if err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return newGCM(dek).Seal(out, nonce, value, hdr), nil
}

// appendKeyBlock appends kek_id || dek_nonce || AES-256-GCM(kek, dek_nonce,
// dek, AAD = hdr || kek_id) to out.
func appendKeyBlock(out, hdr []byte, kek *KEK, dek, dekNonce []byte) ([]byte, error) {
	if kek == nil {
		return nil, errors.New("sealing envelope: no key-encryption key")
	}
	id := kek.ID()
	out = append(out, id[:]...)
	out = append(out, dekNonce...)
	aad := make([]byte, 0, len(hdr)+KEKIDSize)
	aad = append(append(aad, hdr...), id[:]...)
	return newGCM(kek[:]).Seal(out, dekNonce, dek, aad), nil
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// checkTime reports whether t fits the header's int64 Unix nanoseconds.
func checkTime(field string, t time.Time) error {
	if t.Before(minTime) || t.After(maxTime) {
		return fmt.Errorf("sealing envelope: %s time %s outside the range of int64 Unix nanoseconds (%s to %s)",
			field, t.UTC().Format(time.RFC3339), minTime.UTC().Format(time.RFC3339), maxTime.UTC().Format(time.RFC3339))
	}
	return nil
}

// Size returns the length in bytes of h's encoding: the header part of an
// envelope, from the magic through the value length.
func (h Header) Size() int {
	return MagicSize + 1 + 2 + len(h.Scope) + 2 + len(h.Key) + 8 + 8 + 4
}

// marshalHeader encodes h. The caller has checked the name lengths.
func marshalHeader(h Header) []byte {
	b := make([]byte, 0, MaxHeaderSize)
	b = append(b, Magic[:]...)
	b = append(b, Version)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Scope)))
	b = append(b, h.Scope...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Key)))
	b = append(b, h.Key...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(h.Updated.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, h.ValueSize)
	return b
}

// ParseHeader parses the header at the start of b, which may be a whole
// envelope or only its first MaxHeaderSize bytes (or fewer, if the envelope
// is shorter). It returns the header and its length in bytes, which is at
// most len(b) and at most MaxHeaderSize. It fails with an error wrapping
// ErrMalformed on a bad magic, an unknown version, a name that is empty, too
// long or outside the grammar, or bytes that end before the header does.
// It checks nothing after the header: use Parse for that.
func ParseHeader(b []byte) (Header, int, error) {
	var h Header
	r := reader{b: b}
	magic := r.next(MagicSize)
	if magic == nil {
		return h, 0, fmt.Errorf("%w: %d bytes, too short for the magic", ErrMalformed, len(b))
	}
	if [MagicSize]byte(magic) != Magic {
		return h, 0, fmt.Errorf("%w: bad magic %q, want %q (not a palyra vault envelope)", ErrMalformed, magic, Magic[:])
	}
	v := r.next(1)
	if v == nil {
		return h, 0, fmt.Errorf("%w: truncated before version", ErrMalformed)
	}
	if v[0] != Version {
		return h, 0, fmt.Errorf("%w: unsupported version %d (this build reads version %d)", ErrMalformed, v[0], Version)
	}
	scope, err := r.name("scope", MaxScopeLen)
	if err != nil {
		return h, 0, err
	}
	if err := checkScope(string(scope)); err != nil {
		return h, 0, fmt.Errorf("%w: %w (%s)", ErrMalformed, err, outsideGrammar)
	}
	key, err := r.name("key", MaxKeyLen)
	if err != nil {
		return h, 0, err
	}
	if err := checkKey(string(key)); err != nil {
		return h, 0, fmt.Errorf("%w: %w (%s)", ErrMalformed, err, outsideGrammar)
	}
	fixed := r.next(8 + 8 + 4)
	if fixed == nil {
		return h, 0, fmt.Errorf("%w: truncated in times and value size", ErrMalformed)
	}
	h.Scope, h.Key = string(scope), string(key)
	h.Created = time.Unix(0, int64(binary.BigEndian.Uint64(fixed[0:8]))).UTC()
	h.Updated = time.Unix(0, int64(binary.BigEndian.Uint64(fixed[8:16]))).UTC()
	h.ValueSize = binary.BigEndian.Uint32(fixed[16:20])
	return h, r.off, nil
}

// Parse parses a whole envelope without decrypting it: the header as in
// ParseHeader, then the rule that len(b) equals the header length plus
// Overhead plus the header's value length exactly. Failures wrap
// ErrMalformed. The result aliases b.
func Parse(b []byte) (*Envelope, error) {
	h, n, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	want := uint64(n) + Overhead + uint64(h.ValueSize)
	if uint64(len(b)) != want {
		return nil, fmt.Errorf("%w: length %d, header says %d (truncated or padded)", ErrMalformed, len(b), want)
	}
	e := &Envelope{Header: h, headerLen: n, raw: b}
	off := n
	take := func(k int) []byte { s := b[off : off+k : off+k]; off += k; return s }
	copy(e.KEKID[:], take(KEKIDSize))
	e.dekNonce = take(NonceSize)
	e.wrappedDEK = take(WrappedDEKSize)
	e.nonce = take(NonceSize)
	e.ciphertext = b[off:]
	return e, nil
}

// Open authenticates and decrypts the envelope b under kek, following the
// reading procedure of docs/FORMAT.md in order. It fails with an error
// wrapping ErrMalformed when b does not parse; ErrAuthentication when the
// header names another scope or key than the ones given (an envelope copied
// or swapped to another object never yields its value) or when either AEAD
// check fails (the envelope was altered); ErrWrongKey when b was sealed under
// another KEK. The returned value is freshly allocated; the caller should
// clear it when done. Errors never contain the value.
func Open(kek *KEK, scope, key string, b []byte) (Header, []byte, error) {
	e, err := Parse(b)
	if err != nil {
		return Header{}, nil, err
	}
	if e.Header.Scope != scope || e.Header.Key != key {
		return Header{}, nil, fmt.Errorf("%w: envelope belongs to another scope or key", ErrAuthentication)
	}
	dek, err := e.unwrapDEK(kek)
	if err != nil {
		return Header{}, nil, err
	}
	defer clear(dek)
	value, err := newGCM(dek).Open(nil, e.nonce, e.ciphertext, e.raw[:e.headerLen])
	if err != nil {
		return Header{}, nil, fmt.Errorf("%w: value does not authenticate", ErrAuthentication)
	}
	return e.Header, value, nil
}

func (e *Envelope) unwrapDEK(kek *KEK) ([]byte, error) {
	if kek == nil {
		return nil, errors.New("opening envelope: no key-encryption key")
	}
	if id := kek.ID(); id != e.KEKID {
		return nil, fmt.Errorf("%w (envelope's key id starts %x, given key's %x)", ErrWrongKey, e.KEKID[:4], id[:4])
	}
	hdr := e.raw[:e.headerLen]
	aad := make([]byte, 0, len(hdr)+KEKIDSize)
	aad = append(append(aad, hdr...), e.KEKID[:]...)
	dek, err := newGCM(kek[:]).Open(nil, e.dekNonce, e.wrappedDEK, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: wrapped data key does not authenticate", ErrAuthentication)
	}
	return dek, nil
}

// Rewrap returns a copy of envelope b whose DEK is unwrapped with oldKEK and
// wrapped again under newKEK with a fresh nonce from rnd (crypto/rand when
// nil). The header, value nonce and ciphertext are copied unchanged. It
// fails like Open when oldKEK is wrong or b was altered.
func Rewrap(oldKEK, newKEK *KEK, b []byte, rnd io.Reader) ([]byte, error) {
	e, err := Parse(b)
	if err != nil {
		return nil, err
	}
	dek, err := e.unwrapDEK(oldKEK)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	if rnd == nil {
		rnd = rand.Reader
	}
	dekNonce := make([]byte, NonceSize)
	if _, err := io.ReadFull(rnd, dekNonce); err != nil {
		return nil, fmt.Errorf("rewrapping envelope: reading randomness: %w", err)
	}
	hdr := e.raw[:e.headerLen]
	out := make([]byte, 0, len(b))
	out = append(out, hdr...)
	out, err = appendKeyBlock(out, hdr, newKEK, dek, dekNonce)
	if err != nil {
		return nil, err
	}
	out = append(out, e.nonce...)
	out = append(out, e.ciphertext...)
	return out, nil
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("envelope: " + err.Error()) // unreachable: keys are always 32 bytes
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic("envelope: " + err.Error())
	}
	return g
}

type reader struct {
	b   []byte
	off int
}

// next returns the next n bytes, or nil when fewer remain.
func (r *reader) next(n int) []byte {
	if n < 0 || len(r.b)-r.off < n {
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) name(field string, max int) ([]byte, error) {
	lb := r.next(2)
	if lb == nil {
		return nil, fmt.Errorf("%w: truncated before %s length", ErrMalformed, field)
	}
	n := int(binary.BigEndian.Uint16(lb))
	if n == 0 || n > max {
		return nil, fmt.Errorf("%w: %s length %d out of range 1..%d", ErrMalformed, field, n, max)
	}
	s := r.next(n)
	if s == nil {
		return nil, fmt.Errorf("%w: truncated in %s", ErrMalformed, field)
	}
	return s, nil
}
