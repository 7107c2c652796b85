// Package tomltable decodes the tables of palyra.toml, as
// github.com/pelletier/go-toml/v2 decodes them into map[string]any, into
// typed Go values, by a declared list of fields. The [daemon] settings and
// the reference tables of package resolve are such lists; a new kind of
// table is one more list.
//
// A field has a name, a Value (the TOML type it must have and the rules it
// must then meet, each rule with its text) and a destination. Decoding
// reports every entry that breaks its rule as an *Error holding the entry's
// path and the rule's text. Neither is ever built from the entry's value: a
// rule's text is written where the rule is declared, before any document is
// read, and a path holds only keys (names, never values: a key the table
// does not declare is quoted and shortened with secret.Excerpt) and array
// indexes. So an error can never quote a document's value, which matters
// because a value in palyra.toml may be a secret pasted by mistake.
package tomltable

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/palyra/palyra-vault/secret"
)

// Error reports one entry of a table that breaks its rule. It holds no
// part of the entry's value.
type Error struct {
	// Path is where the entry is: the table's path, then keys and array
	// indexes, for example "daemon.allowed_uids[2]". A key the table
	// declares is written bare; any other key is quoted and shortened
	// (secret.Excerpt): `daemon."allowd_uids"`.
	Path string
	// Key is the entry's key in the decoded table itself (the first key of
	// Path after the table's own path), as Path writes it.
	Key string
	// Unknown reports that the last key of Path is not a field of the table
	// that holds it; Rule then lists that table's fields.
	Unknown bool
	// Rule is what the entry must be, for example "must be a string".
	Rule string
}

// Error returns "<path>: <rule>".
func (e *Error) Error() string { return e.Path + ": " + e.Rule }

// Errors are the broken entries of one decoded table, ordered by key.
type Errors []*Error

// Err returns nil when es is empty, else an error joining every *Error
// (errors.As finds the first).
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Table declares one table of palyra.toml.
type Table struct {
	// Path is where the table is in the document ("daemon"); "" when the
	// table is decoded on its own (a reference given as an inline table).
	Path string
	// Noun is what the table's keys are called in the error reporting an
	// unknown key: "setting", "field" (default "field").
	Noun string
	// Fields are the keys the table may hold.
	Fields []Field
}

// Decode decodes v, which must be a table (map[string]any), into the
// destinations of t's fields. A field absent from v keeps its destination's
// value, so set defaults before decoding. Decode returns every broken entry,
// ordered by key: an unknown key, a value of the wrong type or breaking a
// rule, a required field that is missing. A field whose value is broken
// keeps its destination unchanged.
func (t Table) Decode(v any) Errors {
	m, ok := v.(map[string]any)
	if !ok {
		return Errors{{Path: t.Path, Rule: "must be a table"}}
	}
	var errs Errors
	for _, k := range sortedKeys(m) {
		i := slices.IndexFunc(t.Fields, func(f Field) bool { return f.name == k })
		if i < 0 {
			q := quoteKey(k)
			errs = append(errs, &Error{Path: join(t.Path, q), Key: q, Unknown: true, Rule: t.unknownRule()})
			continue
		}
		for _, e := range t.Fields[i].decode(m[k], join(t.Path, k)) {
			e.Key = k
			errs = append(errs, e)
		}
	}
	for _, f := range t.Fields {
		if _, present := m[f.name]; f.required && !present {
			errs = append(errs, &Error{Path: join(t.Path, f.name), Key: f.name, Rule: "is missing; it is required"})
		}
	}
	return errs
}

// Names returns the names of t's fields, in their declared order.
func (t Table) Names() []string {
	names := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		names[i] = f.name
	}
	return names
}

func (t Table) unknownRule() string {
	noun := t.Noun
	if noun == "" {
		noun = "field"
	}
	return "unknown " + noun + "; the " + noun + "s are " + strings.Join(t.Names(), ", ")
}

