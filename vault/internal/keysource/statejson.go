package keysource

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
)

// decodeState decodes keysource.json (State and its nested types) without
// reflection: every palyra command that opens a vault decodes it, and
// encoding/json's first reflective decode costs a start-up a good share of
// its page faults (docs/PERFORMANCE.md, "Start-up").
//
// It accepts exactly what encoding/json's Decoder with
// DisallowUnknownFields accepted here, one object and nothing but white
// space after it, and builds the same State, with one deliberate
// difference: a member name that appears twice in one object is refused
// (encoding/json lets the last one win, merging nested objects), since
// encodeState never writes one and two readers must never disagree on
// what a file says. So, like encoding/json: member names match their
// field case-insensitively (with Unicode simple folding: "ſource" is
// "source"), null leaves a field at its zero value, strings are unquoted
// with invalid UTF-8 and lone surrogates replaced by U+FFFD, []byte
// fields take standard padded base64 (line breaks ignored) or an array of
// numbers 0..255, and integers must be integer literals in range.
// FuzzParseStateMatchesEncodingJSON holds it to that, against
// encoding/json as the oracle.
//
// Its errors give the byte offset and the field, never a value.
func decodeState(data []byte) (*State, error) {
	d := stateDecoder{data: data}
	st := new(State)
	d.space()
	if d.null() { // as encoding/json: a zero State, which State.check refuses
		d.space()
		if d.off != len(d.data) {
			return nil, d.errorf("", "data after the JSON value")
		}
		return st, nil
	}
	if !d.peek('{') {
		return nil, d.errorf("", "want a JSON object")
	}
	err := d.object("", stateFields, func(i int, path string) error {
		switch i {
		case 0:
			return d.stringInto(path, &st.Format)
		case 1:
			return d.stringInto(path, &st.VaultID)
		case 2:
			if d.null() {
				return nil
			}
			return d.spec(path, &st.Active, nil)
		case 3:
			if d.null() {
				st.Pending = nil
				return nil
			}
			st.Pending = new(Pending)
			return d.spec(path, &st.Pending.Spec, &st.Pending.Wrapped)
		default:
			if d.null() {
				st.Retired = nil
				return nil
			}
			st.Retired = new(Spec)
			return d.spec(path, st.Retired, nil)
		}
	})
	if err != nil {
		return nil, err
	}
	d.space()
	if d.off != len(d.data) {
		return nil, d.errorf("", "data after the JSON object")
	}
	return st, nil
}

// The member names of each object, as encodeState writes them; the index
// in a list is what stateDecoder.object passes to its callback.
var (
	stateFields  = []string{"format", "vault_id", "active", "pending", "retired"}
	specFields   = []string{"source", "kek_id", "file", "kdf", "store", "item", "members", "wrapped"}
	kdfFields    = []string{"algorithm", "version", "memory_kib", "time", "threads", "salt"}
	memberFields = []string{"recipient", "wrapped"}
)

// stateDecoder reads one JSON document from data, from off on.
type stateDecoder struct {
	data []byte
	off  int
}

// errorf reports what is wrong at the current offset, in field path.
func (d *stateDecoder) errorf(path, msg string) error {
	if path != "" {
		return fmt.Errorf("at byte %d: %s: %s", d.off, path, msg)
	}
	return fmt.Errorf("at byte %d: %s", d.off, msg)
}

// space skips JSON white space.
func (d *stateDecoder) space() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// peek reports whether the next byte is c.
func (d *stateDecoder) peek(c byte) bool { return d.off < len(d.data) && d.data[d.off] == c }

// null consumes a null literal if one is next.
func (d *stateDecoder) null() bool {
	if len(d.data)-d.off >= 4 && string(d.data[d.off:d.off+4]) == "null" {
		d.off += 4
		return true
	}
	return false
}

// object reads an object whose '{' is next. For each member it calls
// field with the member's index in names and its path, with the value
// next; a member that is not in names, or appears twice, is an error.
func (d *stateDecoder) object(path string, names []string, field func(i int, path string) error) error {
	d.off++ // '{'
	var seen uint64
	d.space()
	if d.peek('}') {
		d.off++
		return nil
	}
	for {
		if !d.peek('"') {
			return d.errorf(path, "want a member name in double quotes")
		}
		at := d.off
		key, err := d.str(path)
		if err != nil {
			return err
		}
		i := lookupField(names, key)
		if i < 0 {
			d.off = at
			return d.errorf(path, fmt.Sprintf("unknown field %q", secret.Excerpt(key)))
		}
		if seen&(1<<i) != 0 {
			d.off = at
			return d.errorf(join(path, names[i]), "appears twice")
		}
		seen |= 1 << i
		d.space()
		if !d.peek(':') {
			return d.errorf(path, "want ':' after a member name")
		}
		d.off++
		d.space()
		if err := field(i, join(path, names[i])); err != nil {
			return err
		}
		if end, err := d.afterItem(path, '}', "a member"); end || err != nil {
			return err
		}
	}
}

