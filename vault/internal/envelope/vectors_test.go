package envelope

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vectors are text files in testdata/vectors, in the format that
// docs/FORMAT.md ("Test vectors") describes: header lines "name: value", a
// blank line, then the envelope in hex wrapped at 64 digits per line.

const vectorsDir = "testdata/vectors"

// The expectations a vector can state.
const (
	expectSuccess      = "success"
	expectAuthFailure  = "auth failure"
	expectWrongKey     = "wrong key"
	expectParseFailure = "parse failure"
)

// vector is one test vector file.
type vector struct {
	expect     string
	kek        KEK    // the key to open with
	scope, key string // the names to open as
	comment    string

	// Success vectors only: the value, and what it was sealed with, so that
	// a writer can reproduce the envelope byte for byte.
	value            []byte
	dek              []byte
	dekNonce, nonce  []byte
	created, updated int64

	envelope []byte
}

// vectorFields lists the header lines in the order they are written.
var vectorFields = []string{"expect", "kek", "scope", "key", "value", "dek", "dek_nonce", "nonce", "created", "updated", "comment"}

func (v *vector) marshal() []byte {
	var b bytes.Buffer
	line := func(k, val string) {
		if val == "" {
			fmt.Fprintf(&b, "%s:\n", k)
			return
		}
		fmt.Fprintf(&b, "%s: %s\n", k, val)
	}
	line("expect", v.expect)
	line("kek", hex.EncodeToString(v.kek[:]))
	line("scope", v.scope)
	line("key", v.key)
	if v.expect == expectSuccess {
		line("value", hex.EncodeToString(v.value))
		line("dek", hex.EncodeToString(v.dek))
		line("dek_nonce", hex.EncodeToString(v.dekNonce))
		line("nonce", hex.EncodeToString(v.nonce))
		line("created", strconv.FormatInt(v.created, 10))
		line("updated", strconv.FormatInt(v.updated, 10))
	}
	line("comment", v.comment)
	b.WriteString("\n")
	h := hex.EncodeToString(v.envelope)
	for len(h) > 0 {
		n := min(64, len(h))
		b.WriteString(h[:n] + "\n")
		h = h[n:]
	}
	return b.Bytes()
}

