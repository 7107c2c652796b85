package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/pelletier/go-toml/v2/unstable"
)

// ErrUnsupportedLayout is wrapped by SetVaultRef's error when the setting is
// defined in a way the editor does not rewrite (inside an inline table or an
// array of tables, or as a table of its own), or when a table on its path
// holds a value. The message says where and what to change by hand.
var ErrUnsupportedLayout = errors.New("unsupported config layout")

// ErrVerify is wrapped by SetVaultRef's error when the edited text would not
// parse back to exactly the intended content. It means a bug in the editor;
// nothing is returned, so nothing gets written.
var ErrVerify = errors.New("rewrite failed verification")

// SetVaultRef returns src edited so that the setting named by dotted (TOML
// key syntax, for example "model_provider.openai_api_key") is supplied by the
// vault reference ref: the field <setting>_vault_ref holds
// "vault://<scope>/<key>" and any value of <setting> itself — the plaintext —
// is gone. Every other byte of src is kept: comments, blank lines, key
// order, quoting, indentation, line endings.
//
// The edit, by case:
//
//   - <setting> holds a value and <setting>_vault_ref does not exist: the
//     value's line is rewritten in place (its key gets the suffix, its value
//     becomes the reference; indentation, spacing around '=', dotted-key
//     prefix and a trailing comment stay);
//   - <setting>_vault_ref exists: its value is replaced, and the line (or
//     lines, for a multi-line value) of <setting>, if any, is removed;
//   - neither exists: a line "<setting>_vault_ref = …" is added after the
//     last key/value of the table's [section], or after its header when the
//     section is empty; when the table exists only through dotted keys
//     ("model_provider.kind = …"), a dotted line is added after the last of
//     them; a top-level setting goes after the last top-level key (or before
//     the first table and the comments right above it); otherwise the table
//     is created at the end of the file.
//
// Supported layouts: [a.b] sections, dotted keys in any section, quoted
// keys, CRLF or LF line endings, and a missing or empty file. Not
// supported, failing with an error wrapping ErrUnsupportedLayout that names
// the line: a setting or table inside an inline table or an array of tables,
// and a setting that is itself a table. A src that is not valid TOML fails
// with a *ParseError.
//
// Before returning, SetVaultRef parses the result and checks that it equals
// src's content with only that change; otherwise it fails with ErrVerify.
// Errors never contain values from src.
//
// A setting that a *_secret_ref table supplies is refused with an error
// wrapping ErrUnsupportedLayout: a setting may have one value (Palyra
// refuses two), and the table is the user's to remove.
func SetVaultRef(src []byte, dotted string, ref secret.Ref) ([]byte, error) {
	return setVaultRef(src, dotted, ref, ref.String())
}

// SetBareVaultRef is SetVaultRef writing the bare "<scope>/<key>" form,
// the one Palyra reads (it does not read vault://…). The presets write it.
func SetBareVaultRef(src []byte, dotted string, ref secret.Ref) ([]byte, error) {
	return setVaultRef(src, dotted, ref, BareRef(ref))
}

// BareRef returns ref's bare "<scope>/<key>" form.
func BareRef(ref secret.Ref) string { return ref.Scope + "/" + ref.Key }

func setVaultRef(src []byte, dotted string, ref secret.Ref, text string) ([]byte, error) {
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("setting %q: %w", dotted, err)
	}
	parts, err := ParseDotted(dotted)
	if err != nil {
		return nil, err
	}
	last := parts[len(parts)-1]
	if strings.HasSuffix(last, RefSuffix) {
		return nil, fmt.Errorf("setting %q: name the setting itself, not its %s field (for example %q)",
			dotted, RefSuffix, renderKeys(append(slices.Clone(parts[:len(parts)-1]), strings.TrimSuffix(last, RefSuffix))))
	}
	table := parts[:len(parts)-1]
	refKey := last + RefSuffix
	before, err := decode(src)
	if err != nil {
		return nil, err
	}
	if err := checkTablePath(before, table); err != nil {
		return nil, fmt.Errorf("setting %q: %w", dotted, err)
	}
	if m := tableAt(before, table); m != nil {
		if _, ok := m[last+resolve.SecretRefSuffix]; ok {
			return nil, fmt.Errorf("setting %q: %w: %s supplies it already, and a setting may have one value (Palyra refuses two); delete that table first",
				dotted, ErrUnsupportedLayout, renderKeys(append(slices.Clone(table), last+resolve.SecretRefSuffix)))
		}
	}
	return setString(src, before, table, last, refKey, text)
}