// join names member name of the object at path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// lookupField returns the index in names of the member name key, matched
// as encoding/json matches a struct field: exactly, or else after folding
// case (see foldName); -1 if none.
func lookupField(names []string, key string) int {
	for i, n := range names {
		if n == key {
			return i
		}
	}
	folded := foldName(key)
	for i, n := range names {
		if foldName(n) == folded {
			return i
		}
	}
	return -1
}

// foldName maps s to a form that is equal for names that differ only in
// case: ASCII letters upper-cased, any other rune replaced by the smallest
// rune of its Unicode simple-folding orbit (as encoding/json folds).
func foldName(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return string(out)
}

// spec reads a Spec object whose '{' must be next; wrapped, when not nil,
// takes the "wrapped" member of a Pending.
func (d *stateDecoder) spec(path string, k *Spec, wrapped *[]byte) error {
	if !d.peek('{') {
		return d.errorf(path, "want an object or null")
	}
	names := specFields
	if wrapped == nil {
		names = specFields[:len(specFields)-1]
	}
	return d.object(path, names, func(i int, path string) error {
		switch i {
		case 0:
			return d.stringInto(path, &k.Source)
		case 1:
			return d.stringInto(path, &k.KEKID)
		case 2:
			return d.stringInto(path, &k.File)
		case 3:
			if d.null() {
				k.KDF = nil
				return nil
			}
			if !d.peek('{') {
				return d.errorf(path, "want an object or null")
			}
			k.KDF = new(KDFParams)
			return d.kdf(path, k.KDF)
		case 4:
			s, err := d.stringOrNull(path)
			if s != nil {
				k.Store = backend.Kind(*s)
			}
			return err
		case 5:
			s, err := d.stringOrNull(path)
			if s != nil {
				k.Item = backend.ObjectID(*s)
			}
			return err
		case 6:
			return d.members(path, &k.Members)
		default:
			return d.bytesInto(path, wrapped)
		}
	})
}

// kdf reads a KDFParams object whose '{' is next.
func (d *stateDecoder) kdf(path string, p *KDFParams) error {
	return d.object(path, kdfFields, func(i int, path string) error {
		switch i {
		case 0:
			return d.stringInto(path, &p.Algorithm)
		case 1:
			n, ok, err := d.integer(path, true, strconv.IntSize)
			if ok {
				p.Version = int(n)
			}
			return err
		case 2, 3, 4:
			bits := 32
			if i == 4 {
				bits = 8
			}
			n, ok, err := d.integer(path, false, bits)
			if ok {
				switch i {
				case 2:
					p.MemoryKiB = uint32(n)
				case 3:
					p.Time = uint32(n)
				default:
					p.Threads = uint8(n)
				}
			}
			return err
		default:
			return d.bytesInto(path, &p.Salt)
		}
	})
}

// members reads the members array of a member key, or null.
func (d *stateDecoder) members(path string, ms *[]MemberWrap) error {
	if d.null() {
		*ms = nil
		return nil
	}
	if !d.peek('[') {
		return d.errorf(path, "want an array or null")
	}
	list := []MemberWrap{}
	err := d.array(path, func(path string) error {
		list = append(list, MemberWrap{})
		m := &list[len(list)-1]
		if d.null() {
			return nil
		}
		if !d.peek('{') {
			return d.errorf(path, "want an object or null")
		}
		return d.object(path, memberFields, func(i int, path string) error {
			if i == 0 {
				return d.stringInto(path, &m.Recipient)
			}
			return d.bytesInto(path, &m.Wrapped)
		})
	})
	if err != nil {
		return err
	}
	*ms = list
	return nil
}

// array reads an array whose '[' is next, calling elem for each element
// with the element next.
func (d *stateDecoder) array(path string, elem func(path string) error) error {
	d.off++ // '['
	d.space()
	if d.peek(']') {
		d.off++
		return nil
	}
	for n := 0; ; n++ {
		if err := elem(path + "[" + strconv.Itoa(n) + "]"); err != nil {
			return err
		}
		if end, err := d.afterItem(path, ']', "an element"); end || err != nil {
			return err
		}
	}
}

