package keychain

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
)

// allCarriableBytes is every byte value quoteArg can carry: all but NUL and
// newline.
func allCarriableBytes() string {
	var b []byte
	for c := 1; c < 256; c++ {
		if c != '\n' {
			b = append(b, byte(c))
		}
	}
	return string(b)
}

func TestQuoteArgSurvivesSecuritySplitLine(t *testing.T) {
	tests := []struct {
		name, arg string
	}{
		{"empty", ""},
		{"plain", "obj_0123"},
		{"spaces and tabs", " a\tb  c \v\f\r "},
		{"double quotes", `"say "hi""`},
		{"single quotes", `it's 'quoted'`},
		{"backslashes", `\ \\ \" \' trailing\`},
		{"only backslash", `\`},
		{"quote then backslash", `"\`},
		{"high bytes", "\x80\xfe\xff caf\xc3\xa9"},
		{"every carriable byte", allCarriableBytes()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := quoteArg(tc.arg)
			if err != nil {
				t.Fatalf("quoteArg: %v", err)
			}
			// Surround it with other arguments, as in a real command line.
			got := splitLine("cmd -w " + q + " " + q + " last")
			want := []string{"cmd", "-w", tc.arg, tc.arg, "last"}
			if !slices.Equal(got, want) {
				t.Fatalf("splitLine(quoteArg(%q)) = %q, want %q", tc.arg, got, want)
			}
		})
	}
}

func TestQuoteArgEachSingleByteAlone(t *testing.T) {
	for c := 1; c < 256; c++ {
		if c == '\n' {
			continue
		}
		arg := string([]byte{byte(c)})
		q, err := quoteArg(arg)
		if err != nil {
			t.Fatalf("quoteArg(%q): %v", arg, err)
		}
		if got := splitLine(q); !slices.Equal(got, []string{arg}) {
			t.Errorf("byte %#02x: splitLine(%q) = %q", c, q, got)
		}
	}
}

func TestQuoteArgRefusesNewlineAndNUL(t *testing.T) {
	for _, arg := range []string{"a\nb", "\n", "a\x00b", "\x00"} {
		if _, err := quoteArg(arg); !errors.Is(err, errNoNewlineOrNUL) {
			t.Errorf("quoteArg(%q) = %v; want errNoNewlineOrNUL", arg, err)
		}
	}
}

func TestInteractiveLineErrorsNeverQuoteArguments(t *testing.T) {
	secret := "pv1:SECRETVALUE"
	for _, args := range [][]string{
		{"add-generic-password", "-w", secret + "\n"},
		{"add-generic-password", "-w", secret + strings.Repeat("A", maxLineLen)},
	} {
		_, err := interactiveLine(args...)
		if err == nil {
			t.Fatalf("interactiveLine accepted %d bytes of arguments", len(strings.Join(args, "")))
		}
		if strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("error %q quotes the argument", err)
		}
	}
}

func TestInteractiveLineLengthLimit(t *testing.T) {
	// "x" plus the quotes is 3 bytes: fill the rest with an argument.
	fits := strings.Repeat("a", maxLineLen-len(`"x" ""`))
	line, err := interactiveLine("x", fits)
	if err != nil {
		t.Fatalf("line of exactly %d bytes: %v", maxLineLen, err)
	}
	if len(line) != maxLineLen+1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("line is %d bytes, want %d ending in a newline", len(line), maxLineLen+1)
	}
	_, err = interactiveLine("x", fits+"a")
	if !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("line of %d bytes: %v; want ErrTooLarge", maxLineLen+1, err)
	}
}

func TestMaxBlobFitsWithLongestServiceAndKeychain(t *testing.T) {
	service := strings.Repeat("s", maxServiceLen)
	keychain := strings.Repeat(`"`, maxKeychainLen) // every byte needs escaping
	id := "obj_" + strings.Repeat("f", 64)
	line, err := addLine(service, id, encodeValue(make([]byte, MaxBlobSize)), keychain)
	if err != nil {
		t.Fatalf("addLine with MaxBlobSize and the longest options: %v", err)
	}
	// One more blob byte may or may not fit; enough to cross the limit must not.
	if _, err := addLine(service, id, encodeValue(make([]byte, MaxBlobSize+(maxLineLen-len(line))+4)), keychain); !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("addLine past the line limit: %v; want ErrTooLarge", err)
	}
}

