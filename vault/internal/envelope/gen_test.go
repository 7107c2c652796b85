package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/palyra/palyra-vault/secret"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors and testdata/objectids.txt from the generator")

// The fixed keys of the vectors: KEK A seals them, KEK B is the rotation
// target and the wrong key.
var (
	kekA = seq32(0x00)
	kekB = seq32(0x20)
)

// seq32 returns the key start, start+1, ..., start+31.
func seq32(start byte) KEK {
	var k KEK
	for i := range k {
		k[i] = start + byte(i)
	}
	return k
}

// derived returns n fixed bytes for one use in one vector, so that no two
// vectors share a DEK or a nonce.
func derived(n int, label, vector string) []byte {
	h := sha256.Sum256([]byte("palyra-vault test vector " + label + " " + vector))
	return h[:n]
}

// The times of the vectors: 2026-01-01T00:00:00Z, and an update one hour
// and some nanoseconds later.
var (
	vecCreated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	vecUpdated = vecCreated.Add(time.Hour + 123456789)
)

// sealVector seals value under kek with the DEK and nonces derived from the
// vector's name, and returns the success vector.
func sealVector(tb testing.TB, name string, kek KEK, h Header, value []byte, comment string) *vector {
	tb.Helper()
	v := &vector{
		expect: expectSuccess, kek: kek, scope: h.Scope, key: h.Key, comment: comment,
		value:    value,
		dek:      derived(DEKSize, "dek", name),
		dekNonce: derived(NonceSize, "dek_nonce", name),
		nonce:    derived(NonceSize, "nonce", name),
		created:  h.Created.UnixNano(),
		updated:  h.Updated.UnixNano(),
	}
	rnd := bytes.NewReader(slices.Concat(v.dek, v.dekNonce, v.nonce))
	var err error
	if v.envelope, err = (Sealer{KEK: &kek, Rand: rnd}).Seal(h, value); err != nil {
		tb.Fatalf("sealing vector %s: %v", name, err)
	}
	return v
}

// maxScope and maxKey are grammatical names of exactly MaxScopeLen and
// MaxKeyLen bytes: a channel scope of two 256-byte ids holding uppercase
// letters, '@', spaces, a ':' (in the account id), a backslash-free mix of
// punctuation and two-byte UTF-8, and a key that uses every key character,
// starting with '.'.
func maxScope() string {
	id := func(seed string) string {
		s := seed
		for len(s) < secret.MaxIDLen-2 {
			s += " Zé@x.-_+~"
		}
		s = s[:secret.MaxIDLen-2]
		if !utf8.ValidString(s) { // cut inside 'é': end on a letter instead
			s = s[:len(s)-1] + "e"
		}
		for len(s) < secret.MaxIDLen {
			s += "Z"
		}
		return s
	}
	return "channel:" + id("Slack") + ":" + id("T01:acct")
}

// maxPathScope is the longest path scope, MaxPathScopeLen bytes using every
// character of a segment.
func maxPathScope() string {
	s := "principal:alice/channel:slack:acct-1/skill:x.y_z"
	for i := 0; len(s) < secret.MaxPathScopeLen; i++ {
		s += "/" + "0123456789abcdefghijklmnopqrstuvwxyz"[i%36:i%36+1] + "-._:"
	}
	return s[:secret.MaxPathScopeLen-1] + "z"
}

func maxKey() string {
	k := "."
	for len(k) < MaxKeyLen {
		k += "abcdefghijklmnopqrstuvwxyz0123456789._-"
	}
	return k[:MaxKeyLen-1] + "9"
}

// withScope returns b, an envelope of good_small, with the scope field
// replaced by scope (scope_len adjusted): a header no writer makes, since
// Seal refuses such names.
func withScope(b []byte, old, scope string) []byte {
	off := MagicSize + 1
	out := slices.Concat(b[:off], binary.BigEndian.AppendUint16(nil, uint16(len(scope))), []byte(scope), b[off+2+len(old):])
	return out
}