// SetString returns src edited so that the setting named by dotted holds
// the string value, keeping every other byte as SetVaultRef does: an
// existing value is replaced in place, a missing one is added where
// SetVaultRef would add its field. The layouts SetVaultRef refuses are
// refused alike.
func SetString(src []byte, dotted, value string) ([]byte, error) {
	before, table, last, err := locateSetting(src, dotted)
	if err != nil {
		return nil, err
	}
	return setString(src, before, table, last, last, value)
}

// locateSetting decodes src and splits the setting named by dotted into
// the path of its table and its own key, refusing a table path that
// SetVaultRef's layouts cannot edit.
func locateSetting(src []byte, dotted string) (before map[string]any, table []string, last string, err error) {
	parts, err := ParseDotted(dotted)
	if err != nil {
		return nil, nil, "", err
	}
	if before, err = decode(src); err != nil {
		return nil, nil, "", err
	}
	table, last = parts[:len(parts)-1], parts[len(parts)-1]
	if err := checkTablePath(before, table); err != nil {
		return nil, nil, "", fmt.Errorf("setting %q: %w", dotted, err)
	}
	return before, table, last, nil
}

// setString replaces table.last (if any) with table.key = value.
func setString(src []byte, before map[string]any, table []string, last, key, value string) ([]byte, error) {
	sc, err := scan(src)
	if err != nil {
		return nil, err
	}
	dotted := renderKeys(append(slices.Clone(table), last))
	ed := editor{src: src, sc: sc, eol: detectEOL(src)}
	out, err := ed.set(table, last, key, quoteBasic(value))
	if err != nil {
		return nil, fmt.Errorf("setting %q: %w", dotted, err)
	}
	if err := verify(before, out, table, last, key, value); err != nil {
		return nil, fmt.Errorf("setting %q: %w", dotted, err)
	}
	return out, nil
}

// Unset returns src without the setting named by dotted: its line (or
// lines) removed, every other byte kept. A setting that is not there
// leaves src as it is. A setting inside an inline table or an array of
// tables, or one that is a table, is refused with an error wrapping
// ErrUnsupportedLayout.
func Unset(src []byte, dotted string) ([]byte, error) {
	before, table, last, err := locateSetting(src, dotted)
	if err != nil {
		return nil, err
	}
	m := tableAt(before, table)
	if m == nil {
		return src, nil
	}
	if _, ok := m[last]; !ok {
		return src, nil
	}
	sc, err := scan(src)
	if err != nil {
		return nil, err
	}
	var target *expr
	path := append(slices.Clip(table), last)
	for i := range sc.exprs {
		e := &sc.exprs[i]
		if e.kind == unstable.KeyValue && !e.inArray && slices.Equal(e.path, path) {
			target = e
		}
	}
	if target == nil {
		return nil, fmt.Errorf("setting %q: %w: it is a table or is written inside an inline table; edit the file by hand", dotted, ErrUnsupportedLayout)
	}
	out := apply(src, []edit{{target.lineStart, target.lineEnd, ""}})
	after, err := decode(out)
	want := deepCopy(before).(map[string]any)
	delete(tableAt(want, table), last)
	if err != nil || !equalValues(want, after) {
		return nil, fmt.Errorf("setting %q: %w: the result differs from the intended change; nothing was changed (please report this)", dotted, ErrVerify)
	}
	return out, nil
}

