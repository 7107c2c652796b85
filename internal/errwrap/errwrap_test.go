package errwrap

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// TestNewAndDetailActAsErrorfWithW check that New and Detail read and
// unwrap as the fmt.Errorf calls they replace.
func TestNewActsAsErrorfWithW(t *testing.T) {
	for _, base := range []error{fs.ErrNotExist, errors.New("inner")} {
		for _, c := range []struct{ got, want error }{
			{New("outer", base), fmt.Errorf("outer: %w", base)},
			{Detail(base, "detail"), fmt.Errorf("%w: detail", base)},
		} {
			if c.got.Error() != c.want.Error() {
				t.Errorf("Error() = %q, want %q", c.got, c.want)
			}
			if !errors.Is(c.got, base) || errors.Unwrap(c.got) != base {
				t.Errorf("%q does not unwrap to %v", c.got, base)
			}
			if errors.Is(c.got, errors.New("inner")) {
				t.Errorf("%q matches an unrelated error", c.got)
			}
		}
	}
}
