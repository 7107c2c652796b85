package clierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestHintsCollectsEveryLayerOutermostFirst(t *testing.T) {
	inner := WithHints(errors.New("base"), "inner")
	outer := WithHints(fmt.Errorf("wrapped: %w", inner), "outer1", "outer2")
	if got := Hints(outer); strings.Join(got, ",") != "outer1,outer2,inner" {
		t.Fatalf("Hints = %q", got)
	}
	if got := Hints(errors.New("plain")); got != nil {
		t.Fatalf("Hints of a plain error = %q, want none", got)
	}
	if WithHints(nil, "x") != nil {
		t.Fatal("WithHints(nil) is not nil")
	}
}

type hinted struct{ err error }

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }
func (h hinted) Hint() string  { return "from a Hint method" }

func TestHintsFindsHintMethodsAndJoinedErrorsWithoutRepeats(t *testing.T) {
	err := WithHints(errors.Join(hinted{errors.New("a")}, WithHints(errors.New("b"), "same")), "same")
	if got := Hints(err); strings.Join(got, "|") != "same|from a Hint method" {
		t.Fatalf("Hints = %q", got)
	}
}
