package config

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The scanner walks the document's top-level expressions with go-toml's
// position-keeping parser (the unstable package, pinned by go.mod) and
// records, for each, where its line starts and ends, where its key and value
// are, and its full path. SetVaultRef edits bytes at these offsets; Walk
// uses the line numbers. Validity (duplicate keys, redefined tables) is
// checked by decode, which always runs first.

// nodeInfo is what the scanner knows about one value of the document.
type nodeInfo struct {
	line   int  // 1-based line of its definition
	inline bool // the value is an inline table
}

// expr is one top-level expression: a [table] or [[array]] header, or a
// key/value line.
type expr struct {
	kind unstable.Kind // Table, ArrayTable or KeyValue
	// keys are the decoded key parts as written; path is the full decoded
	// path (for a key/value, the section's path followed by keys).
	keys, path []string
	// section is the index of the header this key/value follows, or -1.
	section int
	// inArray is true when the path goes through an array of tables.
	inArray bool
	line    int

	lineStart, lineEnd int // the expression's lines, newline included
	keyStart           int // first key part
	lastKeyStart       int // last key part (quotes included)
	lastKeyEnd         int
	lastKeyQuoted      bool
	valStart, valEnd   int // the value (key/value only)
}

// scanned is the result of scan.
type scanned struct {
	exprs []expr
	index map[string]nodeInfo // by display path
	data  []byte
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int // offsets of '\n'

func (li lineIndex) line(off int) int {
	return sort.SearchInts(li, off) + 1
}

// scan records the layout of data, which must already have decoded.
func scan(data []byte) (*scanned, error) {
	var nl lineIndex
	for i, c := range data {
		if c == '\n' {
			nl = append(nl, i)
		}
	}
	s := &scanned{index: map[string]nodeInfo{}, data: data}
	arrayTables := map[string]bool{} // decoded path (NUL-joined) → is an array of tables
	counts := map[string]int{}       // display path of an array of tables → elements so far
	section, secPath, secDisplay, secArray := -1, []string(nil), "", false

	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			e, raws := s.keyed(n)
			display, inArray := "", false
			for i, k := range e.keys {
				display = joinPath(display, k)
				dk := strings.Join(e.keys[:i+1], "\x00")
				switch {
				case i == len(e.keys)-1 && n.Kind == unstable.ArrayTable:
					arrayTables[dk] = true
					c := counts[display]
					counts[display] = c + 1
					display, inArray = indexPath(display, c), true
				case arrayTables[dk]:
					display, inArray = indexPath(display, counts[display]-1), true
				}
			}
			e.path, e.section, e.inArray = e.keys, -1, inArray
			e.line = nl.line(e.keyStart)
			e.lineEnd = lineEndAfter(data, int(raws[len(raws)-1].Offset+raws[len(raws)-1].Length))
			s.index[display] = nodeInfo{line: e.line}
			section, secPath, secDisplay, secArray = len(s.exprs), e.keys, display, inArray
			s.exprs = append(s.exprs, e)
		case unstable.KeyValue:
			e, _ := s.keyed(n)
			e.path = append(slices.Clip(secPath), e.keys...)
			e.section, e.inArray = section, secArray
			e.line = nl.line(e.keyStart)
			i := skipBlank(data, e.lastKeyEnd)
			if i >= len(data) || data[i] != '=' {
				return nil, errors.New("scanning configuration: key without '='") // decode accepted it: cannot happen
			}
			e.valStart = skipBlank(data, i+1)
			e.valEnd = int(n.Raw.Offset + n.Raw.Length)
			e.lineEnd = lineEndAfter(data, e.valEnd)
			display := secDisplay
			for _, k := range e.keys {
				display = joinPath(display, k)
				if _, ok := s.index[display]; !ok {
					s.index[display] = nodeInfo{line: e.line}
				}
			}
			s.indexValue(nl, display, n.Value(), e.line)
			s.exprs = append(s.exprs, e)
		}
	}
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("scanning configuration: %w", err)
	}
	return s, nil
}

// keyed fills the key fields of an expression from its key nodes.
func (s *scanned) keyed(n *unstable.Node) (expr, []unstable.Range) {
	e := expr{kind: n.Kind}
	var raws []unstable.Range
	for it := n.Key(); it.Next(); {
		k := it.Node()
		e.keys = append(e.keys, string(k.Data))
		raws = append(raws, k.Raw)
	}
	first, last := raws[0], raws[len(raws)-1]
	e.keyStart = int(first.Offset)
	e.lastKeyStart, e.lastKeyEnd = int(last.Offset), int(last.Offset+last.Length)
	e.lastKeyQuoted = s.data[e.lastKeyStart] == '"' || s.data[e.lastKeyStart] == '\''
	e.lineStart = lineStartBefore(s.data, e.keyStart)
	return e, raws
}

// indexValue records the line of the value v at display and of everything
// inside it.
func (s *scanned) indexValue(nl lineIndex, display string, v *unstable.Node, line int) {
	if v.Raw.Length > 0 {
		line = nl.line(int(v.Raw.Offset))
	}
	s.index[display] = nodeInfo{line: line, inline: v.Kind == unstable.InlineTable}
	switch v.Kind {
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			d, cline := display, line
			first := true
			for kit := c.Key(); kit.Next(); {
				if first {
					cline, first = nl.line(int(kit.Node().Raw.Offset)), false
				}
				d = joinPath(d, string(kit.Node().Data))
				if _, ok := s.index[d]; !ok {
					s.index[d] = nodeInfo{line: cline}
				}
			}
			s.indexValue(nl, d, c.Value(), cline)
		}
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			s.indexValue(nl, indexPath(display, i), c, line)
			i++
		}
	}
}

// lineStartBefore returns the offset of the start of the line holding off.
func lineStartBefore(data []byte, off int) int {
	return bytes.LastIndexByte(data[:off], '\n') + 1
}

// lineEndAfter returns the offset just past the newline that ends the line
// holding off, or len(data) on the last line.
func lineEndAfter(data []byte, off int) int {
	if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(data)
}

// skipBlank skips spaces and tabs from off.
func skipBlank(data []byte, off int) int {
	for off < len(data) && (data[off] == ' ' || data[off] == '\t') {
		off++
	}
	return off
}
