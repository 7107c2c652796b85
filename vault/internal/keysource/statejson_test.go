package keysource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/vaulterr"
)

// oracleDecodeState is the decoder parseState used before decodeState:
// encoding/json with unknown fields refused and nothing after the object,
// plus the one rule decodeState adds (oracleDuplicate). The fuzz test
// holds decodeState to it.
func oracleDecodeState(data []byte) (*State, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if err := oracleDuplicate(data); err != nil {
		return nil, err
	}
	return &st, nil
}

// oracleDuplicate refuses a document (valid JSON) in which one object has
// two member names that encoding/json would match to the same field: names
// equal under Unicode simple case folding (strings.EqualFold).
func oracleDuplicate(data []byte) error {
	type frame struct {
		object bool
		key    bool // an object's next token is a member name
		names  []string
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			name := tok.(string)
			for _, n := range top.names {
				if strings.EqualFold(n, name) {
					return fmt.Errorf("member %q appears twice", name)
				}
			}
			top.names = append(top.names, name)
			top.key = false
			continue
		}
		if top != nil && top.object {
			top.key = true // this token is a value (or opens one)
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{object: true, key: true})
			case '[':
				stack = append(stack, &frame{})
			case ']':
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// oracleParseState is parseState as it was, with oracleDecodeState.
func oracleParseState(data []byte) (*State, error) {
	if len(data) > maxFileSize {
		return nil, errors.New("too large")
	}
	st, err := oracleDecodeState(data)
	if err != nil {
		return nil, err
	}
	if err := st.check(); err != nil {
		return nil, err
	}
	return st, nil
}

const (
	testVaultID  = "50ee45f068efccf96deebeab772c211c"
	testKEKID    = "7c587b0f191de1fdeefec302dfbce96a"
	testKEKID2   = "8db3205a41a6b04f64226daa65162ad1"
	testRecip    = "age18msdsucu23u74r3v5taw3epffpvc90adda0lc20ksd938qe0ta5s35g5sa"
	testRecip2   = "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
	testObjectID = "obj_0000000000000000000000000000000000000000000000000000000000000000"
)

// seedStates are the shapes of key-source state the vault writes: each
// source, a half-done rotation and a finished one.
func seedStates() map[string]*State {
	kdf := func() *KDFParams {
		return &KDFParams{Algorithm: kdfAlgorithm, Version: kdfVersion, MemoryKiB: 8, Time: 1, Threads: 1, Salt: bytes.Repeat([]byte{7}, 16)}
	}
	wrapped := bytes.Repeat([]byte{9}, envelope.NonceSize+32+envelope.TagSize)
	return map[string]*State{
		"device":     {VaultID: testVaultID, Active: Spec{Source: Device, KEKID: testKEKID, File: "device.key"}},
		"passphrase": {VaultID: testVaultID, Active: Spec{Source: Passphrase, KEKID: testKEKID, KDF: kdf()}},
		"os":         {VaultID: testVaultID, Active: Spec{Source: OS, KEKID: testKEKID, Store: "linux_secret_service", Item: testObjectID}},
		"member": {VaultID: testVaultID, Active: Spec{Source: Member, KEKID: testKEKID, Members: []MemberWrap{
			{Recipient: testRecip, Wrapped: []byte("age-encryption.org/v1 ...")},
			{Recipient: testRecip2, Wrapped: []byte{1, 2, 3}},
		}}},
		"rotating": {VaultID: testVaultID, Active: Spec{Source: Device, KEKID: testKEKID, File: "device.key"},
			Pending: &Pending{Spec: Spec{Source: Passphrase, KEKID: testKEKID2, KDF: kdf()}, Wrapped: wrapped}},
		"rotating-member": {VaultID: testVaultID, Active: Spec{Source: OS, KEKID: testKEKID, Store: "macos_keychain", Item: testObjectID},
			Pending: &Pending{Spec: Spec{Source: Member, KEKID: testKEKID2, Members: []MemberWrap{{Recipient: testRecip, Wrapped: []byte{1}}}}}},
		"retiring": {VaultID: testVaultID, Active: Spec{Source: Device, KEKID: testKEKID2, File: "device-" + testKEKID2 + ".key"},
			Retired: &Spec{Source: Passphrase, KEKID: testKEKID, KDF: kdf()}},
	}
}

// seedFiles returns keysource.json as encodeState writes it for each seed
// state, and the fixtures' files.
func seedFiles(tb testing.TB) map[string][]byte {
	files := map[string][]byte{}
	for name, st := range seedStates() {
		data, err := encodeState(st)
		if err != nil {
			tb.Fatalf("encoding seed %s: %v", name, err)
		}
		files[name] = data
	}
	fixtures, _ := filepath.Glob("../../testdata/fixtures/*/*/vault/keysource.json")
	if len(fixtures) == 0 {
		tb.Fatal("no fixture keysource.json found under vault/testdata/fixtures")
	}
	for _, p := range fixtures {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		files[p] = data
	}
	return files
}

func TestDecodeStateReadsWhatEncodeStateWrites(t *testing.T) {
	for name, data := range seedFiles(t) {
		t.Run(name, func(t *testing.T) {
			got, err := parseState(data, "key source file x")
			if err != nil {
				t.Fatalf("parseState: %v", err)
			}
			want, err := oracleParseState(data)
			if err != nil {
				t.Fatalf("oracle: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			again, err := encodeState(got)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("re-encoding differs (err %v):\n%s\nwant\n%s", err, again, data)
			}
		})
	}
}

// edgeCase is an input where a hand-written decoder could drift from
// encoding/json, with the decisions both must make.
type edgeCase struct {
	name   string
	in     string
	accept bool // the decode alone, before State.check
	valid  bool // parseState, with State.check
}

func edgeCases() []edgeCase {
	dev := `"source":"device","kek_id":"` + testKEKID + `","file":"device.key"`
	doc := func(active string, rest ...string) string {
		s := `{"format":"palyra-vault keysource v1","vault_id":"` + testVaultID + `","active":{` + active + `}`
		for _, r := range rest {
			s += "," + r
		}
		return s + "}"
	}
	kdf := func(members string) string {
		return `"source":"passphrase","kek_id":"` + testKEKID + `","kdf":{` + members + `}`
	}
	okKDF := `"algorithm":"argon2id","version":19,"memory_kib":8,"time":1,"threads":1,"salt":"vjpjd9rGMyfSgoVqG4Q8uA=="`
	return []edgeCase{
		{"minimal device", doc(dev), true, true},
		{"white space everywhere", " \t\r\n" + strings.ReplaceAll(doc(dev), ",", " ,\n ") + "\n\t ", true, true},
		{"empty input", ``, false, false},
		{"only space", " \n", false, false},
		{"top-level null", `null`, true, false},
		{"top-level null twice", `null null`, false, false},
		{"top-level array", `[]`, false, false},
		{"top-level string", `"x"`, false, false},
		{"empty object", `{}`, true, false},
		{"two objects", doc(dev) + doc(dev), false, false},
		{"trailing comma in object", strings.TrimSuffix(doc(dev), "}") + ",}", false, false},
		{"trailing garbage", doc(dev) + "x", false, false},
		{"trailing NUL", doc(dev) + "\x00", false, false},
		{"byte order mark", "\ufeff" + doc(dev), false, false},
		{"unterminated", strings.TrimSuffix(doc(dev), "}"), false, false},
		{"unknown member", doc(dev, `"extra":1`), false, false},
		{"unknown member in spec", doc(dev + `,"x":null`), false, false},
		{"wrapped outside pending", doc(dev + `,"wrapped":null`), false, false},
		{"embedded struct name", doc(dev, `"pending":{"Spec":{}}`), false, false},
		{"duplicate member", doc(dev, `"format":"palyra-vault keysource v1"`), false, false},
		{"duplicate under case folding", doc(dev, `"FORMAT":"palyra-vault keysource v1"`), false, false},
		{"duplicate nested", doc(dev + `,"file":"device.key"`), false, false},
		{"upper-case member name", strings.Replace(doc(dev), `"format"`, `"FoRmAt"`, 1), true, true},
		{"long s folds to s", strings.Replace(doc(dev), `"source"`, `"ſource"`, 1), true, true},
		{"Kelvin sign folds to k", strings.Replace(doc(dev), `"kek_id"`, "\"\u212aek_id\"", 1), true, true},
		{"escaped member name", strings.Replace(doc(dev), `"format"`, `"\u0066ormat"`, 1), true, true},
		{"dotless i does not fold to i", strings.Replace(doc(dev), `"file"`, `"fıle"`, 1), false, false},
		{"null string leaves it empty", doc(dev + `,"store":null,"item":null,"kdf":null,"members":null`), true, true},
		{"null active", `{"format":"palyra-vault keysource v1","vault_id":"` + testVaultID + `","active":null}`, true, false},
		{"null pending and retired", doc(dev, `"pending":null`, `"retired":null`), true, true},
		{"empty members is not absent", doc(dev + `,"members":[]`), true, false},
		{"null member element", doc(`"source":"member","kek_id":"` + testKEKID + `","members":[null]`), true, false},
		{"members not an array", doc(dev + `,"members":{}`), false, false},
		{"string for a number", doc(kdf(`"algorithm":"argon2id","version":"19"`)), false, false},
		{"number for a string", doc(dev, `"vault_id":1`), false, false},
		{"bool for a string", doc(`"source":true`), false, false},
		{"string for an object", doc(dev, `"pending":"x"`), false, false},
		{"array for an object", doc(dev, `"retired":[]`), false, false},
		{"kdf", doc(kdf(okKDF)), true, true},
		{"negative zero version", doc(kdf(strings.Replace(okKDF, "19", "-0", 1))), true, false},
		{"negative zero threads", doc(kdf(strings.Replace(okKDF, `"threads":1`, `"threads":-0`, 1))), false, false},
		{"fraction", doc(kdf(strings.Replace(okKDF, "19", "19.0", 1))), false, false},
		{"exponent", doc(kdf(strings.Replace(okKDF, "19", "1e1", 1))), false, false},
		{"leading zero", doc(kdf(strings.Replace(okKDF, "19", "019", 1))), false, false},
		{"plus sign", doc(kdf(strings.Replace(okKDF, "19", "+19", 1))), false, false},
		{"threads overflow uint8", doc(kdf(strings.Replace(okKDF, `"threads":1`, `"threads":256`, 1))), false, false},
		{"threads 255", doc(kdf(strings.Replace(okKDF, `"threads":1`, `"threads":255`, 1))), true, false},
		{"memory overflows uint32", doc(kdf(strings.Replace(okKDF, `"memory_kib":8`, `"memory_kib":4294967296`, 1))), false, false},
		{"version overflows int64", doc(kdf(strings.Replace(okKDF, "19", "9223372036854775808", 1))), false, false},
		{"null numbers stay zero", doc(kdf(`"version":null,"time":null,"memory_kib":null,"threads":null`)), true, false},
		{"salt with escaped line break", doc(kdf(strings.Replace(okKDF, "vjpjd9rG", `vjpj\nd9rG\r`, 1))), true, true},
		{"salt as a byte array", doc(kdf(strings.Replace(okKDF, `"vjpjd9rGMyfSgoVqG4Q8uA=="`, `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,null]`, 1))), true, true},
		{"salt byte out of range", doc(kdf(strings.Replace(okKDF, `"vjpjd9rGMyfSgoVqG4Q8uA=="`, `[256]`, 1))), false, false},
		{"salt byte negative", doc(kdf(strings.Replace(okKDF, `"vjpjd9rGMyfSgoVqG4Q8uA=="`, `[-1]`, 1))), false, false},
		{"salt without padding", doc(kdf(strings.Replace(okKDF, "uA==", "uA", 1))), false, false},
		{"salt in url alphabet", doc(kdf(strings.Replace(okKDF, "vjpjd9rG", "vj-jd9rG", 1))), false, false},
		{"empty salt", doc(kdf(strings.Replace(okKDF, `"vjpjd9rGMyfSgoVqG4Q8uA=="`, `""`, 1))), true, false},
		{"invalid UTF-8 in a value", doc(dev, "\"vault_id\":\"\xff\""), false, false},
		{"invalid UTF-8 in a member name", doc(dev, "\"\xff\":1"), false, false},
		{"escaped slash", strings.Replace(doc(dev), `"device.key"`, `"device.key\/"`, 1), true, false},
		{"surrogate pair", strings.Replace(doc(dev), `"device.key"`, `"\ud83d\ude00"`, 1), true, false},
		{"lone surrogate", strings.Replace(doc(dev), `"device.key"`, `"\ud83d"`, 1), true, false},
		{"bad escape", strings.Replace(doc(dev), `"device.key"`, `"\x41"`, 1), false, false},
		{"short unicode escape", strings.Replace(doc(dev), `"device.key"`, `"\u41"`, 1), false, false},
		{"control character", strings.Replace(doc(dev), `"device.key"`, "\"a\tb\"", 1), false, false},
		{"single quotes", strings.Replace(doc(dev), `"device.key"`, `'device.key'`, 1), false, false},
		{"comment", doc(dev) + "// x", false, false},
		{"nul literal", doc(dev, `"pending":nul`), false, false},
		{"member element as number", doc(`"source":"member","kek_id":"` + testKEKID + `","members":[1]`), false, false},
	}
}

// TestDecodeStateEdgeCases runs the edge cases through both decoders.
func TestDecodeStateEdgeCases(t *testing.T) {
	for _, tt := range edgeCases() {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.in)
			_, oerr := oracleDecodeState(data)
			if (oerr == nil) != tt.accept {
				t.Fatalf("the oracle decides %v (%v), the table says %v: fix the table", oerr == nil, oerr, tt.accept)
			}
			compare(t, data)
			_, err := parseState(data, "key source file x")
			if (err == nil) != tt.valid {
				t.Fatalf("parseState: %v, want valid %v", err, tt.valid)
			}
		})
	}
}

