package tomltable

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// decode parses a TOML document and returns its tree.
func decode(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("test TOML does not parse: %v", err)
	}
	return m
}

type sample struct {
	name    string
	level   string
	on      bool
	port    int
	tags    []string
	ids     []uint32
	owners  map[string][]uint32
	subName string
}

func (s *sample) table() Table {
	return Table{Path: "app", Noun: "setting", Fields: []Field{
		Set("name", &s.name, String().Check(Rule[string]{OK: func(v string) bool { return v != "" }, Text: "must not be empty"})).Required(),
		Set("level", &s.level, String().Check(OneOf("low", "high"))),
		Set("on", &s.on, Bool()),
		Set("port", &s.port, Int[int](1, 65535)),
		Set("tags", &s.tags, List(String(), 3).Want("must be an array of tags")),
		Set("ids", &s.ids, List(Int[uint32](0, 100), 0)),
		Set("owners", &s.owners, Map(Rules[string]{{OK: func(k string) bool { return k == strings.ToLower(k) }, Text: "must be lowercase"}},
			List(Int[uint32](0, 100), 0), 2)),
		Sub("sub", "field", Set("name", &s.subName, String())),
	}}
}

func TestDecodeFillsTheFields(t *testing.T) {
	s := sample{level: "low", port: 80}
	errs := s.table().Decode(decode(t, `name = "x"
on = true
tags = []
ids = [1, 2]
[owners]
alice = [3]
[sub]
name = "y"
`))
	if len(errs) > 0 {
		t.Fatal(errs.Err())
	}
	want := sample{name: "x", level: "low", on: true, port: 80, tags: []string{}, ids: []uint32{1, 2},
		owners: map[string][]uint32{"alice": {3}}, subName: "y"}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("decoded %+v, want %+v (absent fields keep their defaults, [] is empty not nil)", s, want)
	}
}

func TestDecodeReportsEveryBrokenEntryByPath(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // each error, in order
	}{
		{"not a table", "", []string{"app: must be a table"}},
		{"missing required", `on = true`, []string{"app.name: is missing; it is required"}},
		{"unknown key lists the fields", `name = "x"
nmae = "y"`, []string{`app."nmae": unknown setting; the settings are name, level, on, port, tags, ids, owners, sub`}},
		{"long unknown key is shortened", `name = "x"
` + strings.Repeat("k", 100) + ` = 1`, []string{`app."` + strings.Repeat("k", 64) + `…": unknown setting`}},
		{"wrong types", `name = 1
on = "yes"
port = "80"`, []string{"app.name: must be a string", "app.on: must be true or false", "app.port: must be an integer between 1 and 65535"}},
		{"rules", `name = ""
level = "mid"
port = 0`, []string{"app.level: must be one of low or high", "app.name: must not be empty", "app.port: must be an integer between 1 and 65535"}},
		{"list elements by index", `name = "x"
ids = [1, -1, 2, 101]
tags = "a"`, []string{"app.ids[1]: must be an integer between 0 and 100", "app.ids[3]: must be an integer between 0 and 100", "app.tags: must be an array of tags"}},
		{"list too long", `name = "x"
tags = ["a", "b", "c", "d"]`, []string{"app.tags: must hold at most 3 entries"}},
		{"map keys and values", `name = "x"
[owners]
Bob = [1]
carol = ["1"]`, []string{`app.owners."Bob": must be lowercase`, "app.owners.carol[0]: must be an integer between 0 and 100"}},
		{"map too big", `name = "x"
owners = { a = [1], b = [2], c = [3] }`, []string{"app.owners: must hold at most 2 entries"}},
		{"sub-table", `name = "x"
sub = { name = 1, other = 2 }`, []string{"app.sub.name: must be a string", `app.sub."other": unknown field; the fields are name`}},
		{"sub not a table", `name = "x"
sub = 3`, []string{"app.sub: must be a table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sample
			var v any = decode(t, tt.doc)
			if tt.doc == "" {
				v = "not a table"
			}
			errs := s.table().Decode(v)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tt.want), errs.Err())
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want %q", i, e, tt.want[i])
				}
			}
		})
	}
}

