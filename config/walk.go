package config

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/palyra/palyra-vault/resolve"
)

// RefSuffix ends the name of every field that holds a vault reference as a
// string.
const RefSuffix = "_vault_ref"

// Entry is one value of a document, as Walk visits it.
type Entry struct {
	// Path is the value's dotted path: keys joined by dots, quoted when they
	// are not bare TOML keys, array elements as [i]
	// ("model_provider.openai_api_key", `servers[0]."eu.west"`).
	Path string
	// Key is the last key of Path, or "" for an array element.
	Key string
	// Parent is the dotted path of the table or array holding the value,
	// "" at the top level.
	Parent string
	// Value is the decoded value (see Document.Tree for the types).
	Value any
	// Line is the 1-based line of its definition, 0 for implied tables.
	Line int
	// Inline is true when Value is an inline table ({ … }).
	Inline bool
}

// SkipChildren, returned by a Walk callback for a table or an array, skips
// what is inside it.
var SkipChildren = errors.New("skip children")

// Walk calls fn for every value of d — tables and arrays first, then what
// they hold — with keys in sorted order at each level. It stops at the
// first error fn returns, other than SkipChildren, and returns it.
func Walk(d *Document, fn func(Entry) error) error {
	return walkMap(d, "", d.tree, fn)
}

func walkMap(d *Document, prefix string, m map[string]any, fn func(Entry) error) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := walkValue(d, prefix, joinPath(prefix, k), k, m[k], fn); err != nil {
			return err
		}
	}
	return nil
}