// tableAt returns the table at path in tree, or nil.
func tableAt(tree map[string]any, path []string) map[string]any {
	m := tree
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

// checkTablePath makes sure every table on the path is a table (or absent).
func checkTablePath(tree map[string]any, table []string) error {
	m := tree
	for i, k := range table {
		v, ok := m[k]
		if !ok {
			return nil
		}
		switch v := v.(type) {
		case map[string]any:
			m = v
		case []any:
			return fmt.Errorf("%w: %s is an array; settings inside arrays (or arrays of tables) cannot be rewritten, edit the file by hand",
				ErrUnsupportedLayout, renderKeys(table[:i+1]))
		default:
			return fmt.Errorf("%w: %s holds a value, not a table", ErrUnsupportedLayout, renderKeys(table[:i+1]))
		}
	}
	return nil
}

// editor computes the edit of one document.
type editor struct {
	src []byte
	sc  *scanned
	eol string
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

func (ed *editor) set(table []string, last, refKey, value string) ([]byte, error) {
	plainPath := append(slices.Clone(table), last)
	refPath := append(slices.Clone(table), refKey)
	var plain, refkv *expr
	for i := range ed.sc.exprs {
		e := &ed.sc.exprs[i]
		for _, target := range [][]string{plainPath, refPath} {
			switch {
			case e.kind != unstable.KeyValue && hasPrefix(e.path, target):
				return nil, fmt.Errorf("%w: %s is a table (line %d); only a setting holding a value can be replaced",
					ErrUnsupportedLayout, renderKeys(target), e.line)
			case e.kind == unstable.KeyValue && len(e.path) > len(target) && hasPrefix(e.path, target):
				return nil, fmt.Errorf("%w: %s is a table defined by dotted keys (line %d); only a setting holding a value can be replaced",
					ErrUnsupportedLayout, renderKeys(target), e.line)
			}
		}
		if e.kind == unstable.KeyValue && len(e.path) < len(plainPath) && hasPrefix(plainPath, e.path) {
			return nil, fmt.Errorf("%w: %s is written inline on line %d (an inline table); move it to a [%s] section to rewrite it",
				ErrUnsupportedLayout, renderKeys(e.path), e.line, renderKeys(e.path))
		}
		if e.kind == unstable.KeyValue && !e.inArray {
			switch {
			case slices.Equal(e.path, plainPath):
				plain = e
			case slices.Equal(e.path, refPath):
				refkv = e
			}
		}
	}

	var edits []edit
	switch {
	case refkv != nil:
		edits = append(edits, edit{refkv.valStart, refkv.valEnd, value})
		if plain != nil {
			edits = append(edits, edit{plain.lineStart, plain.lineEnd, ""})
		}
	case plain != nil:
		key := renderKey(refKey)
		if plain.lastKeyQuoted {
			key = quoteBasic(refKey)
		}
		edits = append(edits,
			edit{plain.lastKeyStart, plain.lastKeyEnd, key},
			edit{plain.valStart, plain.valEnd, value})
	default:
		edits = append(edits, ed.insert(table, refKey, value))
	}
	return apply(ed.src, edits), nil
}

// insert places a new "<refKey> = value" line for table.
func (ed *editor) insert(table []string, refKey, value string) edit {
	exprs := ed.sc.exprs
	header := -1
	if len(table) > 0 {
		for i, e := range exprs {
			if e.kind == unstable.Table && slices.Equal(e.path, table) {
				header = i
			}
		}
	}
	if len(table) == 0 || header >= 0 {
		// After the last key/value of the section.
		for i := len(exprs) - 1; i >= 0; i-- {
			if e := exprs[i]; e.kind == unstable.KeyValue && e.section == header {
				return ed.lineAfter(e, renderKey(refKey), value)
			}
		}
		if header >= 0 {
			return ed.lineAfter(exprs[header], renderKey(refKey), value)
		}
		return ed.topLevel(renderKey(refKey), value)
	}
	// After the last dotted key that already defines the table from a
	// section above it.
	for i := len(exprs) - 1; i >= 0; i-- {
		e := exprs[i]
		if e.kind != unstable.KeyValue || e.inArray || !hasPrefix(e.path, table) {
			continue
		}
		secLen := 0
		if e.section >= 0 {
			secLen = len(exprs[e.section].path)
		}
		if secLen < len(table) {
			rel := append(slices.Clone(table[secLen:]), refKey)
			return ed.lineAfter(e, renderKeys(rel), value)
		}
	}
	// A new table at the end.
	text := ""
	if n := len(ed.src); n > 0 {
		if ed.src[n-1] != '\n' {
			text += ed.eol
		}
		if !bytes.HasSuffix(ed.src, []byte("\n\n")) && !bytes.HasSuffix(ed.src, []byte("\n\r\n")) {
			text += ed.eol
		}
	}
	text += "[" + renderKeys(table) + "]" + ed.eol + renderKey(refKey) + " = " + value + ed.eol
	return edit{len(ed.src), len(ed.src), text}
}

// lineAfter inserts "key = value" on a new line after e's line(s), with e's
// indentation.
func (ed *editor) lineAfter(e expr, key, value string) edit {
	indent := string(ed.src[e.lineStart:e.keyStart])
	if e.kind != unstable.KeyValue {
		// A header's line starts with '[': indent like the header.
		indent = string(ed.src[e.lineStart:skipBlank(ed.src, e.lineStart)])
	}
	text := indent + key + " = " + value + ed.eol
	if e.lineEnd == len(ed.src) && (e.lineEnd == 0 || ed.src[e.lineEnd-1] != '\n') {
		text = ed.eol + text
	}
	return edit{e.lineEnd, e.lineEnd, text}
}

// topLevel inserts a top-level "key = value" when there is no top-level key
// yet: before the first table header and the comment lines right above it,
// separated from them by a blank line; or at the end of a file without
// tables.
func (ed *editor) topLevel(key, value string) edit {
	line := key + " = " + value + ed.eol
	for _, e := range ed.sc.exprs {
		if e.kind == unstable.KeyValue {
			continue
		}
		pos := e.lineStart
		for pos > 0 {
			prev := lineStartBefore(ed.src, pos-1)
			if !bytes.HasPrefix(bytes.TrimLeft(ed.src[prev:pos], " \t"), []byte("#")) {
				break
			}
			pos = prev
		}
		return edit{pos, pos, line + ed.eol}
	}
	text := line
	if n := len(ed.src); n > 0 && ed.src[n-1] != '\n' {
		text = ed.eol + text
	}
	return edit{len(ed.src), len(ed.src), text}
}

// apply performs non-overlapping edits on a copy of src.
func apply(src []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var out bytes.Buffer
	out.Grow(len(src) + 128)
	pos := 0
	for _, e := range edits {
		out.Write(src[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(src[pos:])
	return out.Bytes()
}

// detectEOL returns the line ending of src's first line, "\n" by default.
func detectEOL(src []byte) string {
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// verify checks that out parses and equals before with table.last removed
// and table.refKey set to ref.
func verify(before map[string]any, out []byte, table []string, last, refKey, ref string) error {
	after, err := decode(out)
	if err != nil {
		return fmt.Errorf("%w: the result does not parse (%v); nothing was changed", ErrVerify, err)
	}
	want := deepCopy(before).(map[string]any)
	m := want
	for _, k := range table {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	delete(m, last)
	m[refKey] = ref
	if !equalValues(want, after) {
		return fmt.Errorf("%w: the result differs from the intended change; nothing was changed (please report this)", ErrVerify)
	}
	return nil
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// equalValues compares decoded TOML values; NaN equals NaN and times are
// equal when they are the same instant with the same offset.
func equalValues(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equalValues(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case float64:
		b, ok := b.(float64)
		return ok && (a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b))
	case time.Time:
		b, ok := b.(time.Time)
		if !ok {
			return false
		}
		_, ao := a.Zone()
		_, bo := b.Zone()
		return a.Equal(b) && ao == bo
	}
	return reflect.DeepEqual(a, b)
}