func TestErrorKnowsItsKeyAndWhetherItIsUnknown(t *testing.T) {
	var s sample
	errs := s.table().Decode(decode(t, "name = \"x\"\nbogus = 1\nids = [\"a\"]\n"))
	if len(errs) != 2 {
		t.Fatalf("errors: %v", errs.Err())
	}
	if e := errs[0]; !e.Unknown || e.Key != `"bogus"` {
		t.Errorf("unknown key error = %+v", e)
	}
	if e := errs[1]; e.Unknown || e.Key != "ids" || e.Path != "app.ids[0]" {
		t.Errorf("element error = %+v", e)
	}
	var target *Error
	if !errors.As(errs.Err(), &target) || target != errs[0] {
		t.Errorf("errors.As on the joined error did not find the first *Error")
	}
	errs = s.table().Decode(decode(t, "name = \"x\"\nsub = { other = 1 }\n"))
	if len(errs) != 1 || errs[0].Key != "sub" || !errs[0].Unknown || errs[0].Path != `app.sub."other"` {
		t.Errorf("unknown key in a sub-table: %+v", errs)
	}
	if (Errors{}).Err() != nil {
		t.Error("no errors gave a non-nil error")
	}
}

func TestBrokenFieldKeepsItsDestination(t *testing.T) {
	s := sample{port: 80, ids: []uint32{7}}
	_ = s.table().Decode(decode(t, "name = \"x\"\nport = 0\nids = [1, -1]\n"))
	if s.port != 80 || !reflect.DeepEqual(s.ids, []uint32{7}) {
		t.Fatalf("a broken field changed its destination: port %d ids %v", s.port, s.ids)
	}
}

// No error may quote the value of the entry it reports, whatever its type
// or shape: a value in palyra.toml may be a secret pasted by mistake. Each
// secret-looking value goes into every field (and under unknown keys), and
// every one of them must be refused without a trace of the value.
func TestErrorsNeverQuoteTheValue(t *testing.T) {
	const secret = "sk-Proj-ABCdef0123456789secret"
	const number = "7382019461187"
	values := map[string]string{
		"string":           `"` + secret + `"`,
		"multiline string": `"""` + "\n" + secret + "\n" + `"""`,
		"literal string":   `'` + secret + `'`,
		"integer":          number,
		"negative integer": "-" + number,
		"float":            number + ".25",
		"bool":             "true",
		"date":             "2024-05-01T10:00:00Z",
		"array":            `["` + secret + `", ` + number + `]`,
		"nested array":     `[["` + secret + `"]]`,
		"array of tables":  `[{ k = "` + secret + `" }]`,
		"inline table":     `{ k = "` + secret + `", n = ` + number + ` }`,
		"table of lists":   `{ alice = ["` + secret + `"], bob = [` + number + `] }`,
	}
	// Every field refuses every value: a rule that nothing meets stands in
	// for a value of the right type that breaks its rule.
	never := func(string) bool { return false }
	var (
		str  string
		b    bool
		n    int64
		list []string
		ids  []uint32
		m    map[string][]uint32
		sub  string
	)
	table := Table{Path: "t", Fields: []Field{
		Set("str", &str, String().Check(Rule[string]{OK: never, Text: "must be something else"})),
		Set("enum", &str, String().Check(OneOf("a", "b"))),
		Set("path", &str, String().Check(PathRules...).Check(Rule[string]{OK: never, Text: "must be something else"})),
		Set("env", &str, String().Check(EnvNameRules...)),
		Set("bool", &b, Bool().Check(Rule[bool]{OK: func(bool) bool { return false }, Text: "must be absent"})),
		Set("int", &n, Int[int64](0, 10)),
		Set("list", &list, List(String().Check(Rule[string]{OK: never, Text: "must be something else"}), 0)),
		Set("ids", &ids, List(Int[uint32](0, 10), 0)),
		Set("map", &m, Map(Rules[string]{{OK: never, Text: "must be a known name"}}, List(Int[uint32](0, 10), 0), 0)),
		Sub("sub", "field", Set("k", &sub, String().Check(Rule[string]{OK: never, Text: "must be something else"}))),
	}}
	leaks := []string{secret, "ABCdef", "0123456789", number, "2024-05-01", "10:00"}
	for vname, v := range values {
		for _, f := range append(table.Names(), "unknown") {
			t.Run(vname+"/"+f, func(t *testing.T) {
				doc := fmt.Sprintf("%s = %s\n", f, v)
				if f == "sub" {
					doc = fmt.Sprintf("sub = { k = %s }\n", v)
				}
				errs := table.Decode(decode(t, doc))
				if len(errs) == 0 {
					t.Fatalf("%s: accepted", doc)
				}
				for _, e := range errs {
					for _, form := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e), e.Key} {
						for _, leak := range leaks {
							if strings.Contains(form, leak) {
								t.Errorf("%s: error %q shows %q", doc, form, leak)
							}
						}
					}
				}
			})
		}
	}
}