// Field declares one key of a table: its name, its Value and where the
// decoded value goes. Build one with Set or Sub.
type Field struct {
	name     string
	required bool
	decode   func(v any, at string) Errors
}

// Set declares the field name, decoded by v into *dst.
func Set[T any](name string, dst *T, v Value[T]) Field {
	return Field{name: name, decode: func(x any, at string) Errors {
		t, errs := v.decode(x, at)
		if len(errs) == 0 {
			*dst = t
		}
		return errs
	}}
}

// Sub declares the field name as a sub-table with its own fields; noun is
// what its keys are called (see Table.Noun).
func Sub(name, noun string, fields ...Field) Field {
	return Field{name: name, decode: func(x any, at string) Errors {
		return Table{Path: at, Noun: noun, Fields: fields}.Decode(x)
	}}
}

// Required returns f made mandatory: a table without it is an error.
func (f Field) Required() Field {
	f.required = true
	return f
}

// Rule is one rule a decoded value must meet: OK reports whether it does,
// Text says what the value must be ("must not be empty"). Text is written
// where the rule is declared; nothing in this package adds the value to it.
type Rule[T any] struct {
	OK   func(T) bool
	Text string
}

// Rules are checked in order; the first broken one is reported.
type Rules[T any] []Rule[T]

// Broken returns the Text of the first rule v breaks, or "" when it meets
// them all.
func (rs Rules[T]) Broken(v T) string {
	for _, r := range rs {
		if !r.OK(v) {
			return r.Text
		}
	}
	return ""
}

// OneOf is the rule that a string is one of values.
func OneOf(values ...string) Rule[string] {
	text := "must be one of " + strings.Join(values, ", ")
	if n := len(values); n > 1 {
		text = "must be one of " + strings.Join(values[:n-1], ", ") + " or " + values[n-1]
	}
	return Rule[string]{OK: func(s string) bool { return slices.Contains(values, s) }, Text: text}
}

// Value says how one TOML value decodes into a T: the TOML type it must
// have, then the rules it must meet. Build one with String, Bool, Int,
// List or Map; the methods return modified copies.
type Value[T any] struct {
	// want is reported when the value has the wrong TOML type.
	want string
	// conv converts a value of the right type; List and Map report their
	// elements' errors through it.
	conv  func(x any, at, want string) (T, Errors)
	rules Rules[T]
}

// Want returns v reporting rule, instead of its default, when the value
// has the wrong TOML type: List(String()).Want("must be an array of
// absolute paths").
func (v Value[T]) Want(rule string) Value[T] {
	v.want = rule
	return v
}

// Check returns v with rules added after its own.
func (v Value[T]) Check(rules ...Rule[T]) Value[T] {
	v.rules = append(slices.Clip(v.rules), rules...)
	return v
}

func (v Value[T]) decode(x any, at string) (T, Errors) {
	t, errs := v.conv(x, at, v.want)
	if len(errs) > 0 {
		var zero T
		return zero, errs
	}
	if rule := v.rules.Broken(t); rule != "" {
		var zero T
		return zero, Errors{{Path: at, Rule: rule}}
	}
	return t, nil
}

// scalar builds the conv of a value that is one TOML scalar.
func scalar[T any](ok func(any) (T, bool)) func(any, string, string) (T, Errors) {
	return func(x any, at, want string) (T, Errors) {
		t, isT := ok(x)
		if !isT {
			return t, Errors{{Path: at, Rule: want}}
		}
		return t, nil
	}
}

// String is a TOML string.
func String() Value[string] {
	return Value[string]{want: "must be a string", conv: scalar(func(x any) (string, bool) {
		s, ok := x.(string)
		return s, ok
	})}
}

// Bool is a TOML boolean.
func Bool() Value[bool] {
	return Value[bool]{want: "must be true or false", conv: scalar(func(x any) (bool, bool) {
		b, ok := x.(bool)
		return b, ok
	})}
}

// Integer is the Go types an Int decodes into.
type Integer interface {
	~int | ~int32 | ~int64 | ~uint32
}