// parseVector reads a vector file strictly: every field known, none twice,
// the required ones present, and the body valid hex.
func parseVector(data []byte) (*vector, error) {
	v := &vector{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	inBody := false
	var body strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if inBody {
			body.WriteString(strings.TrimSpace(line))
			continue
		}
		if line == "" {
			inBody = true
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("header line %q has no ':'", line)
		}
		val = strings.TrimSpace(val)
		if !slices.Contains(vectorFields, name) {
			return nil, fmt.Errorf("unknown header field %q", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("header field %q repeated", name)
		}
		seen[name] = true
		var err error
		switch name {
		case "expect":
			v.expect = val
			if !slices.Contains([]string{expectSuccess, expectAuthFailure, expectWrongKey, expectParseFailure}, val) {
				return nil, fmt.Errorf("unknown expectation %q", val)
			}
		case "kek":
			var k []byte
			if k, err = hex.DecodeString(val); err == nil && len(k) != len(v.kek) {
				err = fmt.Errorf("%d bytes, want %d", len(k), len(v.kek))
			}
			copy(v.kek[:], k)
		case "scope":
			v.scope = val
		case "key":
			v.key = val
		case "value":
			v.value, err = hex.DecodeString(val)
		case "dek":
			v.dek, err = hex.DecodeString(val)
		case "dek_nonce":
			v.dekNonce, err = hex.DecodeString(val)
		case "nonce":
			v.nonce, err = hex.DecodeString(val)
		case "created":
			v.created, err = strconv.ParseInt(val, 10, 64)
		case "updated":
			v.updated, err = strconv.ParseInt(val, 10, 64)
		case "comment":
			v.comment = val
		}
		if err != nil {
			return nil, fmt.Errorf("header field %q: %w", name, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, f := range []string{"expect", "kek", "scope", "key", "comment"} {
		if !seen[f] {
			return nil, fmt.Errorf("missing header field %q", f)
		}
	}
	if v.expect == expectSuccess {
		for _, f := range vectorFields {
			if !seen[f] {
				return nil, fmt.Errorf("success vector misses header field %q", f)
			}
		}
	}
	var err error
	if v.envelope, err = hex.DecodeString(body.String()); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return v, nil
}

// loadVectors reads every vector file, keyed by file name without ".txt".
func loadVectors(tb testing.TB) map[string]*vector {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(vectorsDir, "*.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) < 20 {
		tb.Fatalf("found %d vector files in %s, expected at least 20", len(paths), vectorsDir)
	}
	vs := map[string]*vector{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		v, err := parseVector(data)
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		vs[strings.TrimSuffix(filepath.Base(p), ".txt")] = v
	}
	return vs
}

func TestVectors(t *testing.T) {
	for name, v := range loadVectors(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkVector(t, v)
		})
	}
}

// checkVector opens v.envelope as the vector says and checks that the
// outcome is exactly the one it expects.
func checkVector(t *testing.T, v *vector) {
	e, perr := Parse(v.envelope)
	if v.expect == expectParseFailure {
		if !errors.Is(perr, ErrMalformed) {
			t.Fatalf("Parse error = %v, want ErrMalformed", perr)
		}
	} else if perr != nil {
		t.Fatalf("Parse: %v", perr)
	}

	h, got, err := Open(&v.kek, v.scope, v.key, v.envelope)
	want := map[string]error{
		expectAuthFailure:  ErrAuthentication,
		expectWrongKey:     ErrWrongKey,
		expectParseFailure: ErrMalformed,
	}[v.expect]
	for _, sentinel := range []error{ErrAuthentication, ErrWrongKey, ErrMalformed} {
		if errors.Is(err, sentinel) != (sentinel == want) {
			t.Fatalf("Open error = %v, want an error wrapping %v (and no other sentinel)", err, want)
		}
	}
	if v.expect != expectSuccess {
		if err == nil || got != nil {
			t.Fatalf("Open succeeded, want %s", v.expect)
		}
		return
	}
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(got, v.value) {
		t.Errorf("value = %x, want %x", got, v.value)
	}
	wantHeader := Header{
		Scope: v.scope, Key: v.key,
		Created:   time.Unix(0, v.created).UTC(),
		Updated:   time.Unix(0, v.updated).UTC(),
		ValueSize: uint32(len(v.value)),
	}
	if h != wantHeader || e.Header != wantHeader {
		t.Errorf("header = %+v (Parse: %+v), want %+v", h, e.Header, wantHeader)
	}

	// A writer given the same inputs reproduces the envelope byte for byte.
	rnd := bytes.NewReader(slices.Concat(v.dek, v.dekNonce, v.nonce))
	sealed, err := Sealer{KEK: &v.kek, Rand: rnd}.Seal(wantHeader, v.value)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if !bytes.Equal(sealed, v.envelope) {
		t.Errorf("sealing the vector's inputs gave\n%x\nwant\n%x", sealed, v.envelope)
	}
}

const objectIDVectors = "testdata/objectids.txt"

// objectIDVector is one record of testdata/objectids.txt.
type objectIDVector struct{ scope, key, id string }

// parseObjectIDVectors reads records of "scope:", "key:" and "id:" lines
// separated by blank lines; lines starting with '#' are comments.
func parseObjectIDVectors(data []byte) ([]objectIDVector, error) {
	var out []objectIDVector
	for i, rec := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
		fields := map[string]string{}
		for line := range strings.SplitSeq(rec, "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			name, val, ok := strings.Cut(line, ": ")
			if !ok || (name != "scope" && name != "key" && name != "id") {
				return nil, fmt.Errorf("record %d: bad line %q", i, line)
			}
			fields[name] = val
		}
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("record %d: want scope, key and id, got %v", i, fields)
		}
		out = append(out, objectIDVector{fields["scope"], fields["key"], fields["id"]})
	}
	return out, nil
}

func TestObjectIDVectors(t *testing.T) {
	data, err := os.ReadFile(objectIDVectors)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := parseObjectIDVectors(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 5 {
		t.Fatalf("found %d object-id vectors, expected at least 5", len(vs))
	}
	for _, v := range vs {
		got := ObjectID(v.scope, v.key)
		if string(got) != v.id {
			t.Errorf("ObjectID(%q, %q) = %s, want %s", v.scope, v.key, got, v.id)
		}
		if !got.Valid() {
			t.Errorf("ObjectID(%q, %q) = %s is not a valid backend.ObjectID", v.scope, v.key, got)
		}
	}
}

func TestObjectIDSeparatesScopeFromKey(t *testing.T) {
	// Without the zero byte between them, these pairs would hash the same
	// bytes.
	pairs := [][2][2]string{
		{{"ab", "c"}, {"a", "bc"}},
		{{"plugins/gh", "token"}, {"plugins/g", "htoken"}},
	}
	for _, p := range pairs {
		a, b := ObjectID(p[0][0], p[0][1]), ObjectID(p[1][0], p[1][1])
		if a == b {
			t.Errorf("ObjectID%q = ObjectID%q = %s", p[0], p[1], a)
		}
	}
}
