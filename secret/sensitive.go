package secret

import (
	"fmt"
)

// Redacted is what every printable form of SensitiveBytes shows.
const Redacted = "[REDACTED]"

// SensitiveBytes holds a secret value. Every way Go prints or encodes a value
// (String, fmt verbs including %v %+v %#v %q %x %s, JSON, text marshalling,
// log/slog) shows Redacted instead of the bytes. Only Reveal gives them out.
// Call Wipe when the value is no longer needed.
//
// This holds by construction, not only through those methods: the bytes are
// reachable only through a function value, and fmt prints a function as an
// address. So where fmt cannot call a method (a SensitiveBytes in an
// unexported struct field, a verb such as %p that fmt handles itself, the
// "%!verb(type=value)" form of a bad verb) it shows an address, never a byte.
// A pointer to a struct or a slice would not do: fmt prints what it points
// to.
//
// The zero SensitiveBytes holds no bytes. Copies of a SensitiveBytes share
// its bytes: Wipe on one wipes them all. A SensitiveBytes is not safe for
// concurrent Wipe and Reveal.
type SensitiveBytes struct {
	bytes func() []byte
}

// NewSensitiveBytes takes ownership of b: the caller must not use b again.
func NewSensitiveBytes(b []byte) SensitiveBytes {
	return SensitiveBytes{bytes: func() []byte { return b }}
}

// Reveal returns the secret bytes themselves (not a copy). Use them, do not
// keep them: after Wipe they are zero.
func (s SensitiveBytes) Reveal() []byte {
	if s.bytes == nil {
		return nil
	}
	return s.bytes()
}

// Len returns the value's length in bytes. The length is not secret.
func (s SensitiveBytes) Len() int { return len(s.Reveal()) }

// Wipe overwrites the bytes with zeros. Copies made with Reveal share the
// memory and are wiped too.
func (s SensitiveBytes) Wipe() { clear(s.Reveal()) }

// String returns Redacted.
func (s SensitiveBytes) String() string { return Redacted }

// GoString returns Redacted, for %#v.
func (s SensitiveBytes) GoString() string { return Redacted }

// Format writes Redacted for every verb and flag.
func (s SensitiveBytes) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", Redacted)
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// MarshalJSON encodes the value as the JSON string "[REDACTED]".
func (s SensitiveBytes) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns Redacted, so encoders that use text (TOML, YAML, XML
// attributes, log/slog's text handler) never see the value. (log/slog's
// JSON handler uses MarshalJSON; neither needs a LogValue method, whose
// slog import would cost every palyra process log/slog's initialisation.)
func (s SensitiveBytes) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