// Int is a TOML integer between lo and hi inclusive, converted to T; the
// caller chooses a T that holds every integer in that range. A value of
// another type or out of range breaks the same rule, "must be an integer
// between <lo> and <hi>".
func Int[T Integer](lo, hi int64) Value[T] {
	if int64(T(lo)) != lo || int64(T(hi)) != hi {
		panic(fmt.Sprintf("tomltable.Int: %T cannot hold %d to %d", T(0), lo, hi))
	}
	return Value[T]{want: IntRule(lo, hi), conv: scalar(func(x any) (T, bool) {
		var n int64
		switch x := x.(type) {
		case int64:
			n = x
		case int:
			n = int64(x)
		default:
			return 0, false
		}
		if n < lo || n > hi {
			return 0, false
		}
		return T(n), true
	})}
}

// Convert is a value decoded by v, then turned into a U by f (a duration
// from a count of milliseconds, a parsed name); a value f refuses breaks
// rule. f reports only whether it accepts the value: the rule's words are
// fixed here, so that they cannot quote the value.
func Convert[T, U any](v Value[T], rule string, f func(T) (U, bool)) Value[U] {
	return Value[U]{want: v.want, conv: func(x any, at, want string) (U, Errors) {
		var zero U
		t, errs := v.Want(want).decode(x, at)
		if len(errs) > 0 {
			return zero, errs
		}
		u, ok := f(t)
		if !ok {
			return zero, Errors{{Path: at, Rule: rule}}
		}
		return u, nil
	}}
}

// IntRule is the rule of an integer between lo and hi: "must be an integer
// between <lo> and <hi>", for a check made outside Int in the same words.
func IntRule(lo, hi int64) string { return fmt.Sprintf("must be an integer between %d and %d", lo, hi) }

// List is a TOML array of at most max elements (0: no limit), each decoded
// by elem and reported at its index: "trusted_dirs[2]". An empty array
// decodes to an empty, non-nil slice.
func List[T any](elem Value[T], max int) Value[[]T] {
	return Value[[]T]{want: "must be an array", conv: func(x any, at, want string) ([]T, Errors) {
		list, ok := x.([]any)
		if strs, isStrs := x.([]string); isStrs { // a table built in Go, not decoded
			list, ok = make([]any, len(strs)), true
			for i, s := range strs {
				list[i] = s
			}
		}
		if !ok {
			return nil, Errors{{Path: at, Rule: want}}
		}
		if max > 0 && len(list) > max {
			return nil, Errors{{Path: at, Rule: fmt.Sprintf("must hold at most %d entries", max)}}
		}
		out := make([]T, 0, len(list))
		var errs Errors
		for i, e := range list {
			t, es := elem.decode(e, at+"["+strconv.Itoa(i)+"]")
			errs = append(errs, es...)
			out = append(out, t)
		}
		return out, errs
	}}
}

// Map is a TOML table whose keys the document chooses (names, not declared
// fields): at most max entries (0: no limit), each key meeting key and
// each value decoded by elem. A key that breaks its rules is reported
// quoted and shortened, as unknown keys are.
func Map[T any](key Rules[string], elem Value[T], max int) Value[map[string]T] {
	return Value[map[string]T]{want: "must be a table", conv: func(x any, at, want string) (map[string]T, Errors) {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, Errors{{Path: at, Rule: want}}
		}
		if max > 0 && len(m) > max {
			return nil, Errors{{Path: at, Rule: fmt.Sprintf("must hold at most %d entries", max)}}
		}
		out := make(map[string]T, len(m))
		var errs Errors
		for _, k := range sortedKeys(m) {
			if rule := key.Broken(k); rule != "" {
				errs = append(errs, &Error{Path: join(at, quoteKey(k)), Rule: rule})
				continue
			}
			t, es := elem.decode(m[k], join(at, k))
			errs = append(errs, es...)
			out[k] = t
		}
		return out, errs
	}}
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func quoteKey(k string) string { return strconv.Quote(secret.Excerpt(k)) }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
