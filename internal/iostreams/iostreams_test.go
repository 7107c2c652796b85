package iostreams

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestTestStreamsAreBuffersAndNotTerminals(t *testing.T) {
	ios, in, out, errOut := Test()
	in.WriteString("input")
	buf := make([]byte, 5)
	if n, err := ios.In.Read(buf); err != nil || string(buf[:n]) != "input" {
		t.Fatalf("In.Read = %q, %v; want %q", buf[:n], err, "input")
	}
	ios.Out.Write([]byte("o"))
	ios.ErrOut.Write([]byte("e"))
	if out.String() != "o" || errOut.String() != "e" {
		t.Fatalf("out=%q errOut=%q; want %q and %q", out, errOut, "o", "e")
	}
	if ios.IsStdinTTY() || ios.IsStdoutTTY() || ios.IsStderrTTY() {
		t.Fatal("Test streams report a terminal")
	}
}

func TestSetTTYOverridesDetection(t *testing.T) {
	tests := []struct {
		name string
		set  func(*IOStreams, bool)
		get  func(*IOStreams) bool
	}{
		{"stdin", (*IOStreams).SetStdinTTY, (*IOStreams).IsStdinTTY},
		{"stdout", (*IOStreams).SetStdoutTTY, (*IOStreams).IsStdoutTTY},
		{"stderr", (*IOStreams).SetStderrTTY, (*IOStreams).IsStderrTTY},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := Test()
			tt.set(ios, true)
			if !tt.get(ios) {
				t.Fatal("SetTTY(true) not reported")
			}
			tt.set(ios, false)
			if tt.get(ios) {
				t.Fatal("SetTTY(false) not reported")
			}
		})
	}
}

func TestReadSecretWithoutTerminalFails(t *testing.T) {
	tests := []struct {
		name     string
		stdinTTY bool
		prompter SecretPrompter
	}{
		{"stdin not a terminal", false, func(string) ([]byte, error) { return []byte("x"), nil }},
		{"no prompter", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := Test()
			ios.SetStdinTTY(tt.stdinTTY)
			ios.SetSecretPrompter(tt.prompter)
			if _, err := ios.ReadSecret("value: "); !errors.Is(err, ErrNoTerminal) {
				t.Fatalf("ReadSecret error = %v, want ErrNoTerminal", err)
			}
		})
	}
}

func TestReadSecretUsesInstalledPrompter(t *testing.T) {
	ios, _, _, _ := Test()
	ios.SetStdinTTY(true)
	var asked string
	ios.SetSecretPrompter(func(p string) ([]byte, error) { asked = p; return []byte("s3cret"), nil })
	got, err := ios.ReadSecret("value: ")
	if err != nil || string(got) != "s3cret" || asked != "value: " {
		t.Fatalf("ReadSecret = %q, %v (prompt %q); want %q, nil (prompt %q)", got, err, asked, "s3cret", "value: ")
	}
}

func TestPromptTerminalRefusesAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := promptTerminal(f, f, "value: "); !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("promptTerminal on a file: error = %v, want ErrNoTerminal", err)
	}
}
