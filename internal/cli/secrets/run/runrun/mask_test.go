package runrun

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// maskAll is the reference: leftmost-longest replacement over the whole
// input at once.
func maskAll(in string, secrets []string, marker string) string {
	var b strings.Builder
	for i := 0; i < len(in); {
		best := 0
		for _, s := range secrets {
			if s != "" && strings.HasPrefix(in[i:], s) && len(s) > best {
				best = len(s)
			}
		}
		if best > 0 {
			b.WriteString(marker)
			i += best
		} else {
			b.WriteByte(in[i])
			i++
		}
	}
	return b.String()
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// feed writes in to a fresh masker in pieces cut at the given offsets and
// returns what came out after Close.
func feed(t *testing.T, in string, secrets []string, cuts ...int) string {
	t.Helper()
	var out bytes.Buffer
	m := newMasker(&out, toBytes(secrets), "***", 0)
	prev := 0
	for _, c := range append(cuts, len(in)) {
		if _, err := m.Write([]byte(in[prev:c])); err != nil {
			t.Fatal(err)
		}
		prev = c
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var maskCases = []struct {
	name    string
	secrets []string
	in      string
}{
	{"one secret in a line", []string{"sk-test-123"}, "key=sk-test-123\n"},
	{"secret at start and end", []string{"sk-test-123"}, "sk-test-123 and sk-test-123"},
	{"adjacent repeats", []string{"abab"}, "abababab"},
	{"self-overlapping prefix", []string{"aab"}, "aaab aaaab"},
	{"near misses", []string{"sk-test-123"}, "sk-test-12 sk-test-1234 ssk-test-123"},
	{"nested secrets: longest wins at the same start", []string{"abc", "abcdef"}, "xabcdefx abcx"},
	{"overlap: leftmost wins", []string{"bcd", "abc"}, "abcd"},
	{"inner secret inside a longer partial", []string{"abcd", "bc"}, "xabce xabcd"},
	{"one-byte secret", []string{"7"}, "1777 x7"},
	{"multi-line secret", []string{"line1\nline2"}, "a line1\nline2 b line1\nline3"},
	{"binary", []string{"\x00\xff\x00"}, "\x00\x00\xff\x00\xff"},
	{"no secrets", nil, "plain output"},
	{"empty secret ignored", []string{""}, "plain"},
	{"escape sequences kept around a secret", []string{"sk-1234"}, "\x1b[31msk-1234\x1b[0m\r\n"},
}

func TestMaskerMasksAtEverySplitPoint(t *testing.T) {
	for _, tc := range maskCases {
		t.Run(tc.name, func(t *testing.T) {
			want := maskAll(tc.in, tc.secrets, "***")
			if got := feed(t, tc.in, tc.secrets); got != want {
				t.Fatalf("whole: got %q, want %q", got, want)
			}
			for i := 0; i <= len(tc.in); i++ {
				if got := feed(t, tc.in, tc.secrets, i); got != want {
					t.Fatalf("split at %d: got %q, want %q", i, got, want)
				}
				for j := i; j <= len(tc.in); j++ {
					if got := feed(t, tc.in, tc.secrets, i, j); got != want {
						t.Fatalf("split at %d and %d: got %q, want %q", i, j, got, want)
					}
				}
			}
			// One byte at a time.
			var cuts []int
			for i := 1; i < len(tc.in); i++ {
				cuts = append(cuts, i)
			}
			if got := feed(t, tc.in, tc.secrets, cuts...); got != want {
				t.Fatalf("byte by byte: got %q, want %q", got, want)
			}
		})
	}
}

func TestMaskerMatchesReferenceOnRandomStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ab-\n"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for iter := 0; iter < 3000; iter++ {
		secrets := []string{word(1 + rng.IntN(4)), word(1 + rng.IntN(6))}
		in := word(rng.IntN(40))
		var cuts []int
		for c := 0; c < len(in); c += 1 + rng.IntN(5) {
			cuts = append(cuts, c)
		}
		want := maskAll(in, secrets, "***")
		if got := feed(t, in, secrets, cuts...); got != want {
			t.Fatalf("secrets %q, input %q, cuts %v: got %q, want %q", secrets, in, cuts, got, want)
		}
	}
}

func TestMaskerPassesOnAtOnceWhatCannotStartASecret(t *testing.T) {
	var out bytes.Buffer
	m := newMasker(&out, toBytes([]string{"sk-test-123"}), "***", 0)
	steps := []struct{ write, wantOut string }{
		{"hello ", "hello "},
		{"world s", "hello world "}, // "s" may start the secret
		{"k-te", "hello world "},    // still may
		{"x", "hello world sk-tex"}, // no longer
		{"sk-test-123", "hello world sk-tex***"},
		{"\n", "hello world sk-tex***\n"},
	}
	for _, s := range steps {
		if _, err := m.Write([]byte(s.write)); err != nil {
			t.Fatal(err)
		}
		if out.String() != s.wantOut {
			t.Fatalf("after writing %q: out = %q, want %q", s.write, out.String(), s.wantOut)
		}
	}
}

func TestMaskerHoldExpiryPassesOnAnUnfinishedPrefix(t *testing.T) {
	var out bytes.Buffer
	m := newMasker(&out, toBytes([]string{"sk-test-123"}), "***", 0)
	m.Write([]byte("Password sk-te"))
	if out.String() != "Password " {
		t.Fatalf("out = %q", out.String())
	}
	m.holdExpired() // what the hold timer calls; hold 0 never starts one
	if out.String() != "Password sk-te" {
		t.Fatalf("after the hold expired out = %q", out.String())
	}
	// The stream goes on; a later complete secret is still masked.
	m.Write([]byte("st-123 sk-test-123"))
	m.Close()
	if out.String() != "Password sk-test-123 ***" {
		t.Fatalf("out = %q", out.String())
	}
}

func TestMaskerNeverHoldsOutputIndefinitely(t *testing.T) {
	var out testutil.SyncBuffer
	m := newMasker(&out, toBytes([]string{"sk-test-123"}), "***", time.Millisecond)
	defer m.Close()
	m.Write([]byte("Enter a key like sk-"))
	// No more output comes: the kept-back "sk-" must appear on its own.
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != "Enter a key like sk-" {
		if time.Now().After(deadline) {
			t.Fatalf("kept-back output never passed on; out = %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMaskerCloseWipesItsCopies(t *testing.T) {
	var out bytes.Buffer
	secret := []byte("sk-test-123")
	m := newMasker(&out, [][]byte{secret}, "***", 0)
	m.Write([]byte("x sk-te"))
	kept := m.pend[:cap(m.pend)]
	copies := m.secrets
	m.Close()
	for _, s := range copies {
		if !bytes.Equal(s, make([]byte, len(s))) {
			t.Fatalf("secret copy not wiped: %q", s)
		}
	}
	if !bytes.Equal(kept, make([]byte, len(kept))) {
		t.Fatalf("kept-back output not wiped: %q", kept)
	}
	if string(secret) != "sk-test-123" {
		t.Fatal("the caller's secret was modified")
	}
	if _, err := m.Write([]byte("late")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

func BenchmarkMaskerLargeOutput(b *testing.B) {
	chunk := bytes.Repeat([]byte("some ordinary log output with s and sk- in it\n"), 100)
	secrets := toBytes([]string{"sk-test-0123456789abcdef", "ghp_0123456789abcdefghij", "another-secret-value"})
	b.SetBytes(int64(len(chunk)))
	m := newMasker(discard{}, secrets, "***", 0)
	for b.Loop() {
		m.Write(chunk)
	}
	m.Close()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
