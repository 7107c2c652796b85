package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSensitiveBytesIsRedactedInEveryForm(t *testing.T) {
	const secret = "sk-live-DO-NOT-PRINT"
	s := NewSensitiveBytes([]byte(secret))
	type wrapper struct{ V SensitiveBytes }
	forms := map[string]string{
		"String": s.String(),
		"%v":     fmt.Sprintf("%v", s),
		"%+v":    fmt.Sprintf("%+v", s),
		"%#v":    fmt.Sprintf("%#v", s),
		"%s":     fmt.Sprintf("%s", s),
		"%q":     fmt.Sprintf("%q", s),
		"%x":     fmt.Sprintf("%x", s),
		"%X":     fmt.Sprintf("%X", s),
		"%d":     fmt.Sprintf("%d", s),
		"struct": fmt.Sprintf("%+v %#v", wrapper{s}, &wrapper{s}),
		"error":  fmt.Errorf("resolving: %v", s).Error(),
		"Print":  fmt.Sprint(s, []SensitiveBytes{s}),
	}
	js, err := json.Marshal(wrapper{s})
	if err != nil {
		t.Fatal(err)
	}
	forms["json"] = string(js)
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("got", "value", s)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("got", "value", s)
	forms["slog"] = logBuf.String()
	hexSecret := fmt.Sprintf("%x", secret)
	for name, out := range forms {
		if strings.Contains(out, secret) || strings.Contains(strings.ToLower(out), hexSecret) {
			t.Errorf("%s form leaks the value: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s form = %q, want it to show %s", name, out, Redacted)
		}
	}
}

func TestSensitiveBytesWipeZeroesRevealedBytes(t *testing.T) {
	s := NewSensitiveBytes([]byte("token"))
	view := s.Reveal()
	s.Wipe()
	if !bytes.Equal(view, make([]byte, 5)) {
		t.Fatalf("after Wipe the bytes are %q, want zeros", view)
	}
	if s.Len() != 5 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestSensitiveBytesInErrorChainIsRedacted(t *testing.T) {
	s := NewSensitiveBytes([]byte("hunter2"))
	err := fmt.Errorf("wrap: %w", errors.New(fmt.Sprint(s)))
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatal(err)
	}
}