// generateVectors builds every vector from the fixed keys and names.
func generateVectors(tb testing.TB) map[string]*vector {
	tb.Helper()
	vs := map[string]*vector{}
	hdr := func(scope, key string) Header {
		return Header{Scope: scope, Key: key, Created: vecCreated, Updated: vecUpdated}
	}

	small := sealVector(tb, "good_small", kekA, hdr("global", "openai_api_key"), []byte("sk-test-0123456789abcdef"),
		"a small value; the annotated example of docs/FORMAT.md")
	vs["good_small"] = small
	vs["good_empty_value"] = sealVector(tb, "good_empty_value", kekA, hdr("plugins/github", "token"), nil,
		"an empty value: the ciphertext is the 16-byte tag alone")
	vs["good_max_names"] = sealVector(tb, "good_max_names", kekA, hdr(maxScope(), maxKey()), []byte("x"),
		"a channel scope of 521 bytes (two ids of 256) and a key of 128 bytes, the longest allowed")
	vs["good_max_path_scope"] = sealVector(tb, "good_max_path_scope", kekA, hdr(maxPathScope(), "k"), []byte("x"),
		"a path scope of 256 bytes, the longest allowed")
	vs["good_palyra_principal"] = sealVector(tb, "good_palyra_principal", kekA, hdr("principal:Alice Smith@Example.com", "_api.key-"), []byte("v"),
		"a principal scope as the Rust reference writes it (uppercase, '@', a space) and a key that starts with '_'")
	vs["good_palyra_skill"] = sealVector(tb, "good_palyra_skill", kekA, hdr("skill:Extractor:v2", ".."), []byte("v"),
		"a skill scope holding uppercase and ':', and the key \"..\" (keys are names, never paths)")
	apollo := time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	binValue := make([]byte, 256)
	for i := range binValue {
		binValue[i] = byte(i)
	}
	vs["good_binary_negative_time"] = sealVector(tb, "good_binary_negative_time", kekA,
		Header{Scope: "channel:slack:acct-1", Key: "signing.key", Created: apollo, Updated: apollo}, binValue,
		"every byte value, and times before 1970 (negative Unix nanoseconds)")

	// good_rewrapped is good_small after rotation to KEK B: only kek_id,
	// dek_nonce and the wrapped DEK differ.
	rewrapNonce := derived(NonceSize, "dek_nonce", "good_rewrapped")
	rewrapped, err := Rewrap(&kekA, &kekB, small.envelope, bytes.NewReader(rewrapNonce))
	if err != nil {
		tb.Fatalf("rewrapping: %v", err)
	}
	rw := *small
	rw.kek, rw.dekNonce, rw.envelope = kekB, rewrapNonce, rewrapped
	rw.comment = "good_small rewrapped under another KEK: same header, value nonce and ciphertext"
	vs["good_rewrapped"] = &rw

	// fail derives a failing vector from good_small: the envelope changed by
	// mutate (on a copy), opened with kek as scope and key.
	fail := func(name, expect string, kek KEK, scope, key, comment string, mutate func([]byte) []byte) {
		vs[name] = &vector{
			expect: expect, kek: kek, scope: scope, key: key, comment: comment,
			envelope: mutate(bytes.Clone(small.envelope)),
		}
	}
	same := func(b []byte) []byte { return b }
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte {
			if off < 0 {
				off += len(b)
			}
			b[off] ^= 0x01
			return b
		}
	}
	setAt := func(off int, p ...byte) func([]byte) []byte {
		return func(b []byte) []byte { copy(b[off:], p); return b }
	}
	u16 := func(n uint16) []byte { return binary.BigEndian.AppendUint16(nil, n) }
	u32 := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

	const scope, key = "global", "openai_api_key"
	// Offsets in good_small.
	var (
		offScopeLen = MagicSize + 1
		offScope    = offScopeLen + 2
		offKeyLen   = offScope + len(scope)
		offKey      = offKeyLen + 2
		offCreated  = offKey + len(key)
		offUpdated  = offCreated + 8
		offValueLen = offUpdated + 8
		hdrLen      = offValueLen + 4
		offKEKID    = hdrLen
		offDEKNonce = offKEKID + KEKIDSize
		offWrapped  = offDEKNonce + NonceSize
		offNonce    = offWrapped + WrappedDEKSize
		offCT       = offNonce + NonceSize
		valueLen    = uint32(len(small.value))
	)

	fail("wrong_kek", expectWrongKey, kekB, scope, key, "good_small opened with another KEK", same)
	fail("rewrapped_old_kek", expectWrongKey, kekA, scope, key, "good_rewrapped opened with the KEK it was rotated away from",
		func([]byte) []byte { return bytes.Clone(rewrapped) })
	fail("moved_scope", expectAuthFailure, kekA, "plugins/github", key, "good_small read as another scope (an object copied to another id)", same)
	fail("moved_key", expectAuthFailure, kekA, scope, "anthropic_api_key", "good_small read as another key", same)
	fail("header_scope_edited", expectAuthFailure, kekA, "globam", key, "good_small with the scope in the header changed to another valid scope, read as that scope", setAt(offScope+5, 'm'))
	fail("header_key_edited", expectAuthFailure, kekA, scope, "openai_api_kez", "good_small with the key in the header changed to another valid key, read as that key", setAt(offKey+13, 'z'))
	fail("header_created_flipped", expectAuthFailure, kekA, scope, key, "one bit of created flipped", flip(offCreated+7))
	fail("header_updated_flipped", expectAuthFailure, kekA, scope, key, "one bit of updated flipped", flip(offUpdated+7))
	fail("kek_id_flipped", expectWrongKey, kekA, scope, key, "one bit of kek_id flipped: it names another key", flip(offKEKID))
	fail("dek_nonce_flipped", expectAuthFailure, kekA, scope, key, "one bit of dek_nonce flipped", flip(offDEKNonce))
	fail("wrapped_dek_flipped", expectAuthFailure, kekA, scope, key, "one bit of the wrapped DEK's ciphertext flipped", flip(offWrapped))
	fail("wrapped_dek_tag_flipped", expectAuthFailure, kekA, scope, key, "one bit of the wrapped DEK's tag flipped", flip(offNonce-1))
	fail("nonce_flipped", expectAuthFailure, kekA, scope, key, "one bit of the value nonce flipped", flip(offNonce))
	fail("ciphertext_flipped", expectAuthFailure, kekA, scope, key, "one bit of the value's ciphertext flipped", flip(offCT))
	fail("tag_flipped", expectAuthFailure, kekA, scope, key, "one bit of the value's tag flipped", flip(-1))

	fail("empty", expectParseFailure, kekA, scope, key, "zero bytes", func([]byte) []byte { return nil })
	fail("truncated_in_magic", expectParseFailure, kekA, scope, key, "the first 3 bytes of good_small", func(b []byte) []byte { return b[:3] })
	fail("truncated_in_header", expectParseFailure, kekA, scope, key, "good_small cut inside the key", func(b []byte) []byte { return b[:offKey+3] })
	fail("truncated_after_header", expectParseFailure, kekA, scope, key, "good_small's header alone", func(b []byte) []byte { return b[:hdrLen] })
	fail("truncated_last_byte", expectParseFailure, kekA, scope, key, "good_small without its last byte", func(b []byte) []byte { return b[:len(b)-1] })
	fail("trailing_byte", expectParseFailure, kekA, scope, key, "good_small with a zero byte appended", func(b []byte) []byte { return append(b, 0) })
	fail("bad_magic", expectParseFailure, kekA, scope, key, "magic \"PLYW\"", setAt(3, 'W'))
	fail("version_0", expectParseFailure, kekA, scope, key, "version 0", setAt(MagicSize, 0))
	fail("version_2", expectParseFailure, kekA, scope, key, "version 2, unknown to a version 1 reader", setAt(MagicSize, 2))
	fail("scope_len_0", expectParseFailure, kekA, scope, key, "scope_len 0", setAt(offScopeLen, u16(0)...))
	fail("scope_len_522", expectParseFailure, kekA, scope, key, "scope_len 522, one more than allowed", setAt(offScopeLen, u16(uint16(MaxScopeLen+1))...))
	fail("scope_len_past_end", expectParseFailure, kekA, scope, key, "scope_len 0xffff: out of range and past the end", setAt(offScopeLen, u16(0xffff)...))
	fail("key_len_0", expectParseFailure, kekA, scope, key, "key_len 0", setAt(offKeyLen, u16(0)...))
	fail("key_len_129", expectParseFailure, kekA, scope, key, "key_len 129, one more than allowed", setAt(offKeyLen, u16(uint16(MaxKeyLen+1))...))
	fail("scope_uppercase", expectParseFailure, kekA, "Global", key, "scope \"Global\": not canonical (the global scope is stored as \"global\")", setAt(offScope, 'G'))
	spliced := func(name, scope, comment string) {
		fail(name, expectParseFailure, kekA, "principal:a", key, comment, func(b []byte) []byte { return withScope(b, "global", scope) })
	}
	spliced("scope_id_untrimmed", "principal: alice", "scope \"principal: alice\": an id with white space around it is not canonical")
	spliced("scope_id_257", "principal:"+strings.Repeat("A", 257), "a principal id of 257 bytes, one more than allowed")
	spliced("scope_id_control", "principal:a\x07b", "a principal id holding the control character U+0007")
	spliced("scope_id_nul", "principal:a\x00b", "a principal id holding a zero byte")
	spliced("scope_id_backslash", "principal:a\\b", "a principal id holding '\\'")
	spliced("scope_id_invalid_utf8", "principal:a\xffb", "a principal id that is not valid UTF-8")
	spliced("scope_channel_no_account", "channel:Slack", "a channel scope without its account id")
	fail("scope_empty_segment", expectParseFailure, kekA, "/lobal", key, "scope \"/lobal\": an empty segment", setAt(offScope, '/'))
	fail("key_uppercase", expectParseFailure, kekA, scope, "openai_api_Key", "key \"openai_api_Key\": uppercase is outside the grammar", setAt(offKey+11, 'K'))
	fail("key_space", expectParseFailure, kekA, scope, "openai api_key", "key \"openai api_key\": a space is outside the grammar", setAt(offKey+6, ' '))
	fail("value_len_huge", expectParseFailure, kekA, scope, key, "value_len 0xffffffff, far past the end", setAt(offValueLen, u32(0xffffffff)...))
	fail("value_len_plus_one", expectParseFailure, kekA, scope, key, "value_len one more than the ciphertext holds", setAt(offValueLen, u32(valueLen+1)...))
	fail("value_len_minus_one", expectParseFailure, kekA, scope, key, "value_len one less than the ciphertext holds", setAt(offValueLen, u32(valueLen-1)...))
	return vs
}

