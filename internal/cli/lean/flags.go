package lean

import (
	"strconv"
	"strings"
	"time"
)

// flag is one flag the lean parser understands: its long name, its
// one-letter short form (0 for none) and where its value goes. Exactly one
// of boolP, stringP, stringsP and durationP is set.
type flag struct {
	name  string
	short byte

	boolP   *bool
	stringP *string
	// stringsP is a repeatable flag (pflag's StringArray): each time it is
	// given, its value is appended, as it is (no splitting on commas).
	stringsP  *[]string
	durationP *time.Duration
	// changed, when not nil, is set when the flag is given (pflag's
	// Flag.Changed).
	changed *bool
}

// set gives f the value text, as pflag would; false means pflag would
// refuse it (the command line then goes to palyra-extra, which says why).
func (f *flag) set(text string) bool {
	switch {
	case f.boolP != nil:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return false
		}
		*f.boolP = b
	case f.stringP != nil:
		*f.stringP = text
	case f.stringsP != nil:
		*f.stringsP = append(*f.stringsP, text)
	case f.durationP != nil:
		d, err := time.ParseDuration(text)
		if err != nil {
			return false
		}
		*f.durationP = d
	default:
		return false
	}
	if f.changed != nil {
		*f.changed = true
	}
	return true
}

// parseFlags reads args as pflag reads a command's arguments against
// flags, and returns the positional arguments: flags and positional
// arguments interspersed, "--" ending the flags; or, when interspersed is
// false (pflag's SetInterspersed(false), as "run" has it), the flags end
// at the first positional argument too, which is returned with everything
// after it, untouched. It returns false for anything it does not
// understand or that pflag would refuse: an unknown flag (--help and -h
// among them), a missing or malformed value, a short flag other than a
// lone "-x" (of a boolean flag, or followed by its value). Declining is
// always safe: the caller hands the command line to palyra-extra, whose
// cobra parser reads it (and reports any mistake) as palyra always has.
func parseFlags(args []string, flags []*flag, interspersed bool) ([]string, bool) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(pos, args[i+1:]...), true
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			f := lookupLong(flags, name)
			if f == nil {
				return nil, false
			}
			switch {
			case hasValue:
			case f.boolP != nil:
				value = "true"
			case i+1 < len(args):
				// pflag takes the next argument whatever it looks like.
				i++
				value = args[i]
			default:
				return nil, false
			}
			if !f.set(value) {
				return nil, false
			}
		case len(a) > 1 && a[0] == '-':
			f := lookupShort(flags, a[1])
			switch {
			case len(a) != 2 || f == nil:
				return nil, false
			case f.boolP != nil:
				f.set("true")
			case i+1 < len(args):
				// "-e value": pflag takes the next argument whatever it
				// looks like, as for a long flag.
				i++
				if !f.set(args[i]) {
					return nil, false
				}
			default:
				return nil, false
			}
		case !interspersed: // "-" alone is an argument too
			return append(pos, args[i:]...), true
		default:
			pos = append(pos, a)
		}
	}
	return pos, true
}

func lookupLong(flags []*flag, name string) *flag {
	for _, f := range flags {
		if f.name == name && name != "" {
			return f
		}
	}
	return nil
}

func lookupShort(flags []*flag, c byte) *flag {
	for _, f := range flags {
		if f.short == c && c != 0 {
			return f
		}
	}
	return nil
}
