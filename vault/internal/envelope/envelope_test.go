package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// newKEK returns a random KEK.
func newKEK(t testing.TB) *KEK {
	t.Helper()
	k := new(KEK)
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

// seal seals value for scope and key under kek with fresh randomness.
func seal(t testing.TB, kek *KEK, scope, key string, value []byte) []byte {
	t.Helper()
	now := time.Now()
	b, err := Sealer{KEK: kek}.Seal(Header{Scope: scope, Key: key, Created: now.Add(-time.Hour), Updated: now}, value)
	if err != nil {
		t.Fatalf("Seal(%q, %q): %v", scope, key, err)
	}
	return b
}

func TestSealThenOpenReturnsValueAndHeader(t *testing.T) {
	kek := newKEK(t)
	big := make([]byte, 64<<10)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)
	updated := time.Date(2026, 5, 6, 7, 8, 9, 1, time.FixedZone("x", 3600))
	tests := []struct {
		name, scope, key string
		value            []byte
	}{
		{"small", "global", "openai_api_key", []byte("sk-0123")},
		{"empty value", "plugins/github", "token", nil},
		{"binary value", "principal:alice", "raw.key-1", []byte{0, 1, 2, 0xff, 0, 0}},
		{"64 KiB value", "channel:slack:acct-1", "blob", big},
		{"longest names", maxScope(), maxKey(), []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Header{Scope: tt.scope, Key: tt.key, Created: created, Updated: updated}
			b, err := Sealer{KEK: kek}.Seal(in, tt.value)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if want := in.Size() + Overhead + len(tt.value); len(b) != want {
				t.Errorf("envelope is %d bytes, want header %d + overhead %d + value %d = %d", len(b), in.Size(), Overhead, len(tt.value), want)
			}
			h, got, err := Open(kek, tt.scope, tt.key, b)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.value) {
				t.Errorf("Open returned %d bytes that differ from the %d sealed", len(got), len(tt.value))
			}
			want := Header{Scope: tt.scope, Key: tt.key, Created: created, Updated: updated.UTC(), ValueSize: uint32(len(tt.value))}
			if h != want {
				t.Errorf("header = %+v, want %+v", h, want)
			}
		})
	}
}