// afterItem reads what follows a member of an object or an element of an
// array: ',' and the white space after it (end false: another comes), or
// closing, the object's '}' or the array's ']' (end true).
func (d *stateDecoder) afterItem(path string, closing byte, what string) (end bool, err error) {
	d.space()
	switch {
	case d.peek(','):
		d.off++
		d.space()
		return false, nil
	case d.peek(closing):
		d.off++
		return true, nil
	}
	return false, d.errorf(path, "want ',' or '"+string(closing)+"' after "+what)
}

// stringInto reads a string into *s; null leaves *s as it is.
func (d *stateDecoder) stringInto(path string, s *string) error {
	v, err := d.stringOrNull(path)
	if v != nil {
		*s = *v
	}
	return err
}

// stringOrNull reads a string, or null (nil).
func (d *stateDecoder) stringOrNull(path string) (*string, error) {
	if d.null() {
		return nil, nil
	}
	if !d.peek('"') {
		return nil, d.errorf(path, "want a string or null")
	}
	s, err := d.str(path)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// bytesInto reads a []byte as encoding/json does: null (nil), a base64
// string, or an array of numbers 0..255 (each may be null: 0).
func (d *stateDecoder) bytesInto(path string, b *[]byte) error {
	switch {
	case d.null():
		*b = nil
		return nil
	case d.peek('"'):
		s, err := d.str(path)
		if err != nil {
			return err
		}
		out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(out, []byte(s))
		if err != nil {
			return d.errorf(path, "not valid base64")
		}
		*b = out[:n]
		return nil
	case d.peek('['):
		out := []byte{}
		err := d.array(path, func(path string) error {
			n, _, err := d.integer(path, false, 8)
			out = append(out, byte(n))
			return err
		})
		if err != nil {
			return err
		}
		*b = out
		return nil
	}
	return d.errorf(path, "want a base64 string, an array of bytes or null")
}

// integer reads an integer that fits in bits (signed or not), or null: ok
// is false for null, which leaves the field as it is.
func (d *stateDecoder) integer(path string, signed bool, bits int) (n int64, ok bool, err error) {
	if d.null() {
		return 0, false, nil
	}
	lit, err := d.number(path)
	if err != nil {
		return 0, false, err
	}
	if signed {
		n, err = strconv.ParseInt(lit, 10, bits)
	} else {
		var u uint64
		u, err = strconv.ParseUint(lit, 10, bits)
		n = int64(u)
	}
	if err != nil {
		return 0, false, d.errorf(path, fmt.Sprintf("want an integer of %d bits", bits))
	}
	return n, true, nil
}

// number reads a JSON number literal (RFC 8259 grammar).
func (d *stateDecoder) number(path string) (string, error) {
	start, i, data := d.off, d.off, d.data
	digits := func() bool {
		j := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		digits()
	default:
		return "", d.errorf(path, "want a number or null")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			return "", d.errorf(path, "malformed number")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			return "", d.errorf(path, "malformed number")
		}
	}
	d.off = i
	return string(data[start:i]), nil
}

// str reads a string literal whose '"' is next and returns its value,
// unquoted as encoding/json unquotes.
func (d *stateDecoder) str(path string) (string, error) {
	start := d.off + 1
	plain := true
	for i := start; i < len(d.data); {
		switch c := d.data[i]; {
		case c == '"':
			d.off = i + 1
			if plain {
				return string(d.data[start:i]), nil
			}
			return unquote(d.data[start:i]), nil
		case c == '\\':
			plain = false
			if i+1 >= len(d.data) {
				i = len(d.data)
				continue
			}
			switch d.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(d.data[i+2:]) < 0 {
					d.off = i
					return "", d.errorf(path, `malformed \u escape in a string`)
				}
				i += 6
			default:
				d.off = i
				return "", d.errorf(path, "invalid escape in a string")
			}
		case c < 0x20:
			d.off = i
			return "", d.errorf(path, "control character in a string")
		default:
			if c >= utf8.RuneSelf {
				plain = false
			}
			i++
		}
	}
	d.off = len(d.data)
	return "", d.errorf(path, "unterminated string")
}

// hex4 returns the value of the 4 hex digits that s starts with, or -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unquote returns the value of the body s of a string literal whose
// escapes are valid: escapes resolved, a surrogate pair joined, a lone
// surrogate and each byte of invalid UTF-8 replaced by U+FFFD.
func unquote(s []byte) string {
	out := make([]byte, 0, len(s))
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch e := s[r+1]; e {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr := hex4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if r+1 < len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != unicode.ReplacementChar {
							out = utf8.AppendRune(out, dec)
							r += 6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, rr)
				continue
			default: // '"', '\\', '/'
				out = append(out, e)
			}
			r += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			r++
		default:
			rr, n := utf8.DecodeRune(s[r:])
			out = utf8.AppendRune(out, rr)
			r += n
		}
	}
	return string(out)
}