func TestAddLineCarriesSecretAsOneArgument(t *testing.T) {
	value := encodeValue([]byte("blob"))
	line, err := addLine(Service, "obj_1", value, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"add-generic-password", "-U", "-s", Service, "-a", "obj_1", "-w", value}
	if got := splitLine(strings.TrimSuffix(line, "\n")); !slices.Equal(got, want) {
		t.Fatalf("addLine splits into %q, want %q", got, want)
	}
	line, err = addLine(Service, "obj_1", value, "/k/my \"odd\" keychain")
	if err != nil {
		t.Fatal(err)
	}
	if got := splitLine(strings.TrimSuffix(line, "\n")); !slices.Equal(got, append(want, "/k/my \"odd\" keychain")) {
		t.Fatalf("addLine with keychain splits into %q", got)
	}
}

func TestArgvBuildersCarryNoValue(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"find", findArgs("svc", "obj_1", ""), []string{"find-generic-password", "-s", "svc", "-a", "obj_1", "-w"}},
		{"find in keychain", findArgs("svc", "obj_1", "k"), []string{"find-generic-password", "-s", "svc", "-a", "obj_1", "-w", "k"}},
		{"delete", deleteArgs("svc", "obj_1", ""), []string{"delete-generic-password", "-s", "svc", "-a", "obj_1"}},
		{"dump", dumpArgs(""), []string{"dump-keychain"}},
		{"dump keychain", dumpArgs("k"), []string{"dump-keychain", "k"}},
	}
	for _, tc := range tests {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestDecodeValueInvertsEncodeValue(t *testing.T) {
	for _, blob := range [][]byte{{}, {0}, []byte("\n\"\\'"), []byte(allCarriableBytes() + "\x00\n")} {
		got, err := decodeValue([]byte(encodeValue(blob) + "\n"))
		if err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("decodeValue(encodeValue(%q)) = %q, %v", blob, got, err)
		}
	}
}

func TestDecodeValueRefusesForeignPasswords(t *testing.T) {
	tests := []struct{ name, out, want string }{
		{"no newline", "pv1:YQ==", "without its final newline"},
		{"no prefix", "hunter2\n", "not written by palyra-vault"},
		{"hex printed by security", "7076313a00ff\n", "not written by palyra-vault"},
		{"bad base64", "pv1:!!!!\n", "malformed base64"},
		{"non-canonical base64", "pv1:YR==\n", "malformed base64"},
		{"two lines", "pv1:YQ==\nextra\n", "malformed base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeValue([]byte(tc.out))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeValue(%q) = %v; want error saying %q", tc.out, err, tc.want)
			}
			if strings.Contains(err.Error(), strings.TrimSpace(tc.out)) {
				t.Errorf("error %q quotes the password", err)
			}
		})
	}
}