func TestSealDrawsFreshKeyAndNonces(t *testing.T) {
	kek := newKEK(t)
	h := Header{Scope: "global", Key: "k", Created: time.Unix(1, 0), Updated: time.Unix(2, 0)}
	a, err := Sealer{KEK: kek}.Seal(h, []byte("same value"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sealer{KEK: kek}.Seal(h, []byte("same value"))
	if err != nil {
		t.Fatal(err)
	}
	n := h.Size()
	if !bytes.Equal(a[:n+KEKIDSize], b[:n+KEKIDSize]) {
		t.Errorf("header and kek_id differ between two seals of the same header")
	}
	for _, f := range []struct {
		name     string
		from, to int
	}{
		{"dek_nonce", n + KEKIDSize, n + KEKIDSize + NonceSize},
		{"wrapped_dek", n + KEKIDSize + NonceSize, n + KEKIDSize + NonceSize + WrappedDEKSize},
		{"nonce and ciphertext", n + KEKIDSize + NonceSize + WrappedDEKSize, len(a)},
	} {
		if bytes.Equal(a[f.from:f.to], b[f.from:f.to]) {
			t.Errorf("%s is the same in two seals: randomness not fresh", f.name)
		}
	}
}

// noRead is a reader that fails the test if Seal reads from it.
type noRead struct{ t *testing.T }

func (r noRead) Read([]byte) (int, error) {
	r.t.Error("Seal read randomness for input it should have refused first")
	return 0, errors.New("no read")
}

func TestSealRejectsBadInputBeforeReadingRandomness(t *testing.T) {
	kek := newKEK(t)
	now := time.Now()
	tests := []struct {
		name    string
		kek     *KEK
		scope   string
		key     string
		created time.Time
		wantErr string
	}{
		{"nil KEK", nil, "global", "k", now, "no key-encryption key"},
		{"empty scope", kek, "", "k", now, `scope "": must not be empty`},
		{"path scope of 257 bytes", kek, strings.Repeat("a", 257), "k", now, "257 bytes, at most 256 allowed"},
		{"principal id of 257 bytes", kek, "principal:" + strings.Repeat("A", 257), "k", now, "principal id is 257 bytes, at most 256 allowed"},
		{"global not in canonical form", kek, "Global", "k", now, `scope "Global": not in canonical form`},
		{"id not trimmed", kek, "principal: alice", "k", now, `scope "principal: alice": not in canonical form`},
		{"control character in an id", kek, "principal:a\nb", "k", now, `principal id contains '\n' at byte 1`},
		{"uppercase path scope", kek, "Plugins/github", "k", now, `segment 1 contains uppercase 'P'`},
		{"scope with empty segment", kek, "plugins//github", "k", now, `scope "plugins//github"`},
		{"scope with trailing slash", kek, "plugins/", "k", now, `scope "plugins/"`},
		{"scope segment starting with colon", kek, "a/:b", "k", now, `scope "a/:b"`},
		{"empty key", kek, "global", "", now, `key "": must not be empty`},
		{"key of 129 bytes", kek, "global", strings.Repeat("k", 129), now, "129 bytes, at most 128 allowed"},
		{"key with slash", kek, "global", "a/b", now, `key "a/b": contains '/' at byte 1; a key may hold only a-z, 0-9, '.', '_' and '-'`},
		{"key with colon", kek, "global", "a:b", now, `key "a:b"`},
		{"key with at sign", kek, "global", "a@b", now, `key "a@b"`},
		{"uppercase key", kek, "global", "Key", now, `key "Key": contains uppercase 'K'`},
		{"zero created time", kek, "global", "k", time.Time{}, "created time 0001-01-01T00:00:00Z outside the range"},
		{"created after 2262", kek, "global", "k", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), "created time 2300-01-01T00:00:00Z outside the range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Header{Scope: tt.scope, Key: tt.key, Created: tt.created, Updated: now}
			b, err := Sealer{KEK: tt.kek, Rand: noRead{t}}.Seal(h, []byte("v"))
			if err == nil {
				t.Fatalf("Seal succeeded (%d bytes), want an error containing %q", len(b), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "sealing envelope: ") {
				t.Errorf("error %q, want it to start with \"sealing envelope: \" and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSealReportsRandomnessFailure(t *testing.T) {
	boom := errors.New("entropy pool on fire")
	_, err := Sealer{KEK: newKEK(t), Rand: iotest.ErrReader(boom)}.Seal(
		Header{Scope: "global", Key: "k", Created: time.Now(), Updated: time.Now()}, []byte("v"))
	if !errors.Is(err, boom) {
		t.Fatalf("Seal error = %v, want it to wrap %v", err, boom)
	}
}

func TestRewrapKeepsHeaderAndCiphertextAndOpensOnlyUnderNewKey(t *testing.T) {
	oldKEK, newKEK := newKEK(t), newKEK(t)
	value := []byte("rotate me")
	b := seal(t, oldKEK, "plugins/github", "token", value)
	out, err := Rewrap(oldKEK, newKEK, b, nil)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if len(out) != len(b) {
		t.Fatalf("rewrapped envelope is %d bytes, original %d", len(out), len(b))
	}
	_, n, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	keyBlockEnd := n + KEKIDSize + NonceSize + WrappedDEKSize
	if !bytes.Equal(out[:n], b[:n]) {
		t.Errorf("header changed:\n%x\nwas\n%x", out[:n], b[:n])
	}
	if !bytes.Equal(out[keyBlockEnd:], b[keyBlockEnd:]) {
		t.Errorf("value nonce or ciphertext changed")
	}
	if id := newKEK.ID(); !bytes.Equal(out[n:n+KEKIDSize], id[:]) {
		t.Errorf("kek_id = %x, want the new key's %x", out[n:n+KEKIDSize], id)
	}
	if bytes.Equal(out[n+KEKIDSize:keyBlockEnd], b[n+KEKIDSize:keyBlockEnd]) {
		t.Errorf("dek_nonce and wrapped_dek unchanged")
	}

	if _, got, err := Open(newKEK, "plugins/github", "token", out); err != nil || !bytes.Equal(got, value) {
		t.Errorf("Open under the new key: %v (value matches: %v)", err, bytes.Equal(got, value))
	}
	if _, _, err := Open(oldKEK, "plugins/github", "token", out); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Open of the rewrapped envelope under the old key: %v, want ErrWrongKey", err)
	}
	if _, got, err := Open(oldKEK, "plugins/github", "token", b); err != nil || !bytes.Equal(got, value) {
		t.Errorf("the original envelope no longer opens under the old key: %v", err)
	}
}

func TestRewrapFailures(t *testing.T) {
	kekA, kekB := newKEK(t), newKEK(t)
	b := seal(t, kekA, "global", "k", []byte("v"))
	n := len(b) - Overhead - 1 // header length: the value is 1 byte
	flipped := func(off int) []byte { c := bytes.Clone(b); c[off] ^= 1; return c }
	tests := []struct {
		name   string
		oldKEK *KEK
		in     []byte
		want   error
	}{
		{"wrong old key", kekB, b, ErrWrongKey},
		{"altered updated time", kekA, flipped(n - 5), ErrAuthentication},
		{"altered wrapped DEK", kekA, flipped(n + KEKIDSize + NonceSize), ErrAuthentication},
		{"truncated", kekA, b[:len(b)-1], ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Rewrap(tt.oldKEK, kekB, tt.in, nil)
			if !errors.Is(err, tt.want) || out != nil {
				t.Fatalf("Rewrap = %d bytes, %v; want nil, an error wrapping %v", len(out), err, tt.want)
			}
		})
	}
}

func TestRewrapDoesNotLaunderAnAlteredValue(t *testing.T) {
	kekA, kekB := newKEK(t), newKEK(t)
	b := seal(t, kekA, "global", "k", []byte("value"))
	b[len(b)-1] ^= 1 // the value's tag: Rewrap never reads it
	out, err := Rewrap(kekA, kekB, b, nil)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if _, _, err := Open(kekB, "global", "k", out); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Open after rewrapping an altered value: %v, want ErrAuthentication", err)
	}
}

// testEnvelopes returns a few envelopes sealed under kek, with their names.
func testEnvelopes(t testing.TB, kek *KEK) map[string][]byte {
	return map[string][]byte{
		"small":         seal(t, kek, "global", "openai_api_key", []byte("sk-test-value")),
		"empty value":   seal(t, kek, "plugins/github", "token", nil),
		"longest names": seal(t, kek, maxScope(), maxKey(), []byte("v")),
	}
}

func TestOpenDetectsEveryByteFlip(t *testing.T) {
	kek := newKEK(t)
	for name, b := range testEnvelopes(t, kek) {
		t.Run(name, func(t *testing.T) {
			h, _, err := ParseHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range b {
				for _, mask := range []byte{0x01, 0x80, 0xff} {
					c := bytes.Clone(b)
					c[i] ^= mask
					if _, v, err := Open(kek, h.Scope, h.Key, c); err == nil {
						t.Fatalf("byte %d ^ %#02x: Open succeeded with %d bytes", i, mask, len(v))
					}
				}
			}
		})
	}
}

func TestOpenRejectsEveryTruncationAndExtension(t *testing.T) {
	kek := newKEK(t)
	for name, b := range testEnvelopes(t, kek) {
		t.Run(name, func(t *testing.T) {
			h, _, err := ParseHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(b) {
				if _, _, err := Open(kek, h.Scope, h.Key, b[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("first %d of %d bytes: Open error %v, want ErrMalformed", n, len(b), err)
				}
			}
			for _, extra := range [][]byte{{0}, []byte("trailing"), make([]byte, 1<<10)} {
				if _, _, err := Open(kek, h.Scope, h.Key, append(bytes.Clone(b), extra...)); !errors.Is(err, ErrMalformed) {
					t.Fatalf("%d bytes appended: Open error %v, want ErrMalformed", len(extra), err)
				}
			}
		})
	}
}

func TestOpenSwappedEnvelopeFailsAuthentication(t *testing.T) {
	kek := newKEK(t)
	tests := []struct {
		name                 string
		sealedScope, openAs  string
		sealedKey, openAsKey string
	}{
		{"other scope, same key", "global", "plugins/github", "token", "token"},
		{"same scope, other key", "global", "global", "token", "token2"},
		{"other scope and key", "principal:alice", "principal:bob", "api_key", "api_key_2"},
		{"scope is a prefix", "global", "globa", "k", "k"},
		{"scope and key boundary moved", "plugins/git", "plugins/gi", "tk", "ttk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := seal(t, kek, tt.sealedScope, tt.sealedKey, []byte("A's secret"))
			_, v, err := Open(kek, tt.openAs, tt.openAsKey, b)
			if !errors.Is(err, ErrAuthentication) || v != nil {
				t.Fatalf("Open as %s/%s of an envelope for %s/%s: %d bytes, %v; want ErrAuthentication",
					tt.openAs, tt.openAsKey, tt.sealedScope, tt.sealedKey, len(v), err)
			}
		})
	}
}

func TestOpenWithWrongKEKFailsWrongKey(t *testing.T) {
	kek, other := newKEK(t), newKEK(t)
	b := seal(t, kek, "global", "k", []byte("v"))
	_, v, err := Open(other, "global", "k", b)
	if !errors.Is(err, ErrWrongKey) || errors.Is(err, ErrAuthentication) || v != nil {
		t.Fatalf("Open under another KEK: %d bytes, %v; want ErrWrongKey only", len(v), err)
	}
}

func TestOpenWithNilKEKFails(t *testing.T) {
	b := seal(t, newKEK(t), "global", "k", []byte("v"))
	if _, _, err := Open(nil, "global", "k", b); err == nil {
		t.Fatal("Open with a nil KEK succeeded")
	}
	if _, err := Rewrap(nil, newKEK(t), b, nil); err == nil {
		t.Fatal("Rewrap with a nil old KEK succeeded")
	}
}

func TestParseHeaderNeedsOnlyTheHeaderBytes(t *testing.T) {
	kek := newKEK(t)
	for name, b := range testEnvelopes(t, kek) {
		t.Run(name, func(t *testing.T) {
			full, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			prefix := b[:min(len(b), MaxHeaderSize)]
			h, m, err := ParseHeader(prefix)
			if err != nil {
				t.Fatalf("ParseHeader(first %d bytes): %v", len(prefix), err)
			}
			if h != full.Header || m != full.Header.Size() {
				t.Errorf("ParseHeader(prefix) = %+v, %d; Parse gave %+v, size %d", h, m, full.Header, full.Header.Size())
			}
			n := m
			if _, m, err := ParseHeader(b[:n]); err != nil || m != n {
				t.Errorf("ParseHeader(exactly the header) = %d, %v; want %d, nil", m, err, n)
			}
			if _, _, err := ParseHeader(b[:n-1]); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseHeader(header minus one byte) error %v, want ErrMalformed", err)
			}
			if _, err := Parse(prefix); len(prefix) < len(b) && !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse of a prefix: %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("longest header is MaxHeaderSize", func(t *testing.T) {
		b := seal(t, kek, maxScope(), maxKey(), nil)
		if _, n, err := ParseHeader(b); err != nil || n != MaxHeaderSize {
			t.Fatalf("ParseHeader = %d, %v; want %d", n, err, MaxHeaderSize)
		}
	})
}

func TestErrorsNeverContainTheValueOrKeys(t *testing.T) {
	kek, other := newKEK(t), newKEK(t)
	value := []byte("SECRET-do-not-leak-4f9a")
	b := seal(t, kek, "global", "k", value)
	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0xff
		_, _, err := Open(kek, "global", "k", c)
		record(err)
		_, err = Rewrap(kek, other, c, nil)
		record(err)
	}
	for n := range len(b) {
		_, _, err := Open(kek, "global", "k", b[:n])
		record(err)
	}
	_, _, err := Open(other, "global", "k", b)
	record(err)
	_, _, err = Open(kek, "global", "k2", b)
	record(err)
	_, err = Rewrap(other, kek, b, nil)
	record(err)
	_, err = Sealer{KEK: kek}.Seal(Header{Scope: "Bad", Key: "k", Created: time.Now(), Updated: time.Now()}, value)
	record(err)
	_, err = Sealer{KEK: kek, Rand: iotest.ErrReader(errors.New("no entropy"))}.Seal(
		Header{Scope: "global", Key: "k", Created: time.Now(), Updated: time.Now()}, value)
	record(err)

	if len(errs) < 2*len(b) {
		t.Fatalf("collected only %d errors", len(errs))
	}
	secrets := []string{string(value), hex.EncodeToString(value), fmt.Sprintf("%q", value),
		hex.EncodeToString(kek[:]), hex.EncodeToString(other[:]), string(kek[:8])}
	for _, err := range errs {
		for _, form := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, s := range secrets {
				if strings.Contains(form, s) {
					t.Fatalf("error %q contains a secret", form)
				}
			}
		}
	}
}

func TestHeaderSizeMatchesEncoding(t *testing.T) {
	for _, h := range []Header{
		{Scope: "g", Key: "k"},
		{Scope: "plugins/github", Key: "token", ValueSize: 7},
		{Scope: maxScope(), Key: maxKey()},
	} {
		if got := len(marshalHeader(h)); got != h.Size() {
			t.Errorf("Header{%q, %q}.Size() = %d, encoding is %d bytes", h.Scope, h.Key, h.Size(), got)
		}
	}
}

// FuzzParse checks that parsing arbitrary bytes never panics, fails only
// with ErrMalformed, and that whatever parses re-encodes to the same bytes.
func FuzzParse(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.envelope)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, n, herr := ParseHeader(data)
		if herr != nil {
			if !errors.Is(herr, ErrMalformed) {
				t.Fatalf("ParseHeader error %v does not wrap ErrMalformed", herr)
			}
		} else {
			if n > len(data) || n > MaxHeaderSize || n != h.Size() {
				t.Fatalf("ParseHeader length %d, input %d bytes, Size() %d", n, len(data), h.Size())
			}
			if enc := marshalHeader(h); !bytes.Equal(enc, data[:n]) {
				t.Fatalf("header re-encodes to\n%x\nnot\n%x", enc, data[:n])
			}
			if checkScope(h.Scope) != nil || checkKey(h.Key) != nil {
				t.Fatalf("ParseHeader accepted names %q, %q outside the grammar", h.Scope, h.Key)
			}
		}
		e, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if herr != nil {
			t.Fatalf("Parse succeeded where ParseHeader failed: %v", herr)
		}
		if e.Header != h {
			t.Fatalf("Parse header %+v, ParseHeader %+v", e.Header, h)
		}
		if want := n + Overhead + int(h.ValueSize); len(data) != want {
			t.Fatalf("Parse accepted %d bytes, header says %d", len(data), want)
		}
		if enc := marshalHeader(e.Header); !bytes.Equal(enc, data[:n]) {
			t.Fatalf("Parse header re-encodes differently")
		}
	})
}