func TestRuleSets(t *testing.T) {
	tests := []struct {
		rules Rules[string]
		in    string
		want  string
	}{
		{PathRules, "/run/secrets", ""},
		{PathRules, "~/secrets", ""},
		{PathRules, "", "must not be empty"},
		{PathRules, "/" + strings.Repeat("a", MaxPathLen), "longer than 4096 bytes"},
		{PathRules, "/a\x00b", "contains a NUL byte"},
		{PathRules, "secrets", "must be an absolute path (or start with ~/)"},
		{PathRules, "/run/../etc", `must not contain a ".." element`},
		{AbsPathRules, "/run/../etc", ""},
		{EnvNameRules, "OPENAI_API_KEY", ""},
		{EnvNameRules, "_x1", ""},
		{EnvNameRules, "", "must not be empty"},
		{EnvNameRules, strings.Repeat("A", MaxNameLen+1), "longer than 256 bytes"},
		{EnvNameRules, "1X", "must be a variable name matching [A-Za-z_][A-Za-z0-9_]*"},
		{EnvNameRules, "MY-VAR", "must be a variable name matching [A-Za-z_][A-Za-z0-9_]*"},
		{Rules[string]{OneOf("x")}, "y", "must be one of x"},
	}
	for _, tt := range tests {
		if got := tt.rules.Broken(tt.in); got != tt.want {
			t.Errorf("Broken(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConvertTurnsADecodedValueIntoAnother(t *testing.T) {
	var d time.Duration
	var upper string
	table := Table{Fields: []Field{
		Set("ms", &d, Convert(Int[int64](1, 1000), "", func(n int64) (time.Duration, bool) { return time.Duration(n) * time.Millisecond, true })),
		Set("word", &upper, Convert(String(), "must be a lowercase word", func(s string) (string, bool) {
			return strings.ToUpper(s), s == strings.ToLower(s)
		})),
	}}
	if errs := table.Decode(decode(t, "ms = 250\nword = \"abc\"\n")); len(errs) > 0 || d != 250*time.Millisecond || upper != "ABC" {
		t.Fatalf("decoded %v %q, errors %v", d, upper, errs.Err())
	}
	errs := table.Decode(decode(t, "ms = 0\nword = \"Abc\"\n"))
	if got := errs.Err(); got == nil || got.Error() != "ms: must be an integer between 1 and 1000\nword: must be a lowercase word" {
		t.Fatalf("errors = %v", got)
	}
}

func TestIntRefusesATypeTooSmallForItsBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Int[int32] with a bound beyond int32 did not panic")
		}
	}()
	Int[int32](0, 1<<40)
}

// TestRuleTextsNameTheLimits checks the limits spelt out in the rules'
// texts (written as constants so that no code runs at package init)
// against the constants themselves.
func TestRuleTextsNameTheLimits(t *testing.T) {
	for _, c := range []struct {
		rule  Rule[string]
		limit int
	}{{AbsPathRules[1], MaxPathLen}, {EnvNameRules[1], MaxNameLen}} {
		if want := "longer than " + strconv.Itoa(c.limit) + " bytes"; c.rule.Text != want {
			t.Errorf("rule text %q, want %q", c.rule.Text, want)
		}
	}
	if len(PathRules) != len(AbsPathRules)+1 {
		t.Errorf("PathRules has %d rules, want AbsPathRules' %d and the one about \"..\"", len(PathRules), len(AbsPathRules))
	}
}