func TestParseStateErrorsNameTheFileNotTheValue(t *testing.T) {
	const secretish = "SECRETSECRET"
	tests := []string{
		`{"format":"` + secretish + `\u0000",`,
		`{"vault_id":"` + secretish + `"x}`,
		`{"active":{"kdf":{"salt":"` + secretish + `!"}}}`,
		`{"active":{"kdf":{"salt":"` + secretish + `\q"}}}`,
		`{"active":{"kdf":{"version":1` + secretish + `}}}`,
		`{"active":{"file":"` + secretish + "\x01" + `"}}`,
	}
	for _, in := range tests {
		_, err := parseState([]byte(in), "key source file /v/keysource.json")
		if err == nil {
			t.Fatalf("%q: accepted", in)
		}
		if !errors.Is(err, vaulterr.ErrCorrupt) || !strings.Contains(err.Error(), "/v/keysource.json") {
			t.Errorf("%q: error %v does not wrap ErrCorrupt and name the file", in, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%q: error %v quotes the value", in, err)
		}
	}
}

// compare requires decodeState and parseState to make the same decision
// as the oracle on data, and the same State when both accept.
func compare(t *testing.T, data []byte) {
	t.Helper()
	want, werr := oracleDecodeState(data)
	got, gerr := decodeState(data)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("decode of %q: oracle error %v, decodeState error %v", data, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decode of %q:\n got %#v\nwant %#v", data, got, want)
	}
	want, werr = oracleParseState(data)
	got, gerr = parseState(data, "key source file x")
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("parse of %q: oracle error %v, parseState error %v", data, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("parse of %q:\n got %#v\nwant %#v", data, got, want)
	}
	if gerr != nil && !errors.Is(gerr, vaulterr.ErrCorrupt) {
		t.Fatalf("parse of %q: error %v does not wrap ErrCorrupt", data, gerr)
	}
}

func FuzzParseStateMatchesEncodingJSON(f *testing.F) {
	for _, data := range seedFiles(f) {
		f.Add(data)
		f.Add(bytes.ToUpper(data))
		f.Add(bytes.ReplaceAll(data, []byte(`": "`), []byte(`": null, "x": "`)))
	}
	for _, tt := range edgeCases() {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compare(t, data)
	})
}