// FuzzOpen checks that opening arbitrary bytes never panics, fails with
// exactly one of the sentinels, and succeeds only on the valid envelopes it
// was seeded with, unchanged.
func FuzzOpen(f *testing.F) {
	keys := []KEK{kekA, kekB}
	// valid[i] maps each envelope that opens under keys[i] to its value.
	valid := []map[string]string{{}, {}}
	for _, v := range loadVectors(f) {
		f.Add(v.envelope)
		for i := range keys {
			if h, _, err := ParseHeader(v.envelope); err == nil {
				if _, val, err := Open(&keys[i], h.Scope, h.Key, v.envelope); err == nil {
					valid[i][string(v.envelope)] = string(val)
				}
			}
		}
	}
	if len(valid[0]) < 4 || len(valid[1]) < 1 {
		f.Fatalf("seeds hold %d and %d valid envelopes, want at least 4 and 1", len(valid[0]), len(valid[1]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		names := [][2]string{{"global", "openai_api_key"}}
		if h, _, err := ParseHeader(data); err == nil {
			names = append(names, [2]string{h.Scope, h.Key})
		}
		for i := range keys {
			for _, nk := range names {
				_, val, err := Open(&keys[i], nk[0], nk[1], data)
				if err != nil {
					count := 0
					for _, s := range []error{ErrMalformed, ErrWrongKey, ErrAuthentication} {
						if errors.Is(err, s) {
							count++
						}
					}
					if count != 1 || val != nil {
						t.Fatalf("Open error %v wraps %d sentinels (value %d bytes), want exactly 1 and no value", err, count, len(val))
					}
					continue
				}
				want, ok := valid[i][string(data)]
				if !ok {
					t.Fatalf("Open succeeded on %x, which is not an unchanged valid envelope", data)
				}
				if string(val) != want {
					t.Fatalf("Open of a seed returned another value")
				}
			}
		}
	})
}

// TestHeaderWithRefusedNameSaysWhy checks the error a reader gives for a
// header whose name it refuses: malformed, naming the rule, and pointing at
// a newer writer, since that is how a reader meets a name from a later
// grammar (as version 1 readers before the Palyra names met
// "principal:Alice").
func TestHeaderWithRefusedNameSaysWhy(t *testing.T) {
	vs := loadVectors(t)
	for name, want := range map[string]string{
		"scope_id_control":   `principal id contains '\a' at byte 1`,
		"scope_uppercase":    `scope "Global": not in canonical form`,
		"scope_id_untrimmed": `not in canonical form`,
		"key_uppercase":      `key "openai_api_Key": contains uppercase 'K' at byte 11`,
	} {
		_, _, err := ParseHeader(vs[name].envelope)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "written by a newer version, or damaged") {
			t.Errorf("%s: ParseHeader error %v; want ErrMalformed naming %q and a newer writer", name, err, want)
		}
	}
}