func walkValue(d *Document, parent, path, key string, v any, fn func(Entry) error) error {
	info := d.index[path]
	err := fn(Entry{Path: path, Key: key, Parent: parent, Value: v, Line: info.line, Inline: info.inline})
	if errors.Is(err, SkipChildren) {
		return nil
	}
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case map[string]any:
		return walkMap(d, path, v, fn)
	case []any:
		for i, e := range v {
			if err := walkValue(d, path, indexPath(path, i), "", e, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Found is one reference in a document.
type Found struct {
	// Path is the dotted path of the field holding the reference:
	// "model_provider.openai_api_key_vault_ref", or the path of the inline
	// table.
	Path string
	// Setting is the setting the reference supplies: Path without the
	// "_vault_ref" suffix ("model_provider.openai_api_key"); for an inline
	// table, Path itself.
	Setting string
	// Line is the 1-based line of the reference.
	Line int
	// Ref is the parsed, valid reference.
	Ref resolve.Ref
}

// RefError reports a reference that breaks the grammar. Its message names
// the path and the rule, never the field's content.
type RefError struct {
	Path string
	Line int
	// Err is the *resolve.Error of kind Invalid, or a type error.
	Err error
}

// Error returns "<path> (line N): invalid reference: <rule>", or for a
// setting given twice "<setting> (line N): setting given twice: <both>".
func (e *RefError) Error() string {
	if errors.Is(e.Err, ErrDuplicateSetting) {
		return fmt.Sprintf("%s (line %d): %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s (line %d): invalid reference: %s", e.Path, e.Line, e.Rule())
}

// Rule returns what the reference breaks, without its path: the rule of
// the *resolve.Error, or the message of another cause.
func (e *RefError) Rule() string {
	var re *resolve.Error
	if errors.As(e.Err, &re) && re.Err != nil {
		return re.Err.Error()
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *RefError) Unwrap() error { return e.Err }

// References returns every reference in d, ordered by line: each string
// field whose name ends in "_vault_ref" (holding "vault://scope/key" or the
// bare "scope/key"), each table (inline or standard) under a key ending in
// "_secret_ref" (Palyra's SecretRef, tagged by kind; its relative paths are
// anchored at d's directory, see resolve.Ref.InDir), and each inline table
// that has a vault_ref, env, file or exec field. A standard [table] with
// such fields is an ordinary table, not a reference, and so is a table
// with a kind field under any other key. Other strings, even ones that
// look like "vault://scope/key", are values, not references.
//
// Broken references are left out of the result and reported together in an
// error joining one *RefError per reference, returned alongside the valid
// ones. So is a setting given twice, as Palyra refuses it: a reference
// field beside a plaintext value of the setting it supplies
// (openai_api_key with openai_api_key_vault_ref), or two reference fields
// for one setting (openai_api_key_secret_ref with
// openai_api_key_vault_ref); the *RefError names both, and the references
// involved are left out of the result.
func References(d *Document) ([]Found, error) {
	var found []Found
	var errs []*RefError
	dir := ""
	if d.path != "" {
		dir = filepath.Dir(d.path)
	}
	_ = Walk(d, func(e Entry) error {
		if resolve.IsSecretRefKey(e.Key) {
			m, ok := e.Value.(map[string]any)
			if !ok {
				errs = append(errs, &RefError{Path: e.Path, Line: e.Line,
					Err: errors.New(`a field ending in _secret_ref must hold a table tagged by kind, such as { kind = "env", variable = "NAME" }`)})
				return SkipChildren
			}
			r, err := resolve.ParseSecretRef(m)
			if err != nil {
				errs = append(errs, &RefError{Path: e.Path, Line: e.Line, Err: err})
				return SkipChildren
			}
			setting := joinPath(e.Parent, strings.TrimSuffix(e.Key, resolve.SecretRefSuffix))
			found = append(found, Found{Path: e.Path, Setting: setting, Line: e.Line, Ref: r.InDir(dir)})
			return SkipChildren
		}
		if m, ok := e.Value.(map[string]any); ok && e.Inline && resolve.IsRefTable(m) {
			r, err := resolve.ParseTable(m)
			if err != nil {
				errs = append(errs, &RefError{Path: e.Path, Line: e.Line, Err: err})
			} else {
				found = append(found, Found{Path: e.Path, Setting: e.Path, Line: e.Line, Ref: r})
			}
			return SkipChildren
		}
		if !strings.HasSuffix(e.Key, RefSuffix) || e.Key == RefSuffix {
			return nil
		}
		s, ok := e.Value.(string)
		if !ok {
			errs = append(errs, &RefError{Path: e.Path, Line: e.Line,
				Err: errors.New("a field ending in _vault_ref must hold a string \"vault://<scope>/<key>\"")})
			return SkipChildren
		}
		r, err := resolve.ParseVaultRefField(s)
		if err != nil {
			errs = append(errs, &RefError{Path: e.Path, Line: e.Line, Err: err})
			return nil
		}
		setting := joinPath(e.Parent, strings.TrimSuffix(e.Key, RefSuffix))
		found = append(found, Found{Path: e.Path, Setting: setting, Line: e.Line, Ref: r})
		return nil
	})
	found, dups := d.duplicates(found)
	errs = append(errs, dups...)
	sort.SliceStable(found, func(i, j int) bool { return found[i].Line < found[j].Line })
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return found, errors.Join(joined...)
}

// ErrDuplicateSetting is wrapped by the *RefError of a setting given twice.
var ErrDuplicateSetting = errors.New("setting given twice")

// duplicates finds the settings given twice among found (two reference
// fields, or a reference field and a plaintext value of the setting, which
// Palyra ignores when it is empty or white space) and returns found without
// them and one *RefError per such setting. An inline reference table
// supplies its own path, never another field's, and is not compared.
func (d *Document) duplicates(found []Found) ([]Found, []*RefError) {
	bySetting := map[string][]int{}
	for i, f := range found {
		if f.Setting != f.Path {
			bySetting[f.Setting] = append(bySetting[f.Setting], i)
		}
	}
	drop := map[int]bool{}
	var errs []*RefError
	for _, setting := range slices.Sorted(maps.Keys(bySetting)) {
		idx := bySetting[setting]
		var names []string
		line := 0
		if v, ok := d.lookup(setting); ok && !blankString(v) {
			names = append(names, fmt.Sprintf("%s (line %d, a plaintext value)", setting, d.Line(setting)))
			line = d.Line(setting)
		}
		if len(idx)+len(names) < 2 {
			continue
		}
		for _, i := range idx {
			names = append(names, fmt.Sprintf("%s (line %d)", found[i].Path, found[i].Line))
			drop[i] = true
			line = max(line, found[i].Line)
		}
		errs = append(errs, &RefError{Path: setting, Line: line, Err: fmt.Errorf("%w: %s; keep one of them",
			ErrDuplicateSetting, strings.Join(names, " and "))})
	}
	kept := found[:0:0]
	for i, f := range found {
		if !drop[i] {
			kept = append(kept, f)
		}
	}
	return kept, errs
}

// lookup returns the value at a dotted path as Walk writes it, when the
// path goes through tables and array elements only.
func (d *Document) lookup(path string) (any, bool) {
	var v any
	found := false
	_ = Walk(d, func(e Entry) error {
		switch {
		case found:
			return SkipChildren
		case e.Path == path:
			v, found = e.Value, true
			return SkipChildren
		case strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(path, e.Path+"["):
			return nil
		}
		return SkipChildren
	})
	return v, found
}

// blankString reports whether v is a string of white space only.
func blankString(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// RefErrors returns the *RefError of each broken reference in err, the error
// References returned, in line order; nil when err is nil.
func RefErrors(err error) []*RefError {
	var parts []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	} else if err != nil {
		parts = []error{err}
	}
	var out []*RefError
	for _, e := range parts {
		var re *RefError
		if errors.As(e, &re) {
			out = append(out, re)
		}
	}
	return out
}
