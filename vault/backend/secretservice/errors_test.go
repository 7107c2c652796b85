package secretservice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/vault/backend"
)

func TestEveryReasonWrapsUnavailableAndHasAHint(t *testing.T) {
	for _, reason := range []error{ErrNoService, ErrNoDefaultCollection, ErrLocked, ErrPromptDismissed, ErrTimeout, ErrFailed} {
		t.Run(reason.Error(), func(t *testing.T) {
			cause := errors.New("the cause")
			err := error(newError(`getting object "obj_x"`, reason, cause))
			if !errors.Is(err, reason) || !errors.Is(err, backend.ErrUnavailable) || !errors.Is(err, cause) {
				t.Errorf("%v does not wrap its reason, backend.ErrUnavailable and its cause", err)
			}
			want := `secret service: getting object "obj_x": ` + reason.Error() + ": the cause"
			if err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Hint() == "" {
				t.Errorf("%v has no hint", err)
			}
			if got := errors.Is(err, ErrLocked); got != (reason == ErrLocked || reason == ErrPromptDismissed) {
				t.Errorf("errors.Is(%v, ErrLocked) = %v", err, got)
			}
		})
	}
}

func TestClassifyMapsDBusErrorsToReasons(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{dbus.Error{Name: errNameIsLocked}, ErrLocked},
		{&dbus.Error{Name: errNameIsLocked}, ErrLocked},
		{dbus.Error{Name: errNameServiceUnknown}, ErrNoService},
		{dbus.Error{Name: errNameNameHasNoOwner}, ErrNoService},
		{dbus.Error{Name: errNameDisconnected}, ErrNoService},
		{dbus.ErrClosed, ErrNoService},
		{context.DeadlineExceeded, ErrTimeout},
		{dbus.Error{Name: errNameNoReply}, ErrTimeout},
		{fmt.Errorf("calling: %w", context.DeadlineExceeded), ErrTimeout},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.Failed"}, ErrFailed},
		{errors.New("dbus: wire format error"), ErrFailed},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v", c.err), func(t *testing.T) {
			err := classify("op", c.err)
			if !errors.Is(err, c.want) || !errors.Is(err, backend.ErrUnavailable) {
				t.Errorf("classify(%v) = %v, want %q", c.err, err, c.want)
			}
		})
	}
}

func TestLabelShowsOnlyThePrefixOfTheObjectID(t *testing.T) {
	id := backend.ObjectID("obj_" + strings.Repeat("ab", 32))
	got := label(id)
	if got != "Palyra vault secret (obj_abababababab…)" {
		t.Errorf("label = %q", got)
	}
}

// TestTimeoutHintNamesWhatCanBeDone: a call that timed out points at what
// a user can do (doctor, a restart, another backend), not at a timeout
// setting, which neither the CLI nor the daemon has.
func TestTimeoutHintNamesWhatCanBeDone(t *testing.T) {
	var e *Error
	if !errors.As(classify("op", context.DeadlineExceeded), &e) {
		t.Fatal("classify did not return an *Error")
	}
	h := e.Hint()
	for _, want := range []string{"palyra secrets doctor", "restart it", "encrypted_file"} {
		if !strings.Contains(h, want) {
			t.Errorf("timeout hint %q does not say %q", h, want)
		}
	}
	if strings.Contains(h, "timeout") {
		t.Errorf("timeout hint %q points at a timeout setting that does not exist", h)
	}
}