// objectIDCases are the (scope, key) pairs of testdata/objectids.txt.
var objectIDCases = [][2]string{
	{"global", "openai_api_key"},
	{"plugins/github", "token"},
	{"principal:alice", "api_key"},
	{"channel:slack:acct-1", "bot_token"},
	{"skill:extractor", "model.key-2"},
	{"ab", "c"},
	{"a", "bc"},
	{"principal:Alice@Example.com", "api_key"},
	{"channel:Slack:T01 ABC", ".bot_token"},
	{"skill:Extractor", "-"},
}

func generateObjectIDs() []byte {
	var b strings.Builder
	b.WriteString("# Object IDs: \"obj_\" + hex(SHA-256(\"palyra-vault object-id v1\" || 0x00 || scope || 0x00 || key)).\n")
	b.WriteString("# Generated by TestGenerateVectors in vault/internal/envelope; see docs/FORMAT.md.\n")
	for _, c := range append(objectIDCases, [2]string{maxPathScope(), maxKey()}, [2]string{maxScope(), maxKey()}) {
		fmt.Fprintf(&b, "\nscope: %s\nkey: %s\nid: %s\n", c[0], c[1], ObjectID(c[0], c[1]))
	}
	return []byte(b.String())
}

// TestGenerateVectors checks that the vector files are what the generator
// makes from the fixed keys, DEKs and nonces. With -update it rewrites
// them instead:
//
//	go test ./vault/internal/envelope/ -run TestGenerateVectors -update
func TestGenerateVectors(t *testing.T) {
	files := map[string][]byte{objectIDVectors: generateObjectIDs()}
	for name, v := range generateVectors(t) {
		files[filepath.Join(vectorsDir, name+".txt")] = v.marshal()
	}
	if *update {
		old, _ := filepath.Glob(filepath.Join(vectorsDir, "*.txt"))
		for _, p := range old {
			if _, ok := files[p]; !ok {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.MkdirAll(vectorsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for p, data := range files {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	onDisk, _ := filepath.Glob(filepath.Join(vectorsDir, "*.txt"))
	for _, p := range onDisk {
		if _, ok := files[p]; !ok {
			t.Errorf("%s is not made by the generator; run with -update to remove it", p)
		}
	}
	for p, want := range files {
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (%v); if the change is intended, run: go test ./vault/internal/envelope/ -run TestGenerateVectors -update", p, err)
		}
	}
}