func TestParseDumpKeepsOnlyOurServicesObjectIDs(t *testing.T) {
	id1 := "obj_" + strings.Repeat("1", 64)
	id2 := "obj_" + strings.Repeat("2", 64)
	item := func(class, svce, acct string) string {
		return "keychain: \"/Users/u/Library/Keychains/login.keychain-db\"\nversion: 512\nclass: " + class +
			"\nattributes:\n    0x00000007 <blob>=" + svce + "\n    \"acct\"<blob>=" + acct +
			"\n    \"cdat\"<timedate>=0x3230  \"20\\000\"\n    \"svce\"<blob>=" + svce + "\n"
	}
	out := item(`"genp"`, `"dev.palyra.vault"`, `"`+id1+`"`) +
		item(`"genp"`, `"dev.palyra.vault.other"`, `"`+strings.Replace(id1, "1", "3", -1)+`"`) + // other service
		item(`"inet"`, `"dev.palyra.vault"`, `"`+strings.Replace(id1, "1", "4", -1)+`"`) + // not a generic password
		item(`"genp"`, `"dev.palyra.vault"`, `"palyra-vault-probe"`) + // not an object id
		item(`"genp"`, `"dev.palyra.vault"`, `<NULL>`) +
		item(`"genp"`, `0x00FF  "\000\377"`, `"`+strings.Replace(id1, "1", "5", -1)+`"`) +
		item(`0x00000010`, `"dev.palyra.vault"`, `"`+strings.Replace(id1, "1", "6", -1)+`"`) +
		item(`"genp"`, `"dev.palyra.vault"`, `"`+id2+`"`) +
		item(`"genp"`, `"dev.palyra.vault"`, `"`+id1+`"`) // duplicate in another keychain
	got, err := parseDump([]byte(out), Service)
	if err != nil {
		t.Fatal(err)
	}
	want := []backend.ObjectID{backend.ObjectID(id1), backend.ObjectID(id2)}
	if !slices.Equal(got, want) {
		t.Fatalf("parseDump = %v, want %v", got, want)
	}
	if got, err := parseDump(nil, Service); err != nil || len(got) != 0 {
		t.Fatalf("parseDump(empty) = %v, %v; want nothing", got, err)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"service with space", Options{Service: "a b"}, `invalid keychain service "a b"`},
		{"service with quote", Options{Service: `a"b`}, "invalid keychain service"},
		{"service too long", Options{Service: strings.Repeat("a", maxServiceLen+1)}, "invalid keychain service"},
		{"service with non-ASCII letter", Options{Service: "dev.palyrä"}, "invalid keychain service"},
		{"service with backslash", Options{Service: `a\b`}, "invalid keychain service"},
		{"service with NUL", Options{Service: "a\x00b"}, "invalid keychain service"},
		{"keychain too long", Options{Keychain: strings.Repeat("k", maxKeychainLen+1)}, "longer than 256 bytes"},
		{"keychain like an option", Options{Keychain: "-d"}, `must not start with '-'`},
		{"keychain with newline", Options{Keychain: "a\nb"}, "newline"},
		{"negative timeout", Options{Timeout: -1}, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newBackend(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("newBackend(%+v) = %v; want error containing %q", tc.opts, err, tc.want)
			}
		})
	}
	b, err := newBackend(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.opts.SecurityPath != DefaultSecurityPath || b.opts.Service != Service || b.opts.Timeout != DefaultTimeout {
		t.Fatalf("defaults = %+v", b.opts)
	}
}

func TestSplitLineMatchesSecurityQuirks(t *testing.T) {
	// These pin the port of split_line the fake uses, so that the quoting
	// tests above test against security's real behaviour.
	tests := []struct {
		line string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`a\ b`, []string{"a b"}},
		{`a"b c"`, []string{`a"b`, `c"`}}, // a quote inside an argument is literal
		{`"a b"c`, []string{"a b", "c"}},  // a closing quote ends the argument
		{`'a "b"'`, []string{`a "b"`}},    // the other quote is literal
		{`"a\"b"`, []string{`a"b`}},       // escaped quote
		{`"unterminated`, []string{"unterminated"}},
		{`""`, []string{""}},
		{"a\tb\rc\vd\fe", []string{"a", "b", "c", "d", "e"}},
		{strings.Repeat("x ", 40), slices.Repeat([]string{"x"}, 32)}, // MAX_ARGS
	}
	for _, tc := range tests {
		if got := splitLine(tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("splitLine(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestValidService(t *testing.T) {
	tests := []struct {
		service string
		want    bool
	}{
		{Service, true},
		{"AZaz09._:/-", true},
		{"x", true},
		{"", false},
		{"a b", false},
		{"a\tb", false},
		{`a"b`, false},
		{"a'b", false},
		{"a\nb", false},
		{"a@b", false},
		{"a+b", false},
		{"é", false},
	}
	for _, tt := range tests {
		if got := validService(tt.service); got != tt.want {
			t.Errorf("validService(%q) = %v, want %v", tt.service, got, tt.want)
		}
	}
}
