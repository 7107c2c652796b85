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

// leaks reports whether out shows the value v in any form fmt can give a
// byte slice: raw, hex (either case), decimal bytes, Go syntax.
func leaks(out, v string) bool {
	dec := strings.Trim(fmt.Sprint([]byte(v)[:4]), "[]")
	goSyntax := strings.TrimPrefix(fmt.Sprintf("%#v", []byte(v)[:4]), "[]byte{")
	goSyntax = strings.TrimSuffix(goSyntax, "}")
	return strings.Contains(out, v) || strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", v)) ||
		strings.Contains(out, dec) || strings.Contains(out, goSyntax)
}

// TestSensitiveBytesNeverPrintsItsBytesInAnyContainer prints the type with
// every verb by itself, through a pointer, and nested in exported and
// unexported fields, maps, slices and interfaces: where fmt cannot call its
// methods (unexported fields, %p) it must still show no byte of the value.
func TestSensitiveBytesNeverPrintsItsBytesInAnyContainer(t *testing.T) {
	const value = "sk-live-DO-NOT-PRINT"
	s := NewSensitiveBytes([]byte(value))
	type exported struct{ V SensitiveBytes }
	type unexported struct{ v SensitiveBytes }
	type nested struct {
		inner unexported
		list  []SensitiveBytes
		byKey map[string]SensitiveBytes
		ptr   *SensitiveBytes
		any   any
	}
	containers := map[string]any{
		"value":                 s,
		"pointer":               &s,
		"exported field":        exported{s},
		"pointer to exported":   &exported{s},
		"unexported field":      unexported{s},
		"pointer to unexported": &unexported{s},
		"slice":                 []SensitiveBytes{s, s},
		"map":                   map[string]SensitiveBytes{"k": s},
		"nested unexported":     nested{inner: unexported{s}, list: []SensitiveBytes{s}, byKey: map[string]SensitiveBytes{"k": s}, ptr: &s, any: s},
		"pointer to nested":     &nested{inner: unexported{s}, list: []SensitiveBytes{s}, ptr: &s, any: &s},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%p", "%o", "%b", "%c", "%U", "%e", "%t", "%8.3v"}
	for name, c := range containers {
		for _, verb := range verbs {
			if out := fmt.Sprintf(verb, c); leaks(out, value) {
				t.Errorf("%s with %s leaks the value: %s", name, verb, out)
			}
		}
		var logBuf bytes.Buffer
		slog.New(slog.NewTextHandler(&logBuf, nil)).Info("got", "value", c)
		slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("got", "value", c)
		if leaks(logBuf.String(), value) {
			t.Errorf("%s through slog leaks the value: %s", name, logBuf.String())
		}
		if js, err := json.Marshal(c); err == nil && leaks(string(js), value) {
			t.Errorf("%s as JSON leaks the value: %s", name, js)
		}
	}
}

func TestZeroSensitiveBytesIsEmpty(t *testing.T) {
	var s SensitiveBytes
	s.Wipe()
	if s.Len() != 0 || s.Reveal() != nil || s.String() != Redacted {
		t.Fatalf("zero SensitiveBytes: Len %d, Reveal %v, String %q", s.Len(), s.Reveal(), s.String())
	}
}
