package inject

import (
	"bytes"
	"fmt"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/resolve/tomlref"
)

// placeholder is one "{{ <reference> }}" in a template.
type placeholder struct {
	start, end int    // the placeholder's bytes, braces included
	line, col  int    // 1-based position of its "{{"
	text       string // the reference's text, without braces and blanks
	ref        resolve.Ref
}

// refPrefixes start the text of a placeholder that is a reference. A
// "{{ … }}" that starts otherwise belongs to some other template language
// and is copied as it is.
var refPrefixes = [][]byte{[]byte("vault:"), []byte("env:"), []byte("file:"), []byte("exec:")}

// parseTemplate finds the placeholders of src, in order, and parses their
// references. A placeholder is "{{", optional blanks, a reference, optional
// blanks, "}}", on one line; the reference is vault://…, env:…, file:… or
// a TOML inline table whose first key is followed by '=' ({ exec = […] }).
// Other "{{ … }}" (Go templates, Jinja, Mustache) are left alone. It fails,
// naming the position but not the text, on a placeholder that is not
// closed on its line or whose reference is invalid.
func parseTemplate(src []byte) ([]placeholder, error) {
	var out []placeholder
	lines := newLineIndex(src)
	for i := 0; i+1 < len(src); {
		p := bytes.Index(src[i:], []byte("{{"))
		if p < 0 {
			break
		}
		start := i + p
		j := skipBlanks(src, start+2)
		var textEnd int
		switch {
		case j < len(src) && src[j] == '{' && looksLikeTable(src[j:]):
			n, ok := tableEnd(src[j:])
			if !ok {
				line, col := lines.pos(start)
				return nil, fmt.Errorf("line %d, column %d: unterminated inline table in {{ … }}", line, col)
			}
			textEnd = j + n
		case hasRefPrefix(src[j:]):
			textEnd = j
			for textEnd < len(src) && src[textEnd] != '\n' && !bytes.HasPrefix(src[textEnd:], []byte("}}")) {
				textEnd++
			}
		default:
			i = start + 1
			continue
		}
		k := skipBlanks(src, textEnd)
		line, col := lines.pos(start)
		if !bytes.HasPrefix(src[k:], []byte("}}")) {
			return nil, fmt.Errorf("line %d, column %d: {{ is not closed by }} on the same line", line, col)
		}
		text := string(bytes.TrimRight(src[j:textEnd], " \t"))
		ref, err := tomlref.Parse(text)
		if err != nil {
			// Not %w: a bad reference in a file is not a bad command line,
			// so it must not turn into a usage error.
			return nil, fmt.Errorf("line %d, column %d: %v", line, col, err)
		}
		out = append(out, placeholder{start: start, end: k + 2, line: line, col: col, text: text, ref: ref})
		i = k + 2
	}
	return out, nil
}

func skipBlanks(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func hasRefPrefix(b []byte) bool {
	for _, p := range refPrefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	return false
}

// looksLikeTable reports whether b starts "{ key =": an inline table, not
// Mustache's "{{{ name }}}".
func looksLikeTable(b []byte) bool {
	i := skipBlanks(b, 1)
	k := i
	for k < len(b) && (b[k] >= 'a' && b[k] <= 'z' || b[k] >= 'A' && b[k] <= 'Z' || b[k] >= '0' && b[k] <= '9' || b[k] == '_' || b[k] == '-') {
		k++
	}
	if k == i {
		return false
	}
	k = skipBlanks(b, k)
	return k < len(b) && b[k] == '='
}

// tableEnd returns the length of the inline table at the start of b,
// matching braces and brackets outside TOML strings, and false when it is
// not closed on its line.
func tableEnd(b []byte) (int, bool) {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\n':
			return 0, false
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				} else if b[i] == '\n' {
					return 0, false
				}
			}
		case '\'':
			for i++; i < len(b) && b[i] != '\''; i++ {
				if b[i] == '\n' {
					return 0, false
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, b[i] == '}'
			}
		}
	}
	return 0, false
}

// lineIndex maps byte offsets to 1-based lines and columns.
type lineIndex []int // offsets where lines start

func newLineIndex(src []byte) lineIndex {
	li := lineIndex{0}
	for i, c := range src {
		if c == '\n' {
			li = append(li, i+1)
		}
	}
	return li
}

func (li lineIndex) pos(off int) (line, col int) {
	lo, hi := 0, len(li)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if li[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1, off - li[lo] + 1
}
